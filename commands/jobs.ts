/** `oracx jobs list|show|retry|purge`: inspect and act on queued jobs (BullMQ on Redis). */
import { defineCommand } from '../src/command.js';
import { UsageError, UserError } from '../src/errors.js';
import { integer } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags } from './queue-options.js';

const short = (source: string) => source.split(/[\\/]/).pop() ?? source;
const progressText = (p: unknown) =>
  typeof p === 'number' ? `${p}%` : p && typeof p === 'object' && 'rows' in p ? `${(p as { rows: number }).rows} rows` : '';

interface ListOptions extends QueueFlags {
  queue?: string;
  state?: string;
  limit: number;
}

export const jobsList = defineCommand<ListOptions>({
  path: ['jobs', 'list'],
  description: 'jobs on the queues, newest first (waiting, active, delayed, completed, failed)',
  options: [
    ...QUEUE_OPTIONS,
    { flags: '--queue <name>', description: 'one queue (collect, predict, train, tune, pipeline, stage)' },
    { flags: '--state <state>', description: 'one state: waiting, active, delayed, completed, failed, prioritized, waiting-children' },
    { flags: '--limit <n>', description: 'at most this many jobs per queue and state', defaultValue: '100', parse: integer(1) },
  ],
  examples: ['oracx jobs list --redis redis://127.0.0.1:6379', 'oracx jobs list --state failed --json'],
  async run(ctx, _args, options) {
    const { JOB_STATES, listJobs, queueName } = await import('../src/queue/queues.js');
    const { QUEUE_NAMES } = await import('../src/queue/payload.js');
    const names = options.queue === undefined ? QUEUE_NAMES : [queueName(options.queue)];
    if (options.state !== undefined && !(JOB_STATES as readonly string[]).includes(options.state)) {
      throw new UsageError(`unknown --state "${options.state}"`, { hint: `states: ${JOB_STATES.join(', ')}` });
    }
    const states = options.state === undefined ? JOB_STATES : [options.state as (typeof JOB_STATES)[number]];
    const q = await openQueues(ctx, options, 'oracx jobs list');
    try {
      const jobs = await listJobs(q.queues, names, states, options.limit);
      if (ctx.output.json) return ctx.output.printJson({ prefix: q.settings.prefix, jobs });
      if (jobs.length === 0) return ctx.output.printLine('no jobs');
      ctx.output.printTable({
        head: ['id', 'queue', 'state', 'subject', 'attempts', 'progress', 'worker', 'created', 'error'],
        rows: jobs.map((j) => [
          j.id,
          j.queue,
          j.state,
          j.queue === 'collect' ? short(j.subject) : j.subject,
          `${j.attemptsMade}/${j.attempts}`,
          progressText(j.progress),
          j.worker ?? '',
          j.createdAt,
          j.failedReason ?? '',
        ]),
      });
    } finally {
      await q.close();
    }
  },
});

export const jobsShow = defineCommand<QueueFlags>({
  path: ['jobs', 'show'],
  description: 'one job: state, attempts, progress, result or failure, who enqueued and who processed it',
  args: '<id>',
  options: QUEUE_OPTIONS,
  examples: ['oracx jobs show collect-3f2a… --json'],
  async run(ctx, [id], options) {
    const { viewJob } = await import('../src/queue/queues.js');
    const q = await openQueues(ctx, options, 'oracx jobs show');
    try {
      // The state first, then the job: the other way round, a job ending in between would show as failed or
      // completed with the attempts, reason and result it had before.
      const state = await (await q.queues.require(id!)).getState();
      const job = await q.queues.require(id!);
      const view = await viewJob(job, state);
      const data = job.data as Record<string, unknown>;
      // The payload minus the bytes it carries (a collect job's file, a predict job's model): what the job is, not a dump.
      const { content: _content, ...payload } = data;
      if (payload.model && typeof payload.model === 'object') {
        const { onnx: _onnx, ...model } = payload.model as Record<string, unknown>;
        payload.model = model;
      }
      const doc = { ...view, payload, stacktrace: job.stacktrace ?? [] };
      if (ctx.output.json) return ctx.output.printJson(doc);
      for (const [key, value] of Object.entries({ ...view, payload: JSON.stringify(payload) })) {
        ctx.output.printLine(`${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value ?? '')}`);
      }
    } finally {
      await q.close();
    }
  },
});

export const jobsRetry = defineCommand<QueueFlags>({
  path: ['jobs', 'retry'],
  description: 'put a failed job back in its queue (its attempts start again)',
  args: '<id>',
  options: QUEUE_OPTIONS,
  examples: ['oracx jobs retry collect-3f2a…'],
  async run(ctx, [id], options) {
    const q = await openQueues(ctx, options, 'oracx jobs retry');
    try {
      const job = await q.queues.require(id!);
      const state = await job.getState();
      if (state !== 'failed') throw new UserError(`job ${id} is ${state}, not failed: only failed jobs are retried`);
      await job.retry('failed', { resetAttemptsMade: true });
      if (ctx.output.json) ctx.output.printJson({ id, queue: job.queueName, state: await job.getState() });
      else ctx.output.printLine(`job ${id} is back in the ${job.queueName} queue`);
    } finally {
      await q.close();
    }
  },
});

interface PurgeOptions extends QueueFlags {
  failed?: boolean;
  completed?: boolean;
  queue?: string;
}

export const jobsPurge = defineCommand<PurgeOptions>({
  path: ['jobs', 'purge'],
  description: 'delete finished jobs: --failed (the dead letter), --completed, or both',
  options: [
    ...QUEUE_OPTIONS,
    { flags: '--failed', description: 'delete failed jobs' },
    { flags: '--completed', description: 'delete completed jobs' },
    { flags: '--queue <name>', description: 'one queue only' },
  ],
  examples: ['oracx jobs purge --completed', 'oracx jobs purge --failed --queue collect --json'],
  async run(ctx, _args, options) {
    if (!options.failed && !options.completed)
      throw new UsageError('jobs purge needs --failed, --completed or both', { hint: 'waiting and active jobs are never purged' });
    const { queueName } = await import('../src/queue/queues.js');
    const { QUEUE_NAMES } = await import('../src/queue/payload.js');
    const names = options.queue === undefined ? QUEUE_NAMES : [queueName(options.queue)];
    const q = await openQueues(ctx, options, 'oracx jobs purge');
    try {
      const purged: Record<string, { failed: number; completed: number }> = {};
      for (const name of names) {
        const queue = await q.queues.get(name);
        // limit 0: every job of the state, whatever its age (grace 0).
        const failed = options.failed ? (await queue.clean(0, 0, 'failed')).length : 0;
        const completed = options.completed ? (await queue.clean(0, 0, 'completed')).length : 0;
        purged[name] = { failed, completed };
      }
      if (ctx.output.json) return ctx.output.printJson({ purged });
      for (const [name, n] of Object.entries(purged)) {
        if (n.failed + n.completed > 0) ctx.output.printLine(`${name}: ${n.failed} failed, ${n.completed} completed job(s) deleted`);
      }
      if (Object.values(purged).every((n) => n.failed + n.completed === 0)) ctx.output.printLine('nothing to purge');
    } finally {
      await q.close();
    }
  },
});
