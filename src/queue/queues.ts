/** Opening oracx's BullMQ queues and describing their jobs for `oracx jobs` and `backfill --distributed`. */
import type { Job, JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { QUEUE_NAMES, type QueueName } from './payload.js';

/** Retries of a job before it is kept in the failed state (the dead letter). */
export const DEFAULT_ATTEMPTS = 5;
/** First retry delay; BullMQ doubles it each attempt (1 s, 2 s, 4 s, …). */
export const BACKOFF_MS = 1000;

/** The job states `jobs list --state` accepts. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A job as `oracx jobs` prints it. */
export interface JobView {
  id: string;
  queue: string;
  state: string;
  /** What the job works on (a collect job's source file). */
  subject: string;
  attemptsMade: number;
  attempts: number;
  progress: unknown;
  failedReason: string | null;
  result: unknown;
  worker: string | null;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
}

/** Queues by name over one connection; close() closes them (not the connection). */
export class Queues {
  private readonly open = new Map<QueueName, Queue>();
  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
  ) {}

  async get(name: QueueName): Promise<Queue> {
    let queue = this.open.get(name);
    if (!queue) {
      const { Queue } = await import('bullmq');
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.open.set(name, queue);
    }
    return queue;
  }

  /** Finds a job by id in any queue. */
  async find(id: string): Promise<Job | null> {
    for (const name of QUEUE_NAMES) {
      const job = (await (await this.get(name)).getJob(id)) as Job | undefined;
      if (job) return job;
    }
    return null;
  }

  /** Like find, but a missing job is a user error. */
  async require(id: string): Promise<Job> {
    const job = await this.find(id);
    if (!job) throw new UserError(`no job ${id} in queues ${QUEUE_NAMES.join(', ')} (prefix ${this.prefix})`, { hint: 'see the ids with oracx jobs list' });
    return job;
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((q) => q.close()));
  }
}

/** A queue name given by the user, checked. */
export function queueName(value: string): QueueName {
  if (!(QUEUE_NAMES as readonly string[]).includes(value)) throw new UserError(`unknown queue "${value}"`, { hint: `queues: ${QUEUE_NAMES.join(', ')}` });
  return value as QueueName;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** What a job works on, by kind: a collect job's file, a tune job's study and slot, a predict batch, a training, a stage. */
export function subjectOf(job: Pick<Job, 'data' | 'name'>): string {
  const d = job.data as Record<string, unknown> | undefined;
  const spec = d?.spec as { study?: string; trials?: number } | undefined;
  const model = d?.model as { who?: { uri?: string } } | undefined;
  const train = d?.options as { model?: string; featureSet?: string } | undefined;
  if (typeof d?.source === 'string') return d.source;
  if (d?.kind === 'tune' && spec && typeof d.slot === 'number') return `study ${spec.study} trial ${d.slot + 1}/${spec.trials}`;
  if (d?.kind === 'predict' && Array.isArray(d.matchIds)) return `${d.matchIds.length} match(es) with ${model?.who?.uri ?? '?'}`;
  if (d?.kind === 'train' && train) return `${train.model} on ${train.featureSet}`;
  if (d?.kind === 'stage' && typeof d.stage === 'string') return `stage ${d.stage} of pipeline ${String(d.pipeline)}`;
  return job.name;
}

/** The printable view of a job (its payload content left out). */
export async function viewJob(job: Job, state?: string): Promise<JobView> {
  return {
    id: job.id ?? '',
    queue: job.queueName,
    state: state ?? (await job.getState()),
    subject: subjectOf(job),
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    progress: job.progress,
    failedReason: job.failedReason || null,
    result: job.returnvalue ?? null,
    worker: job.processedBy ?? null,
    createdAt: iso(job.timestamp)!,
    processedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
  };
}

/** Jobs of some queues in some states, newest first, at most `limit` per queue and state. */
export async function listJobs(queues: Queues, names: readonly QueueName[], states: readonly JobState[], limit: number): Promise<JobView[]> {
  const out: JobView[] = [];
  for (const name of names) {
    const queue = await queues.get(name);
    for (const state of states) {
      const jobs = (await queue.getJobs([state as JobType], 0, limit - 1, false)) as Job[];
      for (const job of jobs) if (job) out.push(await viewJob(job, state));
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)));
}
