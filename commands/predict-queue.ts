/** `predict --distributed`: its flags and the branch of `oracx predict` that hands batches to workers and waits. */
import type { OptionDef } from '../src/command.js';
import type { Context } from '../src/context.js';
import { Interrupted, UsageError, UserError } from '../src/errors.js';
import type { Forecast, PredictRequest, Predictor } from '../pipelines/predict.js';
import type { ScheduledFilter } from '../pipelines/predict-run.js';
import type { LoadedModel } from '../src/predict/model.js';
import type { Store } from '../src/store/connect.js';
import { integer } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

export interface PredictQueueFlags extends QueueFlags {
  distributed?: boolean;
  batchSize: number;
  attempts: number;
}

export const PREDICT_QUEUE_OPTIONS: readonly OptionDef[] = [
  { flags: '--distributed', description: 'score batches of stored matches on oracx workers (--queues predict) and wait for them (needs a PostgreSQL store)' },
  ...QUEUE_OPTIONS,
  { flags: '--batch-size <n>', description: 'with --distributed: matches per job', defaultValue: '500', parse: integer(1) },
  { flags: '--attempts <n>', description: 'with --distributed: tries per job before it is kept as failed', defaultValue: '3', parse: integer(1) },
];

/** Checks what --distributed needs before the store is opened: stored matches (no pairing) and a PostgreSQL store. */
export async function checkDistributed(ctx: Context, requests: readonly PredictRequest[]): Promise<void> {
  if (requests.some((r) => !('matchId' in r)))
    throw new UsageError('--distributed forecasts stored matches, not a pairing', { hint: 'forecast a pairing without --distributed' });
  await requirePostgres(
    ctx,
    (at) => `predict --distributed needs a PostgreSQL store; ${at} is a SQLite file`,
    'workers on several machines write to one store, which a SQLite file cannot be: use --store postgres://…, or drop --distributed',
  );
}

/** Enqueues the batches, waits with progress, and returns the forecasts in in-process order (or throws why not). */
export async function predictOnWorkers(
  ctx: Context,
  store: Store,
  predictor: Predictor,
  model: LoadedModel,
  flags: PredictQueueFlags,
  run: { requests: PredictRequest[]; scheduled: ScheduledFilter; principal: string | null; onReplay: (date: string, n: number) => void },
): Promise<Forecast[]> {
  const { predictDistributed } = await import('../pipelines/predict-distributed.js');
  const { oracxPackage } = await import('../src/version.js');
  const q = await openQueues(ctx, flags, 'predict --distributed');
  const progress = await ctx.output.progress('enqueuing');
  let result: Awaited<ReturnType<typeof predictDistributed>>;
  try {
    result = await predictDistributed(store, q.queues, predictor, model, {
      ...run,
      storeLocation: store.location,
      batchSize: flags.batchSize,
      attempts: flags.attempts,
      version: oracxPackage().version,
      signal: ctx.signal,
      onEnqueued: (jobs) => {
        const by = (k: string) => jobs.filter((j) => j.enqueued === k).length;
        ctx.logger.info(
          `predict: ${jobs.length} batch job(s) on the predict queue (${by('added')} added, ${by('existing')} already there, ${by('retried')} failed ones retried); waiting for workers`,
        );
      },
      onJobs: (n) => progress.update(`${n.completed}/${n.total} batches done, ${n.active} running, ${n.failed} failed`),
    });
  } finally {
    progress.stop();
    await q.close();
  }
  if (!result.finished) {
    const left = result.jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').length;
    throw new Interrupted(
      `stopped waiting; ${left} batch job(s) left on the predict queue for the workers (see oracx jobs list --queue predict); run the same command again to collect their forecasts`,
    );
  }
  const failed = result.jobs.filter((j) => j.state === 'failed');
  if (failed.length > 0) {
    throw new UserError(`${failed.length} of ${result.jobs.length} batch job(s) failed: ${failed.map((j) => `${j.jobId}: ${j.failedReason}`).join('; ')}`, {
      hint: 'they are kept as failed: oracx jobs show ID, then oracx jobs retry ID or run the same command again (batches already stored are not stored twice)',
    });
  }
  const again = result.jobs.filter((j) => j.written === false).length;
  if (again > 0) ctx.logger.info(`${again} batch(es) had been forecast and stored by an earlier run of the same jobs: shown, not stored again`);
  return result.forecasts;
}
