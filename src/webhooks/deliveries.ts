/**
 * Webhook deliveries in the store: the fan-out of outbox events into one delivery per (event, matching subscription),
 * claiming due deliveries under a lease so that concurrent senders never hold the same one, and recording outcomes
 * (delivered, retry later with exponential backoff and jitter, dead after the subscription's max attempts).
 */
import { sql } from 'kysely';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { DeliveryState } from '../store/schema.js';

export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead'];
const CURSOR = 'webhooks';
/**
 * PostgreSQL hands out serial ids at insert but makes rows visible at commit, so an event with a smaller id can
 * appear after a larger one was read. Each fan-out therefore also looks again at events of the last few minutes; the
 * unique (event, subscription) key makes seeing one twice harmless.
 */
const LATE_COMMIT_WINDOW_MS = 5 * 60_000;
const FANOUT_BATCH = 500;

/** Creates the deliveries for events recorded since the last fan-out; returns how many were created. */
export async function fanOut(store: Store, nowMs = Date.now()): Promise<{ events: number; created: number }> {
  const subs = await store.db.selectFrom('webhook_subscriptions').select(['id', 'events', 'after_event_id']).execute();
  const cursorRow = await store.db.selectFrom('webhook_cursors').select('last_event_id').where('name', '=', CURSOR).executeTakeFirst();
  const cursor = Number(cursorRow?.last_event_id ?? 0);
  const recent = new Date(nowMs - LATE_COMMIT_WINDOW_MS).toISOString();
  let events = 0;
  let created = 0;
  // Events after the cursor, and recent ones at or below it (late commits), walked by id past the last one read: the
  // recent ones may fill whole batches, so the walk goes by the last id seen, not by the cursor.
  let after = 0;
  for (;;) {
    const batch = await store.db
      .selectFrom('events')
      .select(['id', 'type'])
      .where((eb) => eb.or([eb('id', '>', cursor), eb('created_at', '>=', recent)]))
      .where('id', '>', after)
      .orderBy('id')
      .limit(FANOUT_BATCH)
      .execute();
    if (batch.length === 0) break;
    after = Number(batch[batch.length - 1]!.id);
    const rows = [];
    for (const e of batch) {
      for (const s of subs) {
        if (Number(e.id) > Number(s.after_event_id) && s.events.split(',').includes(e.type)) {
          rows.push({ event_id: Number(e.id), subscription_id: Number(s.id), next_attempt_at_ms: nowMs });
        }
      }
    }
    if (rows.length > 0) {
      const inserted = await store.db
        .insertInto('webhook_deliveries')
        .values(rows)
        .onConflict((oc) => oc.columns(['event_id', 'subscription_id']).doNothing())
        .returning('id')
        .execute();
      created += inserted.length;
    }
    events += batch.length;
    const high = Math.max(cursor, after);
    if (high > cursor) await advanceCursor(store, high);
    if (batch.length < FANOUT_BATCH) break;
  }
  return { events, created };
}

async function advanceCursor(store: Store, to: number): Promise<void> {
  const now = new Date().toISOString();
  // Never moves back: two fan-outs at once both end at the furthest position either reached.
  await store.db
    .insertInto('webhook_cursors')
    .values({ name: CURSOR, last_event_id: to, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ last_event_id: to, updated_at: now }).where('webhook_cursors.last_event_id', '<', to))
    .execute();
}

/** A claimed delivery with what is needed to send it. */
export interface ClaimedDelivery {
  id: number;
  subscriptionId: number;
  eventId: number;
  attempts: number;
  leaseOwner: string;
}

/**
 * Claims at most `limit` due deliveries for `leaseMs`: state pending, due, and not leased by anyone (or the lease
 * expired: its holder crashed). The attempt is counted at claim time, so a sender killed mid-request still uses up one
 * try. PostgreSQL locks candidate rows with FOR UPDATE SKIP LOCKED; SQLite's single UPDATE … RETURNING runs under the
 * database's one write lock. Either way a row is claimed by one sender only.
 */
export async function claimDeliveries(store: Store, owner: string, limit: number, leaseMs: number, nowMs = Date.now()): Promise<ClaimedDelivery[]> {
  const until = nowMs + leaseMs;
  const now = new Date(nowMs).toISOString();
  const due = sql`state = 'pending' and next_attempt_at_ms <= ${nowMs} and (lease_until_ms is null or lease_until_ms < ${nowMs})`;
  type Claimed = { id: number; subscription_id: number; event_id: number; attempts: number };
  // PostgreSQL: the locking select must run once, so it sits in a CTE (as an IN-subquery with LIMIT it may be
  // re-evaluated per outer row and claim more than `limit`). Rows locked by another sender are skipped, and the
  // outer WHERE re-checks the state on the row version it updates.
  const rows =
    store.dialect === 'postgres'
      ? await sql<Claimed>`
    with picked as (select id from webhook_deliveries where ${due} order by next_attempt_at_ms, id limit ${limit} for update skip locked)
    update webhook_deliveries as d
       set lease_owner = ${owner}, lease_until_ms = ${until}, attempts = d.attempts + 1, updated_at = ${now}
      from picked
     where d.id = picked.id and d.state = 'pending' and (d.lease_until_ms is null or d.lease_until_ms < ${nowMs})
    returning d.id, d.subscription_id, d.event_id, d.attempts`.execute(store.db)
      : await sql<Claimed>`
    update webhook_deliveries
       set lease_owner = ${owner}, lease_until_ms = ${until}, attempts = attempts + 1, updated_at = ${now}
     where id in (select id from webhook_deliveries where ${due} order by next_attempt_at_ms, id limit ${limit})
    returning id, subscription_id, event_id, attempts`.execute(store.db);
  return rows.rows.map((r) => ({
    id: Number(r.id),
    subscriptionId: Number(r.subscription_id),
    eventId: Number(r.event_id),
    attempts: Number(r.attempts),
    leaseOwner: owner,
  }));
}

/** The outcome of one attempt. */
export type AttemptOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** Exponential backoff with jitter: base·2^(attempt−1), capped, times a random 0.5–1.5 (so senders do not retry in step). */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random()));
}

/**
 * Records an attempt's outcome, only if the lease is still ours (a sender whose lease expired and was taken over must
 * not overwrite the newer holder's result). Returns the delivery's new state, or null when the lease was lost.
 */
export async function settleDelivery(
  store: Store,
  claimed: ClaimedDelivery,
  outcome: AttemptOutcome,
  retry: { maxAttempts: number; baseMs: number; capMs: number },
  nowMs = Date.now(),
): Promise<DeliveryState | null> {
  const now = new Date(nowMs).toISOString();
  let state: DeliveryState;
  let next = nowMs;
  if (outcome.ok) state = 'delivered';
  else if (claimed.attempts >= retry.maxAttempts) state = 'dead';
  else {
    state = 'pending';
    next = nowMs + backoffMs(claimed.attempts, retry.baseMs, retry.capMs);
  }
  const result = await store.db
    .updateTable('webhook_deliveries')
    .set({
      state,
      next_attempt_at_ms: next,
      lease_owner: null,
      lease_until_ms: null,
      last_status: outcome.status,
      last_error: outcome.ok ? null : outcome.error.slice(0, 500),
      updated_at: now,
      delivered_at: outcome.ok ? now : null,
    })
    .where('id', '=', claimed.id)
    .where('lease_owner', '=', claimed.leaseOwner)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0 ? state : null;
}

/** Gives a claimed delivery back untried (the sender was interrupted before an answer): the attempt is not counted. */
export async function releaseDelivery(store: Store, claimed: ClaimedDelivery): Promise<void> {
  await store.db
    .updateTable('webhook_deliveries')
    .set((eb) => ({ lease_owner: null, lease_until_ms: null, attempts: eb('attempts', '-', 1), updated_at: new Date().toISOString() }))
    .where('id', '=', claimed.id)
    .where('lease_owner', '=', claimed.leaseOwner)
    .execute();
}

/** A delivery as commands show it. */
export interface DeliveryView {
  id: number;
  subscriptionId: number;
  url: string;
  eventId: number;
  eventType: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** Deliveries, newest first, optionally of one subscription and/or in one state. */
export async function listDeliveries(store: Store, filter: { subscriptionId?: number; state?: DeliveryState; limit?: number }): Promise<DeliveryView[]> {
  let q = store.db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
    .innerJoin('events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.subscription_id',
      's.url',
      'd.event_id',
      'e.type',
      'd.state',
      'd.attempts',
      'd.next_attempt_at_ms',
      'd.last_status',
      'd.last_error',
      'd.created_at',
      'd.delivered_at',
    ])
    .orderBy('d.id', 'desc')
    .limit(filter.limit ?? 100);
  if (filter.subscriptionId !== undefined) q = q.where('d.subscription_id', '=', filter.subscriptionId);
  if (filter.state !== undefined) q = q.where('d.state', '=', filter.state);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: Number(r.id),
    subscriptionId: Number(r.subscription_id),
    url: r.url,
    eventId: Number(r.event_id),
    eventType: r.type,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.state === 'pending' ? new Date(Number(r.next_attempt_at_ms)).toISOString() : null,
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: new Date(r.created_at).toISOString(),
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at).toISOString(),
  }));
}

/**
 * Queues a dead (or delivered) delivery again, due now, with its attempts reset to zero. A pending one is refused:
 * it is queued already, and perhaps being sent right now.
 */
export async function redeliver(store: Store, id: number, nowMs = Date.now()): Promise<{ id: number; previousState: DeliveryState }> {
  const row = await store.db.selectFrom('webhook_deliveries').select(['id', 'state']).where('id', '=', id).executeTakeFirst();
  if (!row) throw new UserError(`no webhook delivery ${id}`, { hint: 'see them with: oracx webhooks deliveries' });
  if (row.state === 'pending') throw new UserError(`webhook delivery ${id} is pending already: the next oracx webhooks deliver sends it when due`);
  const result = await store.db
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', attempts: 0, next_attempt_at_ms: nowMs, lease_owner: null, lease_until_ms: null, updated_at: new Date(nowMs).toISOString() })
    .where('id', '=', id)
    .where('state', '=', row.state)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new UserError(`webhook delivery ${id} changed meanwhile; try again`);
  return { id, previousState: row.state };
}
