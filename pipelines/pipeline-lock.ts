/**
 * The lease that keeps two runs of one pipeline (two CI jobs, a schedule firing while a user runs it) from running
 * stages at once: a row per pipeline in pipeline_locks, taken with an insert that only one writer can win, renewed
 * while the run lasts, released at its end. A row rather than a PostgreSQL advisory lock, so SQLite stores behave
 * the same; a holder that crashed stops renewing and its lease lapses after its ttl.
 *
 * Times are the store's clock, not the caller's: runs on machines whose clocks disagree (a CI runner, a worker) would
 * otherwise take a live lease for lapsed, or keep a dead one, by the difference. SQLite is a local file, so its clock
 * is this machine's; PostgreSQL's is the server's.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import { Interrupted, UserError } from '../src/errors.js';
import type { Store } from '../src/store/connect.js';

/** How long a lease lasts without renewal unless told otherwise; renewed every third of it. */
export const DEFAULT_LEASE_MS = 120_000;

export interface LeaseOptions {
  /** Who asks, shown to a run that finds the lease taken (host:pid is prepended). */
  holder: string;
  ttlMs?: number;
  /** Wait for the holder to finish (polling) instead of refusing at once. */
  wait?: boolean;
  /** Polling period while waiting. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the run starts waiting, with the current holder. */
  onWait?: (holder: LeaseHolder) => void;
  /** Called when a renewal finds the lease gone (it lapsed and someone else took it): the run must stop. */
  onLost?: (error: Error) => void;
}

export interface LeaseHolder {
  holder: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface Lease {
  readonly pipeline: string;
  readonly token: string;
  /** Stops renewing and deletes the row (only if still ours). */
  release(): Promise<void>;
}

/** The lease is held by another run (exit 1, naming it). */
export class PipelineLocked extends UserError {
  constructor(
    pipeline: string,
    readonly current: LeaseHolder,
  ) {
    super(`pipeline "${pipeline}" is being run by ${current.holder} (since ${current.acquiredAt}; its lease lapses at ${current.expiresAt} unless renewed)`, {
      hint: "wait for it with oracx run --wait, or let it finish; a crashed run's lease lapses by itself",
    });
    this.name = 'PipelineLocked';
  }
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

/** The store's clock in epoch milliseconds: PostgreSQL's (one query), or this machine's for a SQLite file. */
export async function storeNow(store: Store): Promise<number> {
  if (store.dialect === 'sqlite') return Date.now();
  const { rows } = await sql<{ now: string }>`select floor(extract(epoch from clock_timestamp()) * 1000)::bigint::text as now`.execute(store.db);
  return Number(rows[0]!.now);
}

/** The current holder of a pipeline's lease, or null when it is free (a lapsed lease counts as free). */
export async function leaseHolder(store: Store, pipeline: string): Promise<LeaseHolder | null> {
  const now = await storeNow(store);
  const row = await store.db.selectFrom('pipeline_locks').selectAll().where('pipeline', '=', pipeline).executeTakeFirst();
  if (!row || Number(row.expires_ms) <= now) return null;
  return { holder: row.holder, acquiredAt: new Date(row.acquired_at).toISOString(), expiresAt: iso(row.expires_ms) };
}

/** One attempt: deletes a lapsed lease, then inserts ours; false when another holder's row is there. */
async function tryAcquire(store: Store, pipeline: string, token: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = await storeNow(store);
  await store.db.deleteFrom('pipeline_locks').where('pipeline', '=', pipeline).where('expires_ms', '<=', now).execute();
  // The primary key makes this insert the arbiter: of two racing runs, one inserts and the other inserts nothing.
  const result = await store.db
    .insertInto('pipeline_locks')
    .values({ pipeline, token, holder, acquired_at: new Date(now).toISOString(), expires_ms: now + ttlMs })
    .onConflict((oc) => oc.column('pipeline').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/**
 * Takes the pipeline's lease: at once, or (wait) when its holder releases it or lets it lapse. Throws PipelineLocked
 * when it is held and not waiting, Interrupted when the signal aborts the wait.
 */
export async function acquireLease(store: Store, pipeline: string, options: LeaseOptions): Promise<Lease> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_MS;
  const token = randomUUID();
  const holder = `${hostname()}:${process.pid} (${options.holder})`;
  let announced = false;
  while (!(await tryAcquire(store, pipeline, token, holder, ttlMs))) {
    const current = await leaseHolder(store, pipeline);
    if (!current) continue; // released (or lapsed) between the insert and the read
    if (!options.wait) throw new PipelineLocked(pipeline, current);
    if (!announced) options.onWait?.(current);
    announced = true;
    await sleep(options.pollMs ?? 500, options.signal);
  }
  let stopped = false;
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(
    () => {
      renewing = renew().catch((error: Error) => options.onLost?.(error));
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  async function renew(): Promise<void> {
    if (stopped) return;
    const r = await store.db
      .updateTable('pipeline_locks')
      .set({ expires_ms: (await storeNow(store)) + ttlMs })
      .where('pipeline', '=', pipeline)
      .where('token', '=', token)
      .executeTakeFirst();
    if (!stopped && Number(r.numUpdatedRows) === 0) {
      stopped = true;
      clearInterval(timer);
      throw new UserError(`the lease of pipeline "${pipeline}" lapsed and was taken by another run`, {
        hint: `this run stopped renewing it for longer than its ttl (${ttlMs} ms): raise --lease`,
      });
    }
  }
  return {
    pipeline,
    token,
    async release() {
      stopped = true;
      clearInterval(timer);
      await renewing.catch(() => undefined);
      await store.db.deleteFrom('pipeline_locks').where('pipeline', '=', pipeline).where('token', '=', token).execute();
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted('stopped waiting for the pipeline lease'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Interrupted('stopped waiting for the pipeline lease'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
