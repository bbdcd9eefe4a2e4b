/** `oracx backfill football-data`: many files at once, in this process or spread over `oracx worker`s (--distributed). */
import { defineCommand } from '../src/command.js';
import { Interrupted, UserError } from '../src/errors.js';
import type { BackfillJob, BackfillProgress } from '../pipelines/backfill.js';
import { collectInProcess } from './collect.js';
import { integer, season } from './parse.js';
import { QUEUE_OPTIONS, openQueues, type QueueFlags, requirePostgres } from './queue-options.js';

interface Options extends QueueFlags {
  distributed?: boolean;
  strict?: boolean;
  season?: string;
  chunkSize: number;
  attempts: number;
}

const short = (source: string) => source.split(/[\\/]/).pop() ?? source;

export const backfillFootballData = defineCommand<Options>({
  path: ['backfill', 'football-data'],
  description: 'collect many football-data files: in this process, or one queued job per file for oracx workers (--distributed)',
  args: '<inputs...>',
  options: [
    { flags: '--distributed', description: 'enqueue one job per file on Redis and wait for the workers (needs a PostgreSQL store)' },
    ...QUEUE_OPTIONS,
    { flags: '--attempts <n>', description: 'tries per job before it is kept as failed (exponential backoff from 1 s)', defaultValue: '5', parse: integer(1) },
    { flags: '--strict', description: 'exit 1 if any row was quarantined (rows are still written)' },
    { flags: '--season <YYYY-YYYY>', description: 'season for every file (default: from the file name, else the first date)', parse: season },
    { flags: '--chunk-size <rows>', description: 'rows per transaction (a crash loses at most one chunk)', defaultValue: '1000', parse: integer(1) },
  ],
  examples: [
    'oracx backfill football-data ./archive/',
    'oracx backfill football-data ./archive/ --distributed --redis redis://127.0.0.1:6379 --store postgres://postgres@db:5432/oracx',
  ],
  async run(ctx, inputs, options) {
    if (!options.distributed) {
      return collectInProcess(ctx, inputs, { strict: options.strict, season: options.season, chunkSize: options.chunkSize, timeout: 30_000, retries: 3 });
    }
    await requirePostgres(
      ctx,
      (at) => `backfill --distributed needs a PostgreSQL store; ${at} is a SQLite file`,
      'workers on several machines write to one store, which a SQLite file cannot be: use --store postgres://…, or drop --distributed',
    );
    const store = await ctx.store();
    const { backfillDistributed } = await import('../pipelines/backfill.js');
    const { oracxPackage } = await import('../src/version.js');
    const q = await openQueues(ctx, options, 'backfill --distributed');
    const progress = await ctx.output.progress('enqueuing');
    let lastLog = '';
    const onProgress = (event: BackfillProgress) => {
      if (event.type === 'enqueued') {
        const by = (k: string) => event.jobs.filter((j) => j.enqueued === k).length;
        ctx.logger.info(
          `backfill: ${event.jobs.length} job(s) on the collect queue (${by('added')} added, ${by('existing')} already there, ${by('retried')} failed ones retried); waiting for workers`,
        );
        return;
      }
      const text = `${event.completed}/${event.total} done, ${event.active} running, ${event.failed} failed, ${event.rows} rows`;
      progress.update(text);
      if (text !== lastLog) ctx.logger.debug(`backfill: ${text}`);
      lastLog = text;
    };
    let result: Awaited<ReturnType<typeof backfillDistributed>>;
    try {
      result = await backfillDistributed(q.queues, {
        inputs,
        cwd: ctx.io.cwd,
        store: store.location,
        season: options.season,
        chunkSize: options.chunkSize,
        attempts: options.attempts,
        version: oracxPackage().version,
        signal: ctx.signal,
        onProgress,
      });
    } finally {
      progress.stop();
      await q.close();
    }
    const { jobs, finished } = result;
    const totals = { rowsRead: 0, inserted: 0, updated: 0, unchanged: 0, quarantined: 0 };
    for (const j of jobs) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += j.result?.[k] ?? 0;
    if (ctx.output.json) {
      ctx.output.printJson({ store: store.location, prefix: q.settings.prefix, finished, jobs, totals });
    } else if (!ctx.output.options.quiet) {
      const row = (j: BackfillJob) => [
        short(j.source),
        j.jobId,
        j.state,
        j.attemptsMade,
        j.result?.rowsRead ?? '',
        j.result?.inserted ?? '',
        j.result?.updated ?? '',
        j.result?.unchanged ?? '',
        j.result?.quarantined ?? '',
        j.failedReason ?? '',
      ];
      ctx.output.printTable({
        head: ['file', 'job', 'state', 'attempts', 'rows', 'inserted', 'updated', 'unchanged', 'quarantined', 'error'],
        rows: [...jobs.map(row), ['total', '', '', '', totals.rowsRead, totals.inserted, totals.updated, totals.unchanged, totals.quarantined, '']],
      });
    }
    if (!finished) {
      const left = jobs.filter((j) => j.state !== 'completed' && j.state !== 'failed').length;
      throw new Interrupted(`stopped waiting; ${left} job(s) left on the queue for the workers (see oracx jobs list)`);
    }
    const failed = jobs.filter((j) => j.state === 'failed');
    if (failed.length > 0) {
      throw new UserError(
        `${failed.length} of ${jobs.length} job(s) failed: ${failed.map((j) => `${short(j.source)} (${j.jobId}): ${j.failedReason}`).join('; ')}`,
        {
          hint: 'they are kept as failed: oracx jobs show ID, then oracx jobs retry ID or run the backfill again',
        },
      );
    }
    if (options.strict && totals.quarantined > 0) {
      throw new UserError(`--strict: ${totals.quarantined} row(s) quarantined`, { hint: 'see them with oracx data report' });
    }
  },
});
