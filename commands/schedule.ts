/** `oracx schedule add|list|remove|run`: cron schedules of `oracx run`, as BullMQ job schedulers run by `oracx worker --queues pipeline`. */
import { defineCommand } from '../src/command.js';
import { UsageError, UserError } from '../src/errors.js';
import { duration, integer } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

interface AddOptions extends QueueFlags {
  cron?: string;
  tz?: string;
  run?: string;
  file?: string;
  force?: string[] | true;
  attempts: number;
  lease: number;
}

/** Accumulates repeated --force STAGE; a bare --force forces every stage (as oracx run). */
function forceParser(value: string | undefined, previous?: unknown): string[] | true {
  if (previous === true || value === undefined) return true;
  return [...((previous as string[] | undefined) ?? []), value];
}

export const scheduleAdd = defineCommand<AddOptions>({
  path: ['schedule', 'add'],
  description:
    'run a pipeline of oracx.yaml on a cron schedule (adding a name again replaces it); needs Redis, a PostgreSQL store and oracx worker --queues pipeline',
  args: '<name>',
  options: [
    { flags: '--cron <pattern>', description: 'when: a cron pattern, 5 fields (minute hour day month weekday) or 6 with seconds first' },
    { flags: '--tz <zone>', description: 'time zone of the pattern (IANA, e.g. Europe/London; default UTC)' },
    { flags: '--run <pipeline>', description: 'the pipeline to run: the name: declared in the file' },
    { flags: '--file <path>', description: 'the pipeline file (default: oracx.yaml in the working directory); its text is stored with the schedule' },
    {
      flags: '--force [stage]',
      description: 'rerun this stage on every run whatever its inputs; repeatable; without a stage, every stage',
      parse: forceParser,
    },
    {
      flags: '--attempts <n>',
      description: 'tries per run for transient failures (exponential backoff from 1 s); a stage error or a gate failure is not retried',
      defaultValue: '3',
      parse: integer(1),
    },
    { flags: '--lease <duration>', description: "the run's lease on the pipeline (as oracx run --lease)", defaultValue: '2m', parse: duration },
    ...QUEUE_OPTIONS,
  ],
  examples: [
    'oracx schedule add nightly --cron "0 4 * * *" --tz Europe/London --run train-and-promote',
    'oracx schedule add weekly-full --cron "30 2 * * 1" --run e0-logreg --file pipelines/e0.yaml --force',
  ],
  async run(ctx, [name], options) {
    const path = await import('node:path');
    const { readFile } = await import('node:fs/promises');
    const { scheduleName, checkCron, upsertSchedule } = await import('../src/queue/schedules.js');
    const scheduled = scheduleName(name!);
    if (options.cron === undefined) throw new UsageError('schedule add needs --cron', { hint: 'e.g. --cron "0 4 * * *" (04:00 every day)' });
    if (options.run === undefined) throw new UsageError('schedule add needs --run PIPELINE', { hint: 'the name: declared in oracx.yaml' });
    // Everything that can be checked without Redis or the store is checked first.
    await checkCron(options.cron, options.tz);
    const file = path.resolve(ctx.io.cwd, options.file ?? 'oracx.yaml');
    const shown = path.relative(ctx.io.cwd, file) || file;
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`cannot read ${shown}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
        hint: options.file ? 'check --file' : 'create oracx.yaml (see docs/pipelines.md) or pass --file',
      });
    });
    const { parsePipeline } = await import('../pipelines/pipeline-spec.js');
    const { preflight } = await import('../pipelines/pipeline-stages.js');
    const spec = parsePipeline(text, shown);
    if (spec.name !== options.run) {
      throw new UserError(`--run ${options.run}: ${shown} declares pipeline "${spec.name}"`, {
        hint: `pass --run ${spec.name}, or --file with the file declaring name: ${options.run}`,
      });
    }
    if (options.force && options.force !== true) {
      for (const stage of options.force) {
        if (!spec.stages.some((s) => s.name === stage))
          throw new UserError(`--force ${stage}: no such stage in ${shown}`, { hint: `stages: ${spec.stages.map((s) => s.name).join(', ')}` });
      }
    }
    await preflight(spec.stages);
    // Redis is named before the store is opened (and migrated): a missing --redis changes nothing.
    const { queueSettings } = await import('../src/queue/connection.js');
    queueSettings(options, ctx.io.env, 'oracx schedule add');
    await requirePostgres(
      ctx,
      (at) => `schedules run on oracx workers, which write to PostgreSQL stores only; ${at} is SQLite`,
      'use --store postgres://… (the store the workers are started on), or run oracx run from your own cron',
    );
    const store = await ctx.store();
    const { origin, PAYLOAD_VERSION } = await import('../src/queue/payload.js');
    const { oracxPackage } = await import('../src/version.js');
    const q = await openQueues(ctx, options, 'oracx schedule add');
    try {
      const result = await upsertSchedule(await q.queues.get('pipeline'), {
        name: scheduled,
        pattern: options.cron,
        tz: options.tz,
        attempts: options.attempts,
        payload: {
          v: PAYLOAD_VERSION,
          kind: 'pipeline',
          store: store.location,
          pipeline: spec.name,
          file,
          cwd: path.dirname(file),
          spec: text,
          force: options.force ?? [],
          schedule: scheduled,
          leaseMs: options.lease,
          origin: origin(oracxPackage().version),
        },
      });
      const next = result.next === null ? 'never' : new Date(result.next).toISOString();
      if (ctx.output.json)
        return ctx.output.printJson({ name: scheduled, replaced: result.replaced, pipeline: spec.name, cron: options.cron, tz: options.tz ?? null, next });
      ctx.output.printLine(
        `schedule ${scheduled} ${result.replaced ? 'replaced (same name: the previous one is gone)' : 'added'}: pipeline ${spec.name} at "${options.cron}"${options.tz ? ` (${options.tz})` : ''}; next run ${next}`,
      );
    } finally {
      await q.close();
    }
  },
});

export const scheduleList = defineCommand<QueueFlags>({
  path: ['schedule', 'list'],
  description: 'the schedules, soonest first: cron, pipeline, next run, outcome of the last run',
  options: QUEUE_OPTIONS,
  examples: ['oracx schedule list', 'oracx schedule list --json'],
  async run(ctx, _args, options) {
    const { listSchedules } = await import('../src/queue/schedules.js');
    const q = await openQueues(ctx, options, 'oracx schedule list');
    try {
      const schedules = await listSchedules(await q.queues.get('pipeline'));
      if (ctx.output.json) return ctx.output.printJson({ prefix: q.settings.prefix, schedules });
      if (schedules.length === 0) return ctx.output.printLine('no schedules');
      ctx.output.printTable({
        head: ['name', 'cron', 'tz', 'pipeline', 'next run', 'last run', 'last job'],
        rows: schedules.map((s) => [
          s.name,
          s.cron,
          s.tz ?? 'UTC',
          s.pipeline,
          s.next ?? 'never',
          s.last ? `${s.last.outcome} at ${s.last.at}` : '',
          s.last?.job ?? '',
        ]),
      });
    } finally {
      await q.close();
    }
  },
});

export const scheduleRemove = defineCommand<QueueFlags>({
  path: ['schedule', 'remove'],
  description: 'remove a schedule (runs already enqueued or running are not touched)',
  args: '<name>',
  options: QUEUE_OPTIONS,
  examples: ['oracx schedule remove nightly'],
  async run(ctx, [name], options) {
    const { removeSchedule } = await import('../src/queue/schedules.js');
    const q = await openQueues(ctx, options, 'oracx schedule remove');
    try {
      await removeSchedule(await q.queues.get('pipeline'), name!);
      if (ctx.output.json) return ctx.output.printJson({ name, removed: true });
      ctx.output.printLine(`schedule ${name} removed`);
    } finally {
      await q.close();
    }
  },
});

export const scheduleRun = defineCommand<QueueFlags>({
  path: ['schedule', 'run'],
  description: "enqueue a run of a schedule's pipeline now (its next scheduled run is unchanged)",
  args: '<name>',
  options: QUEUE_OPTIONS,
  examples: ['oracx schedule run nightly'],
  async run(ctx, [name], options) {
    const { runScheduleNow } = await import('../src/queue/schedules.js');
    const { origin } = await import('../src/queue/payload.js');
    const { oracxPackage } = await import('../src/version.js');
    const q = await openQueues(ctx, options, 'oracx schedule run');
    try {
      const job = await runScheduleNow(await q.queues.get('pipeline'), name!, origin(oracxPackage().version));
      if (ctx.output.json) return ctx.output.printJson({ name, job });
      ctx.output.printLine(`schedule ${name}: job ${job} enqueued on the pipeline queue (see oracx jobs show ${job})`);
    } finally {
      await q.close();
    }
  },
});
