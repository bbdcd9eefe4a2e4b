/** The security audit: admin actions and authentication failures, who, what, when, from where, with what outcome. */
import type { Store } from '../store/connect.js';

export interface SecurityEvent {
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  ip: string | null;
  requestId: string | null;
  details?: Record<string, unknown>;
}

/** Appends one event. */
export async function recordSecurityEvent(store: Store, e: SecurityEvent): Promise<void> {
  await recordSecurityEvents(store, [e]);
}

/** Appends events in one statement (the server batches authentication failures). */
export async function recordSecurityEvents(store: Store, events: readonly SecurityEvent[]): Promise<void> {
  if (events.length === 0) return;
  await store.db
    .insertInto('security_audit')
    .values(events.map((e) => ({ actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, ip: e.ip, request_id: e.requestId, details: JSON.stringify(e.details ?? {}) })))
    .execute();
}

/** A stored event. */
export interface StoredSecurityEvent extends SecurityEvent {
  id: number;
  createdAt: string;
}

/** Newest first. */
export async function listSecurityEvents(store: Store, filter: { actor?: string; limit?: number } = {}): Promise<StoredSecurityEvent[]> {
  let q = store.db.selectFrom('security_audit').selectAll();
  if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
  const rows = await q.orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome as SecurityEvent['outcome'],
    ip: r.ip,
    requestId: r.request_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: r.created_at,
  }));
}
