// waitForJobs (src/queue/wait.ts) against a queue whose job completes between two reads of one poll: the job is
// never seen completed without its return value (it was, when the job's hash was read before its state, and the
// trial it ran was never reported). Unit test with a fake queue: the real-Redis paths are the worker e2e tests.
import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { waitForJobs, type WaitedJob } from '../../src/queue/wait.js';

/** A queue of one job that completes (with its return value) right after the first read of it, whichever read that is. */
function completingQueue() {
  let completed = false;
  let reads = 0;
  const read = <T>(value: () => T): T => {
    const v = value();
    if (++reads === 1) completed = true;
    return v;
  };
  return {
    name: 'tune',
    getJobState: async () => read(() => (completed ? 'completed' : 'active')),
    getJob: async () => read(() => ({ attemptsMade: 1, returnvalue: completed ? { number: 4 } : undefined, failedReason: '' })),
  } as unknown as Queue;
}

describe('waitForJobs', () => {
  it('reports a job completing mid-poll with its result, never as completed with none', async () => {
    const seen: WaitedJob<{ number: number }>[] = [];
    const { jobs, finished } = await waitForJobs<{ number: number }>(completingQueue(), ['t-4'], {
      pollMs: 1,
      onPoll: (_all, fresh) => void seen.push(...fresh),
    });
    expect(finished).toBe(true);
    expect(seen).toEqual([{ jobId: 't-4', state: 'completed', attemptsMade: 1, result: { number: 4 }, failedReason: null }]);
    expect(jobs[0]!.result).toEqual({ number: 4 });
  });

  it('names a job that disappeared, with the hint the caller gives', async () => {
    const gone = { name: 'stage', getJobState: async () => 'unknown', getJob: async () => undefined } as unknown as Queue;
    await expect(waitForJobs(gone, ['s-1'], { lostHint: 'run the pipeline again' })).rejects.toMatchObject({
      message: 'job s-1 disappeared from the stage queue (purged, or Redis lost its data)',
      hint: 'run the pipeline again',
    });
  });
});
