/**
 * `oracx run --distributed`: a StageRunner (pipeline-run.ts) that executes a stage as one job on the stage queue and
 * waits for it. The command keeps everything else (lease, hashes, skips, records, MLflow parent run); the queues are
 * opened only when a first stage must run, so a run where every stage is skipped needs no Redis.
 */
import { Interrupted, UserError } from '../src/errors.js';
import { origin, PAYLOAD_VERSION } from '../src/queue/payload.js';
import type { Queues } from '../src/queue/queues.js';
import type { StageJobResult, StagePayload } from '../src/queue/stage-job.js';
import type { StageRunner } from './pipeline-run.js';
import { StageGateFailed, type Outputs } from './pipeline-stages.js';

export interface StageJobsOptions {
  /** Opens the queues (once, on the first stage to run); the caller closes them. */
  queues: () => Promise<Queues>;
  /** The store's printable location, checked by the worker. */
  storeLocation: string;
  pipeline: string;
  file: string;
  cwd: string;
  /** The oracx.yaml text the command parsed. */
  text: string;
  attempts: number;
  version: string;
  pollMs?: number;
  /** A stage job was added (or found) on the queue. */
  onEnqueued?: (event: { stage: string; jobId: string; enqueued: 'added' | 'existing' | 'retried' }) => void;
  /** The job's state changed (waiting, active, completed…), with its attempts so far. */
  onState?: (event: { stage: string; jobId: string; state: string; attemptsMade: number }) => void;
}

/** A stage runner that runs each stage as a job on the stage queue, waiting for it. */
export function stageJobRunner(options: StageJobsOptions): StageRunner {
  return async (stage, env, up, tags) => {
    const { enqueueOnce, waitForJobs } = await import('../src/queue/wait.js');
    const { stageJobId } = await import('../src/queue/stage-job.js');
    const upstream: StagePayload['upstream'] = {};
    for (const dep of stage.deps) {
      const outputs = up.outputs.get(dep);
      const kind = up.kinds.get(dep);
      if (outputs && kind) upstream[dep] = { kind, outputs };
    }
    const payload: StagePayload = {
      v: PAYLOAD_VERSION,
      kind: 'stage',
      store: options.storeLocation,
      pipeline: options.pipeline,
      file: options.file,
      cwd: options.cwd,
      spec: options.text,
      stage: stage.name,
      upstream,
      tags: {
        pipeline: tags.pipeline,
        pipelineRunId: tags.pipelineRunId,
        stage: tags.stage,
        parentRunId: tags.parentRunId ?? null,
        inputHash: tags.inputHash ?? '',
      },
      origin: origin(options.version),
    };
    const jobId = stageJobId(options.storeLocation, tags.pipelineRunId, stage.name);
    const queue = await (await options.queues()).get('stage');
    const enqueued = await enqueueOnce(queue, 'stage', jobId, payload, options.attempts);
    if (enqueued !== 'added') {
      // The id is the store's location, run and stage: a store dropped and made again restarts its run ids, and an old
      // job of the same id must not pass for this one.
      const job = await queue.getJob(jobId);
      const found = (job?.data as StagePayload | undefined)?.tags?.inputHash;
      if (found !== payload.tags.inputHash) {
        throw new UserError(`job ${jobId} on the stage queue is another run's stage "${stage.name}" (the store was recreated?)`, {
          hint: `remove it (oracx jobs purge) or use another --queue-prefix`,
        });
      }
    }
    options.onEnqueued?.({ stage: stage.name, jobId, enqueued });
    let last = '';
    const { jobs, finished } = await waitForJobs<StageJobResult>(queue, [jobId], {
      pollMs: options.pollMs,
      signal: env.signal,
      // The stage may have run on its worker all the same (a train stage then left a training run): it is recorded
      // failed here, and runs again in the next pipeline run.
      lostHint: `run the pipeline again: stages recorded as succeeded are skipped, stage "${stage.name}" runs again`,
      onPoll: (all) => {
        const j = all[0]!;
        const key = `${j.state}/${j.attemptsMade}`;
        if (key !== last) options.onState?.({ stage: stage.name, jobId, state: j.state, attemptsMade: j.attemptsMade });
        last = key;
      },
    });
    if (!finished) {
      // Its pipeline run ends here (interrupted): a job no worker has taken is removed; one running is finished by its
      // worker, its outcome recorded nowhere (a worker drops the stage of a run that is over; see stage-job.ts).
      const removed = await queue.remove(jobId).then(
        (n) => n === 1,
        () => false,
      );
      throw new Interrupted(
        removed
          ? `stopped waiting; stage job ${jobId} had not started and was removed from the stage queue`
          : `stopped waiting; stage job ${jobId} is running on a worker, which finishes it; its outcome is not recorded (oracx jobs show ${jobId})`,
      );
    }
    const job = jobs[0]!;
    if (job.state !== 'completed' || !job.result) {
      throw new UserError(job.failedReason ?? `stage job ${jobId} failed`, {
        hint: `the job is kept as failed: oracx jobs show ${jobId}; run the pipeline again to retry the stage`,
      });
    }
    if (job.result.status === 'gate_failed') throw new StageGateFailed(job.result.message, job.result.outputs as Outputs);
    if (job.result.status === 'dropped') throw new UserError(`stage job ${jobId} was not run: ${job.result.reason}`);
    return job.result.outputs as Outputs;
  };
}
