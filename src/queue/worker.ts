/** `oracx worker`: BullMQ workers for the implemented queues, writing to one store, stopping gracefully on a signal. */
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import { redact } from '../store/location.js';
import type { Store } from '../store/connect.js';
import { connectRedis, type QueueSettings } from './connection.js';
import { PermanentJobError } from './collect-job.js';
import { HANDLERS } from './handlers.js';
import { payloadProblem, type QueueName } from './payload.js';

export interface WorkerOptions extends QueueSettings {
  queues: readonly QueueName[];
  concurrency: number;
  /** How long a job's lock lasts without renewal: a worker that dies loses its jobs to others after this. */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock expired (stalled) and put them back in the queue. */
  stalledIntervalMs: number;
  version: string;
  logger: Logger;
  signal: AbortSignal;
}

export interface WorkerReport {
  completed: number;
  failed: number;
}

/** Runs until the signal aborts, then lets the jobs in hand finish (their lock is kept meanwhile) and closes. */
export async function runWorkers(store: Store, options: WorkerOptions): Promise<WorkerReport> {
  const { Worker, UnrecoverableError } = await import('bullmq');
  const { logger } = options;
  let outage = false;
  const connection = await connectRedis(options.url, (error) => {
    if (!outage)
      logger.warn(
        `Redis at ${redact(options.url)} went away (${error.message}); reconnecting — jobs in hand finish, their results are written when it is back`,
      );
    outage = true;
  });
  connection.on('ready', () => {
    if (outage) logger.info(`Redis at ${redact(options.url)} is back`);
    outage = false;
  });
  const name = `${hostname()}:${process.pid}`;
  const report: WorkerReport = { completed: 0, failed: 0 };

  // Jobs in hand always finish on a graceful stop; this is for a handler that must give up early (none does yet).
  const drain = new AbortController();
  const handle = async (job: Job): Promise<unknown> => {
    const handler = HANDLERS[job.queueName as QueueName];
    if (!handler) throw new UnrecoverableError(`this worker (oracx ${options.version}) has no handler for the ${job.queueName} queue`);
    const problem = payloadProblem(job.data, options.version, handler.schema);
    // Never guess at a payload from another version: fail it now, with no retry, and keep it for `jobs retry`.
    if (problem) throw new UnrecoverableError(problem);
    const payload = job.data as never;
    logger.info(`job ${job.id}: ${handler.describe(payload)} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`, { jobId: job.id });
    let last = 0;
    try {
      return await handler.run(payload, {
        store,
        logger,
        version: options.version,
        jobId: job.id ?? '',
        signal: drain.signal,
        progress(value) {
          const now = Date.now();
          if (now - last < 200) return;
          last = now;
          job.updateProgress(value).catch(() => undefined);
        },
      });
    } catch (error) {
      if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
      throw error;
    }
  };

  const workers: Worker[] = options.queues.map(
    (queue) =>
      new Worker(queue, handle, {
        connection,
        prefix: options.prefix,
        concurrency: options.concurrency,
        name,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        autorun: false,
      }),
  );
  for (const worker of workers) {
    worker.on('completed', (job) => {
      report.completed++;
      const handler = HANDLERS[job.queueName as QueueName];
      logger.info(`job ${job.id}: completed${handler && job.returnvalue ? ` — ${handler.summarize(job.returnvalue as never)}` : ''}`, { jobId: job.id });
    });
    worker.on('failed', (job, error) => {
      if (!job) return;
      const final = job.finishedOn !== undefined || job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
      if (final) report.failed++;
      logger.error(
        `job ${job.id}: ${final ? 'failed for good (kept in the failed state; oracx jobs retry ID)' : `attempt ${job.attemptsMade} failed, retrying with backoff`}: ${error.message}`,
        { jobId: job.id },
      );
    });
    worker.on('stalled', (id) => logger.warn(`job ${id}: its worker stopped renewing the lock (killed?); put back in the queue`));
    // Connection errors are reported once per outage (above); anything else (e.g. a lock lost while Redis was away) is logged.
    worker.on('error', (error) => {
      if (!outage && !/ECONNREFUSED|ECONNRESET|Connection is closed|ETIMEDOUT|EPIPE/.test(error.message)) logger.warn(`worker: ${error.message}`);
    });
  }
  for (const worker of workers) {
    worker.run().catch((error: Error) => logger.error(`worker for ${worker.name} stopped: ${error.message}`));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  logger.info(`oracx worker: ${name} processing ${options.queues.join(', ')} (concurrency ${options.concurrency}) for ${store.location}`);
  if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  logger.info('oracx worker: stopping: no new jobs; finishing the jobs in hand');
  await Promise.all(workers.map((w) => w.close()));
  connection.disconnect();
  logger.info(`oracx worker: stopped (${report.completed} completed, ${report.failed} failed)`);
  return report;
}
