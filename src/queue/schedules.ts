/**
 * `oracx schedule`: cron schedules of pipeline runs, kept as BullMQ Job Schedulers on the pipeline queue, so a nightly
 * collect-train-evaluate-promote needs no external cron: BullMQ puts the next job (delayed until its time) on the
 * queue, and the worker that takes it schedules the one after. One scheduler per schedule name; adding a name again
 * replaces it.
 */
import type { Job, JobSchedulerJson, Queue } from 'bullmq';
import { UsageError, UserError } from '../errors.js';
import type { PipelinePayload } from './pipeline-job.js';
import { BACKOFF_MS } from './queues.js';

/** A schedule's name: also the job scheduler's id in Redis. */
export function scheduleName(value: string): string {
  if (!/^[\w.-]{1,64}$/.test(value)) throw new UsageError(`invalid schedule name "${value}"`, { hint: 'letters, digits, _ . - (at most 64)' });
  return value;
}

/**
 * Checks a cron pattern (5 fields, or 6 with seconds first, as BullMQ's cron-parser reads them) and a time zone;
 * returns the next time it fires. A bad one is a usage error naming it.
 */
export async function checkCron(pattern: string, tz: string | undefined, from = Date.now()): Promise<number> {
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      throw new UsageError(`--tz "${tz}" is not a time zone`, { hint: 'an IANA name, e.g. Europe/London or UTC' });
    }
  }
  const fields = pattern.trim().split(/\s+/).length;
  const { getNextMillis } = await import('bullmq');
  let next: number | undefined;
  try {
    if (fields < 5 || fields > 6) throw new Error(`${fields} field(s); expected 5 (minute hour day month weekday) or 6 (seconds first)`);
    next = getNextMillis(from, { pattern, tz });
  } catch (error) {
    throw new UsageError(`--cron "${pattern}" is not a valid cron expression: ${(error as Error).message}`, { hint: 'e.g. "0 4 * * *" for 04:00 every day' });
  }
  if (next === undefined || !Number.isFinite(next)) throw new UsageError(`--cron "${pattern}" never fires`, { hint: 'e.g. "0 4 * * *" for 04:00 every day' });
  return next;
}

export interface ScheduleSpec {
  name: string;
  pattern: string;
  tz?: string;
  payload: PipelinePayload;
  /** Tries per job for transient failures (exponential backoff from 1 s). */
  attempts: number;
}

/** Adds or replaces a schedule; says which, and when it fires next. */
export async function upsertSchedule(queue: Queue, spec: ScheduleSpec): Promise<{ replaced: boolean; next: number | null }> {
  const replaced = (await queue.getJobScheduler(spec.name)) !== undefined;
  await queue.upsertJobScheduler(
    spec.name,
    { pattern: spec.pattern, ...(spec.tz ? { tz: spec.tz } : {}) },
    { name: spec.name, data: spec.payload, opts: { attempts: spec.attempts, backoff: { type: 'exponential', delay: BACKOFF_MS } } },
  );
  const after = await queue.getJobScheduler(spec.name);
  return { replaced, next: after?.next ?? null };
}

/** A schedule as `schedule list` prints it. */
export interface ScheduleView {
  name: string;
  cron: string;
  tz: string | null;
  pipeline: string;
  file: string;
  next: string | null;
  /** The last job of this schedule that finished: its id, outcome (succeeded, gate_failed, failed) and time. */
  last: { job: string; outcome: string; at: string; error: string | null } | null;
}

const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

/** Every schedule, soonest first, with the outcome of its last finished job (among the latest `scan` per state). */
export async function listSchedules(queue: Queue, scan = 200): Promise<ScheduleView[]> {
  const schedulers = (await queue.getJobSchedulers(0, -1, true)) as JobSchedulerJson<PipelinePayload>[];
  const finished = [
    ...((await queue.getJobs(['completed'], 0, scan - 1, false)) as Job[]),
    ...((await queue.getJobs(['failed'], 0, scan - 1, false)) as Job[]),
  ];
  return schedulers.map((s) => {
    const data = s.template?.data;
    const last = finished
      .filter((j) => j && (j.data as Partial<PipelinePayload> | undefined)?.schedule === s.key)
      .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))[0];
    const outcome = last ? (last.failedReason ? 'failed' : String((last.returnvalue as { status?: unknown } | null)?.status ?? 'completed')) : null;
    return {
      name: s.key,
      cron: s.pattern ?? `every ${s.every} ms`,
      tz: s.tz ?? null,
      pipeline: data?.pipeline ?? '',
      file: data?.file ?? '',
      next: iso(s.next),
      last: last && outcome ? { job: last.id ?? '', outcome, at: iso(last.finishedOn)!, error: last.failedReason || null } : null,
    };
  });
}

/** The schedule's stored job template; a missing one is a user error listing the schedules there are. */
export async function requireSchedule(queue: Queue, name: string): Promise<JobSchedulerJson<PipelinePayload>> {
  const found = (await queue.getJobScheduler(name)) as JobSchedulerJson<PipelinePayload> | undefined;
  if (found) return found;
  const names = ((await queue.getJobSchedulers(0, -1, true)) as JobSchedulerJson[]).map((s) => s.key);
  throw new UserError(`no schedule "${name}" (prefix ${queue.opts.prefix ?? 'bull'})`, {
    hint: names.length ? `schedules: ${names.join(', ')}` : 'add one with oracx schedule add',
  });
}

/** Removes a schedule (jobs it already enqueued stay); a missing one is a user error. */
export async function removeSchedule(queue: Queue, name: string): Promise<void> {
  await requireSchedule(queue, name);
  await queue.removeJobScheduler(name);
}

/** Enqueues a run of the schedule's pipeline now (its next scheduled run is unchanged); returns the job id. */
export async function runScheduleNow(queue: Queue, name: string, origin: PipelinePayload['origin']): Promise<string> {
  const s = await requireSchedule(queue, name);
  const data = s.template?.data;
  if (!data) throw new UserError(`schedule "${name}" has no job template`, { hint: 'add it again with oracx schedule add' });
  const opts = s.template?.opts ?? {};
  const job = await queue.add(name, { ...data, origin }, { attempts: opts.attempts, backoff: opts.backoff });
  return job.id ?? '';
}
