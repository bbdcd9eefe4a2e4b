/** Enqueueing a command's jobs idempotently and waiting for them: shared by tune, predict and train --distributed. */
import type { Job, Queue } from 'bullmq';
import { UserError } from '../errors.js';
import { BACKOFF_MS } from './queues.js';
import { pause } from '../pause.js';

/** How a job got on the queue: added now, already there (queued, running or done), or failed and retried. */
export type Enqueued = 'added' | 'existing' | 'retried';

/**
 * Adds a job under its id unless a job of that id exists; a failed one is retried (running the command again is how a
 * user says "try the failed ones again"). Adding an existing id is a no-op in BullMQ, so racing commands make one job.
 */
export async function enqueueOnce(queue: Queue, name: string, jobId: string, data: object, attempts: number): Promise<Enqueued> {
  const existing = (await queue.getJob(jobId)) as Job | undefined;
  if (existing) {
    if ((await existing.getState()) !== 'failed') return 'existing';
    await existing.retry('failed', { resetAttemptsMade: true });
    return 'retried';
  }
  await queue.add(name, data, { jobId, attempts, backoff: { type: 'exponential', delay: BACKOFF_MS }, removeOnComplete: false, removeOnFail: false });
  return 'added';
}

/** A job as the waiting command sees it at one poll. */
export interface WaitedJob<R> {
  jobId: string;
  state: string;
  attemptsMade: number;
  result: R | null;
  failedReason: string | null;
}

export interface WaitOptions<R> {
  pollMs?: number;
  signal?: AbortSignal;
  /** After every poll, with every job's state; jobs that completed since the last poll are in `newlyCompleted`. */
  onPoll?: (jobs: WaitedJob<R>[], newlyCompleted: WaitedJob<R>[]) => Promise<void> | void;
  /** The hint of the error when a job disappears (default: run the command again, nothing done is done twice). */
  lostHint?: string;
}

/** Polls the jobs until each is completed or failed (finished: true) or the signal aborts (finished: false). */
export async function waitForJobs<R>(
  queue: Queue,
  jobIds: readonly string[],
  options: WaitOptions<R> = {},
): Promise<{ jobs: WaitedJob<R>[]; finished: boolean }> {
  const seen = new Set<string>();
  for (;;) {
    const jobs: WaitedJob<R>[] = [];
    for (const jobId of jobIds) {
      // The state first, then the job: a job completing in between is then read with its return value (read the other
      // way round, it would show as completed with the result of before, null, and its trial would never be reported).
      const state = await queue.getJobState(jobId);
      const job = (await queue.getJob(jobId)) as Job | undefined;
      if (!job || state === 'unknown')
        throw new UserError(`job ${jobId} disappeared from the ${queue.name} queue (purged, or Redis lost its data)`, {
          hint: options.lostHint ?? 'run the same command again: work already done is not done twice',
        });
      jobs.push({
        jobId,
        state,
        attemptsMade: job.attemptsMade,
        result: state === 'completed' ? (job.returnvalue as R) : null,
        failedReason: job.failedReason || null,
      });
    }
    const fresh = jobs.filter((j) => j.state === 'completed' && !seen.has(j.jobId));
    for (const j of fresh) seen.add(j.jobId);
    await options.onPoll?.(jobs, fresh);
    if (jobs.every((j) => j.state === 'completed' || j.state === 'failed')) return { jobs, finished: true };
    if (options.signal?.aborted) return { jobs, finished: false };
    await pause(options.pollMs ?? 250, options.signal);
  }
}
