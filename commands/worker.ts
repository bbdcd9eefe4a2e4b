/** `oracx worker`: process queued jobs (BullMQ on Redis) into the store, on any number of machines. */
import { defineCommand } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import { duration, integer, list } from './parse.js';
import { QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

interface Options extends QueueFlags {
  queues: string[];
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
}

export const workerCommand = defineCommand<Options>({
  path: ['worker'],
  description: 'process queued jobs (collect, predict, train, tune, pipeline, stage) from Redis into the store; stops gracefully on SIGTERM / Ctrl-C',
  options: [
    ...QUEUE_OPTIONS,
    {
      flags: '--queues <names>',
      description:
        'queues to take jobs from, comma-separated: collect (backfill --distributed), predict, train, tune (their --distributed), pipeline (oracx schedule), stage (run --distributed)',
      defaultValue: 'collect',
      parse: list,
    },
    { flags: '--concurrency <n>', description: 'jobs processed at once per queue', defaultValue: '1', parse: integer(1) },
    {
      flags: '--lock-duration <duration>',
      description: "a job's lock, renewed while it runs; a dead worker's job goes to another after it expires",
      defaultValue: '30s',
      parse: duration,
    },
    { flags: '--stalled-interval <duration>', description: 'how often to look for jobs whose worker died', defaultValue: '30s', parse: duration },
  ],
  examples: [
    'oracx worker --redis redis://127.0.0.1:6379 --store postgres://postgres@db:5432/oracx',
    'ORACX_REDIS_URL=redis://queue:6379 oracx worker --queues collect,predict,train,tune --concurrency 4',
  ],
  async run(ctx, _args, options) {
    const { QUEUE_NAMES } = await import('../src/queue/payload.js');
    const { IMPLEMENTED_QUEUES } = await import('../src/queue/handlers.js');
    const queues = [...new Set(options.queues)];
    for (const q of queues) {
      if (!(QUEUE_NAMES as readonly string[]).includes(q))
        throw new UsageError(`unknown queue "${q}" in --queues`, { hint: `queues: ${QUEUE_NAMES.join(', ')}` });
      if (!(IMPLEMENTED_QUEUES as readonly string[]).includes(q)) {
        throw new UsageError(`the ${q} queue is not implemented in this oracx version`, { hint: `workers take ${IMPLEMENTED_QUEUES.join(', ')} jobs for now` });
      }
    }
    const { queueSettings } = await import('../src/queue/connection.js');
    const settings = queueSettings(options, ctx.io.env, 'oracx worker');
    await requirePostgres(
      ctx,
      (at) => `oracx worker writes to PostgreSQL stores only; ${at} is SQLite`,
      'queued jobs are many writers on one shared store: use --store postgres://…, or run backfill, tune, predict and train in-process (without --distributed)',
    );
    const store = await ctx.store();
    const { runWorkers } = await import('../src/queue/worker.js');
    const { oracxPackage } = await import('../src/version.js');
    const report = await runWorkers(store, {
      ...settings,
      queues: queues as (typeof IMPLEMENTED_QUEUES)[number][],
      concurrency: options.concurrency,
      lockDurationMs: options.lockDuration,
      stalledIntervalMs: options.stalledInterval,
      version: oracxPackage().version,
      logger: ctx.logger,
      signal: ctx.signal,
    });
    if (ctx.output.json) ctx.output.printJson(report);
  },
});
