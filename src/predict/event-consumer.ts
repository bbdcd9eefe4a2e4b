/**
 * A consumer of the `events` outbox that does its work exactly once in effect: a lease (one holder among several
 * processes at a time, taken over when it expires), a cursor (events up to it are done) and a receipt per handled
 * event, written in the transaction that does the event's work. The cursor alone would miss an event that committed
 * after a later one (PostgreSQL hands out ids at insert, makes rows visible at commit), so recent events without a
 * receipt are read again; a receipt's primary key makes handling an event twice fail and roll back.
 */
import type { Transaction } from 'kysely';
import type { Store } from '../store/connect.js';
import type { Database, EventType } from '../store/schema.js';

/** How far back events without a receipt are looked for again (late commits). */
export const LATE_COMMIT_WINDOW_MS = 5 * 60_000;

/** An outbox row as consumers read it. */
export interface OutboxEvent {
  id: number;
  type: EventType;
  matchId: number | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

/** The lease was taken over (it expired while this process worked): the transaction rolls back, nothing is kept. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(
    readonly consumer: string,
    readonly owner: string,
  ) {
    super(`${owner} no longer holds the lease of event consumer "${consumer}"; its work was rolled back`);
  }
}

/** Takes (or renews) the consumer's lease; false while another owner holds an unexpired one. */
export async function takeLease(store: Store, consumer: string, owner: string, leaseMs: number, nowMs = Date.now()): Promise<boolean> {
  await store.db
    .insertInto('event_consumers')
    .values({ name: consumer })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const taken = await store.db
    .updateTable('event_consumers')
    .set({ lease_owner: owner, lease_until_ms: nowMs + leaseMs, updated_at: new Date(nowMs).toISOString() })
    .where('name', '=', consumer)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until_ms', '<', nowMs)]))
    .executeTakeFirst();
  return Number(taken.numUpdatedRows) > 0;
}

/** Gives the lease up (only if still ours), so another process need not wait for it to expire. */
export async function releaseLease(store: Store, consumer: string, owner: string): Promise<void> {
  await store.db
    .updateTable('event_consumers')
    .set({ lease_owner: null, lease_until_ms: null })
    .where('name', '=', consumer)
    .where('lease_owner', '=', owner)
    .execute();
}

/** The consumer's cursor (0 before its first event). */
export async function cursorOf(store: Store, consumer: string): Promise<number> {
  const row = await store.db.selectFrom('event_consumers').select('last_event_id').where('name', '=', consumer).executeTakeFirst();
  return Number(row?.last_event_id ?? 0);
}

/** Events of `type` the consumer has no receipt for: after its cursor, or recent (late commits); oldest first. */
export async function pendingEvents(store: Store, consumer: string, type: EventType, limit: number, nowMs = Date.now()): Promise<OutboxEvent[]> {
  const cursor = await cursorOf(store, consumer);
  const recent = new Date(nowMs - LATE_COMMIT_WINDOW_MS).toISOString();
  const rows = await store.db
    .selectFrom('events as e')
    .select(['e.id', 'e.type', 'e.match_id', 'e.payload', 'e.created_at'])
    .where('e.type', '=', type)
    .where((eb) => eb.or([eb('e.id', '>', cursor), eb('e.created_at', '>=', recent)]))
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('event_receipts as r').select('r.event_id').where('r.consumer', '=', consumer).whereRef('r.event_id', '=', 'e.id'))),
    )
    .orderBy('e.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    type: r.type,
    matchId: r.match_id === null ? null : Number(r.match_id),
    payload: parsePayload(r.payload),
    createdAt: String(r.created_at),
  }));
}

/**
 * Inside the work's transaction: checks the lease is still ours (on PostgreSQL this row lock also queues a second
 * holder behind us), moves the cursor forward (never back) and writes the receipts. Throws LeaseLost to roll back.
 */
export async function commitReceipts(
  tx: Transaction<Database>,
  consumer: string,
  owner: string,
  receipts: ReadonlyArray<{ eventId: number; outcome: 'refreshed' | 'skipped'; detail: string }>,
): Promise<void> {
  const high = Math.max(0, ...receipts.map((r) => r.eventId));
  const now = new Date().toISOString();
  // An UPDATE fenced by the owner: it takes the row lock on PostgreSQL, so a second holder waits for our commit.
  const fenced = await tx
    .updateTable('event_consumers')
    .set({ updated_at: now })
    .where('name', '=', consumer)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(fenced.numUpdatedRows) === 0) throw new LeaseLost(consumer, owner);
  await tx.updateTable('event_consumers').set({ last_event_id: high }).where('name', '=', consumer).where('last_event_id', '<', high).execute();
  if (receipts.length > 0) {
    await tx
      .insertInto('event_receipts')
      .values(receipts.map((r) => ({ consumer, event_id: r.eventId, outcome: r.outcome, detail: r.detail })))
      .execute();
  }
}

function parsePayload(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
