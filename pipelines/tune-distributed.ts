/**
 * `tune --distributed`: the study is opened in the store as an in-process tune opens it, one job per trial goes on
 * the tune queue, workers run the trials against the shared study (claimTrial serialises them on the study's row),
 * and this process waits, reporting each trial as it ends, then reads the result from the study.
 */
import { Interrupted } from '../src/errors.js';
import type { ParamValues } from '../src/ml/models/index.js';
import { tuneJobId, type TunePayload, type TuneSpec } from '../src/queue/ml-payloads.js';
import { origin, PAYLOAD_VERSION } from '../src/queue/payload.js';
import type { Queues } from '../src/queue/queues.js';
import type { TuneJobResult } from '../src/queue/tune-job.js';
import { enqueueOnce, waitForJobs, type Enqueued, type WaitedJob } from '../src/queue/wait.js';
import type { Store } from '../src/store/connect.js';
import { prepareStudy, studyOutcome, type TrialEvent, type TuneOptions, type TuneResult } from './tune.js';

export interface TuneDistributedOptions extends TuneOptions {
  /** The store's printable location: workers check it is theirs. */
  storeLocation: string;
  attempts: number;
  version: string;
  pollMs?: number;
  onEnqueued?: (jobs: { jobId: string; enqueued: Enqueued }[]) => void;
  onJobs?: (counts: { total: number; completed: number; failed: number; active: number }) => void;
}

/** A distributed tune's result: the in-process result, plus the jobs that failed for good (their trials did not run). */
export interface TuneDistributedResult extends TuneResult {
  failedJobs: { jobId: string; reason: string | null }[];
}

/** The spec a job carries: the study's settings and the sampler's, nothing of this process (timeout, output). */
function specOf(o: TuneOptions): TuneSpec {
  return {
    study: o.study,
    model: o.model,
    featureSet: o.featureSet,
    competitions: o.competitions,
    seasons: o.seasons,
    ...(o.lastSeasons === undefined ? {} : { lastSeasons: o.lastSeasons }),
    walkForward: o.walkForward,
    ...(o.trainSeasons === undefined ? {} : { trainSeasons: o.trainSeasons }),
    sampler: o.sampler,
    trials: o.trials,
    seed: o.seed,
    fixed: o.fixed,
    staleAfterMs: o.staleAfterMs,
  };
}

/** Opens the study, enqueues one job per trial (ids from the study's key: running it again adds none twice) and waits. */
export async function tuneDistributed(store: Store, queues: Queues, options: TuneDistributedOptions): Promise<TuneDistributedResult> {
  const { studyId, start } = await prepareStudy(store, options);
  options.onStart?.(start);
  const queue = await queues.get('tune');
  const spec = specOf(options);
  const enqueued: { jobId: string; enqueued: Enqueued }[] = [];
  for (let slot = 0; slot < options.trials; slot++) {
    const jobId = tuneJobId(options.storeLocation, start.key, slot);
    const payload: TunePayload = {
      v: PAYLOAD_VERSION,
      kind: 'tune',
      store: options.storeLocation,
      studyKey: start.key,
      slot,
      spec,
      origin: origin(options.version),
    };
    enqueued.push({ jobId, enqueued: await enqueueOnce(queue, 'tune', jobId, payload, options.attempts) });
  }
  options.onEnqueued?.(enqueued);

  const reported = new Set<number>();
  // A trial's bestValue is the best among the trials reported so far, itself included (as in-process tune reports it).
  let bestSoFar: number | null = null;
  const report = async (done: WaitedJob<TuneJobResult>[]) => {
    // The study holds the truth about a trial (a job that found its trial already ended reports it too).
    const numbers = done.map((j) => j.result?.number).filter((n): n is number => n !== null && n !== undefined && !reported.has(n));
    if (numbers.length === 0) return;
    const rows = await store.db
      .selectFrom('tune_trials')
      .selectAll()
      .where('study_id', '=', studyId)
      .where('number', 'in', numbers)
      .orderBy('number')
      .execute();
    for (const row of rows) {
      if (row.status !== 'complete' && row.status !== 'pruned' && row.status !== 'failed') continue;
      reported.add(row.number);
      if (row.status === 'complete' && row.value !== null && (bestSoFar === null || row.value < bestSoFar)) bestSoFar = row.value;
      const ms = (at: unknown) => (at === null ? Date.now() : at instanceof Date ? at.getTime() : Date.parse(String(at)));
      const event: TrialEvent = {
        number: row.number,
        status: row.status,
        value: row.value,
        params: JSON.parse(row.params) as ParamValues,
        bestValue: bestSoFar,
        intermediate: JSON.parse(row.intermediate) as number[],
        error: row.error,
        startedAt: ms(row.started_at),
        finishedAt: ms(row.finished_at),
      };
      options.onTrial?.(event);
    }
  };
  const { jobs, finished } = await waitForJobs<TuneJobResult>(
    queue,
    enqueued.map((e) => e.jobId),
    {
      pollMs: options.pollMs,
      signal: options.signal,
      async onPoll(all, fresh) {
        await report(fresh);
        const count = (s: string) => all.filter((j) => j.state === s).length;
        options.onJobs?.({ total: all.length, completed: count('completed'), failed: count('failed'), active: count('active') });
      },
    },
  );

  const result: TuneDistributedResult = {
    ...(await studyOutcome(store, studyId, options)),
    // The trials this command's jobs ran (not those earlier runs of the jobs, or other processes, ended).
    ranHere: jobs.filter((j) => j.result && j.result.number !== null && j.result.status !== 'already ended').length,
    requeued: 0,
    failedJobs: jobs.filter((j) => j.state === 'failed').map((j) => ({ jobId: j.jobId, reason: j.failedReason })),
  };
  if (!finished) {
    const left = jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').length;
    throw Object.assign(
      new Interrupted(
        `stopped waiting; ${left} trial job(s) left on the tune queue for the workers (see oracx jobs list --queue tune); run the same command again to wait for them`,
      ),
      { result },
    );
  }
  return result;
}
