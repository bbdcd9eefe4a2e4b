/**
 * The `pipeline` job: one `oracx run` of a named pipeline, by a worker, through the same code (pipelines/
 * pipeline-exec.ts: the pipeline's lease, the stage history, MLflow). The job carries the oracx.yaml text as it was
 * when enqueued (or when its schedule was added), so what runs is what was checked; relative paths in it resolve
 * against the folder the file was in. Its result is the PipelineReport.
 *
 * Outcomes: succeeded and gate_failed are both completed jobs (a gate that says "not better" is an answer, not a
 * fault: no retry, the report in the result says which gate); a stage's own error (a missing input, a bad setting)
 * fails the job at once; anything else (the store or MLflow unreachable, a lease lost) is retried with backoff.
 */
import { z } from 'zod';
import { GateFailed, UserError } from '../errors.js';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import type { PipelineSpec } from '../../pipelines/pipeline-spec.js';
import type { Store } from '../store/connect.js';
import type { JobContext, JobHandler } from './handlers.js';
import { PermanentJobError } from './collect-job.js';
import { Origin, PAYLOAD_VERSION } from './payload.js';

export const PipelinePayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('pipeline'),
    /** The store's printable location (password redacted): workers run only pipelines of the store they were started on. */
    store: z.string(),
    /** The pipeline's name (oracx.yaml `name:`), checked against the text. */
    pipeline: z.string(),
    /** Where the file was on the enqueuing machine, for messages. */
    file: z.string(),
    /** The folder relative paths (collect inputs, artifacts) resolve against. */
    cwd: z.string(),
    /** The oracx.yaml text. */
    spec: z.string(),
    /** Stages to rerun whatever their inputs (true: all), as `oracx run --force`. */
    force: z.union([z.literal(true), z.array(z.string())]),
    /** The schedule that enqueued it (`oracx schedule`), or null. */
    schedule: z.string().nullable(),
    /** The lease's ttl while it runs (oracx run --lease). */
    leaseMs: z.number().int().min(100),
    origin: Origin,
  })
  .strict();
export type PipelinePayload = z.infer<typeof PipelinePayload>;

/**
 * The pipeline a pipeline or stage job carries, parsed, after checking that the job is for this worker's store and
 * that the text declares the pipeline it was enqueued for. Each failure is the same on every attempt (permanent).
 */
export async function jobPipeline(
  payload: { store: string; pipeline: string; file: string; spec: string },
  store: Store,
  runs: 'pipelines' | 'stages',
): Promise<PipelineSpec> {
  if (payload.store !== store.location) {
    throw new PermanentJobError(`job is for store ${payload.store}, but this worker runs ${runs} on ${store.location}: give each store its own --queue-prefix`);
  }
  const { parsePipeline } = await import('../../pipelines/pipeline-spec.js');
  let spec: PipelineSpec;
  try {
    spec = parsePipeline(payload.spec, payload.file);
  } catch (error) {
    throw new PermanentJobError((error as Error).message);
  }
  if (spec.name !== payload.pipeline) throw new PermanentJobError(`${payload.file} declares pipeline "${spec.name}", not "${payload.pipeline}"`);
  return spec;
}

/** Runs one pipeline job; waits for a concurrent run of the same pipeline (it holds the lease) to finish first. */
export async function runPipelineJob(payload: PipelinePayload, context: JobContext): Promise<PipelineReport> {
  const { store, logger } = context;
  const spec = await jobPipeline(payload, store, 'pipelines');
  const { executePipeline } = await import('../../pipelines/pipeline-exec.js');
  const stages: { stage: string; status: string }[] = [];
  const outcome = await executePipeline(
    spec,
    { store, cwd: payload.cwd, env: process.env, logger, signal: context.signal },
    {
      force: payload.force,
      dry: false,
      holder: `job ${context.jobId}${payload.schedule ? ` of schedule ${payload.schedule}` : ''}`,
      wait: true,
      leaseMs: payload.leaseMs,
      onWait: (h) => logger.info(`job ${context.jobId}: pipeline ${spec.name} is being run by ${h.holder}: waiting for it`),
      onStage: (r) => {
        stages.push({ stage: r.stage, status: r.status });
        logger.info(`job ${context.jobId}: stage ${r.stage} (${r.kind}): ${r.status}${r.reason ? ` — ${r.reason}` : ''}`);
        context.progress({ stages });
      },
    },
  ).catch((e: unknown) => {
    // Refused before any stage ran (a stage's settings, --force naming no stage): the same on every attempt.
    if (e instanceof UserError) throw new PermanentJobError(e.message);
    throw e;
  });
  const { report, error } = outcome;
  if (error === null || error instanceof GateFailed) return report;
  const run = report.pipelineRunId === null ? '' : ` (pipeline run ${report.pipelineRunId})`;
  // A stage's own user-level error recurs on retry; an internal or transient one (its cause is no UserError) may not.
  const cause = (error as { cause?: unknown }).cause;
  if (error instanceof UserError && (cause === undefined || cause instanceof UserError)) throw new PermanentJobError(`${error.message}${run}`);
  throw new Error(`${error.message}${run}`, { cause: error });
}

/** The worker's handler of the pipeline queue (src/queue/handlers.ts). */
export const pipelineHandler: JobHandler<PipelinePayload, PipelineReport> = {
  schema: PipelinePayload,
  describe: (p) => `running pipeline ${p.pipeline} (${p.file})${p.schedule ? ` for schedule ${p.schedule}` : ''}`,
  run: runPipelineJob,
  summarize: (r) =>
    `${r.pipeline}: ${r.status}${r.pipelineRunId === null ? ' (every stage up to date)' : ` (pipeline run ${r.pipelineRunId})`}, ${r.stages.map((s) => `${s.stage} ${s.status}`).join(', ')}`,
};
