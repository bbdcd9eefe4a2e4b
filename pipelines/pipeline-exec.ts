/**
 * One `oracx run` as the command and a pipeline job both do it: the run under the pipeline's lease (taken before
 * its first write, released at its end), tracked in MLflow when MLFLOW_TRACKING_URI is set.
 */
import { acquireLease, type Lease, type LeaseHolder } from './pipeline-lock.js';
import { mlflowPipelineTracker } from './pipeline-mlflow.js';
import { runPipeline, type PipelineOutcome, type RunPipelineOptions } from './pipeline-run.js';
import type { PipelineSpec } from './pipeline-spec.js';
import type { StageEnv } from './pipeline-stages.js';
import { version } from '../src/version.js';

export interface ExecuteOptions extends Omit<RunPipelineOptions, 'lock' | 'tracker'> {
  /** Who runs it, for a run that finds the lease taken ("oracx run", "job 42"). */
  holder: string;
  /** Wait for a concurrent run of the same pipeline instead of refusing (PipelineLocked, exit 1). */
  wait: boolean;
  leaseMs?: number;
  onWait?: (holder: LeaseHolder) => void;
}

/** Runs the pipeline under its lease, tracked in MLflow; the lease is released whatever happens. */
export async function executePipeline(spec: PipelineSpec, env: StageEnv, options: ExecuteOptions): Promise<PipelineOutcome> {
  // A lease lost mid-run (this process stalled past its ttl and another run took it) stops the stages.
  const lost = new AbortController();
  const signal = env.signal ? AbortSignal.any([env.signal, lost.signal]) : lost.signal;
  const runEnv: StageEnv = { ...env, signal };
  let lease: Lease | null = null;
  const tracker = options.dry ? null : await mlflowPipelineTracker(spec, runEnv, version());
  try {
    return await runPipeline(spec, runEnv, {
      ...options,
      tracker: tracker ?? undefined,
      lock: async () => {
        lease = await acquireLease(env.store, spec.name, {
          holder: options.holder,
          ttlMs: options.leaseMs,
          wait: options.wait,
          signal: env.signal,
          onWait: options.onWait,
          onLost: (error) => {
            env.logger.error(error.message);
            lost.abort(error);
          },
        });
      },
    });
  } finally {
    await (lease as Lease | null)?.release();
  }
}
