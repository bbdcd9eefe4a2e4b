/** The security audit: admin actions and authentication failures, who, what, when, from where, with what outcome. */
import type { Store } from '../store/connect.js';

export interface SecurityEvent {
  /** Who: "cli:user@host", a principal id ("key:12", "jwt:<iss>|<sub>"), or "anonymous". */
  actor: string;
  /** What, e.g. api-key.create, token.issue, user.delete, http.admin, auth.failure. */
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  ip: string | null;
  requestId: string | null;
  details?: Record<string, unknown>;
  /** When it happened (ISO); now when absent. Batched events keep the time they occurred. */
  at?: string;
}

/** Appends one event. */
export async function recordSecurityEvent(store: Store, e: SecurityEvent): Promise<void> {
  await recordSecurityEvents(store, [e]);
}

/** Rows per insert statement: 8 columns stay far below either dialect's bound-parameter limit. */
const INSERT_CHUNK = 500;

/** Appends events, all or none (the server batches authentication failures). */
export async function recordSecurityEvents(store: Store, events: readonly SecurityEvent[]): Promise<void> {
  if (events.length === 0) return;
  const now = new Date().toISOString();
  const rows = events.map((e) => ({
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    ip: e.ip,
    request_id: e.requestId,
    details: JSON.stringify(e.details ?? {}),
    created_at: e.at ?? now,
  }));
  if (rows.length <= INSERT_CHUNK) {
    await store.db.insertInto('security_audit').values(rows).execute();
    return;
  }
  await store.db.transaction().execute(async (tx) => {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK)
      await tx
        .insertInto('security_audit')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
  });
}

/** A stored event. */
export interface StoredSecurityEvent extends Omit<SecurityEvent, 'at'> {
  id: number;
  createdAt: string;
  details: Record<string, unknown>;
}

/** Filters of listSecurityEvents. */
export interface SecurityEventQuery {
  actor?: string;
  action?: string;
  /** ISO timestamp or date: events at or after it. */
  since?: string;
  limit?: number;
}

/** Newest first. */
export async function listSecurityEvents(store: Store, filter: SecurityEventQuery = {}): Promise<StoredSecurityEvent[]> {
  let q = store.db.selectFrom('security_audit').selectAll();
  if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
  return rows.map(storedEvent);
}

/** A row as the API and CLI show it. */
export function storedEvent(r: {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  ip: string | null;
  request_id: string | null;
  details: string;
  created_at: string;
}): StoredSecurityEvent {
  return {
    id: Number(r.id),
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome as SecurityEvent['outcome'],
    ip: r.ip,
    requestId: r.request_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: r.created_at,
  };
}
