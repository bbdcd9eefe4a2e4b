/**
 * What a worker does with a job of each queue: the payload schema it accepts, a line saying what the job works on,
 * how to run it and how to summarise its result. A queue without a handler here is refused by `oracx worker`.
 * Adding a queue: a payload schema in payload.ts (or beside its handler), a `<queue>-job.ts` and one entry below.
 */
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Store } from '../store/connect.js';
import { runCollectJob, type CollectJobProgress } from './collect-job.js';
import { ML_HANDLERS } from './ml-handlers.js';
import { CollectPayload, type QueueName } from './payload.js';
import { pipelineHandler } from './pipeline-job.js';
import { stageHandler } from './stage-job.js';

/** What a handler gets besides its payload. */
export interface JobContext {
  store: Store;
  logger: Logger;
  /** This worker's oracx version. */
  version: string;
  jobId: string;
  /** Reports progress (throttled by the worker); shown by `oracx jobs show`. */
  progress(value: object): void;
  /** Aborted when the job must give up before it ends (never, so far: a stopping worker lets jobs in hand finish). */
  signal: AbortSignal;
}

/** One queue's job handler. Handlers must be idempotent: a job may run again after a crash or a lost lock. */
export interface JobHandler<P = unknown, R = unknown> {
  schema: z.ZodType<P>;
  /** What the job works on, for logs ("collecting /data/E0.csv"). */
  describe(payload: P): string;
  /** Throw PermanentJobError for a failure that retrying cannot fix. */
  run(payload: P, context: JobContext): Promise<R>;
  /** The completed-job log line's tail. */
  summarize(result: R): string;
}

const collect: JobHandler<CollectPayload, Awaited<ReturnType<typeof runCollectJob>>> = {
  schema: CollectPayload,
  describe: (payload) => `collecting ${payload.source}`,
  run: (payload, context) => runCollectJob(context.store, payload, (progress: CollectJobProgress) => context.progress(progress)),
  summarize: (s) => `${s.inserted} inserted, ${s.updated} updated, ${s.unchanged} unchanged, ${s.quarantined} quarantined`,
};

/** The handlers this version has, by queue. */
export const HANDLERS: Partial<Record<QueueName, JobHandler<never, never>>> = {
  collect: collect as unknown as JobHandler<never, never>,
  ...ML_HANDLERS,
  pipeline: pipelineHandler as unknown as JobHandler<never, never>,
  stage: stageHandler as unknown as JobHandler<never, never>,
};

/** The queues this version's workers run. */
export const IMPLEMENTED_QUEUES = Object.keys(HANDLERS) as QueueName[];
