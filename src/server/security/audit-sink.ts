/**
 * The server's side of the security audit, kept off the request path: authentication failures, admin calls and API
 * key use are queued in memory and written by a timer in one statement per flush. Failures are coalesced per
 * client address, reason and second (one row with a count), and at most `maxGroupsPerSecond` such rows are kept per
 * second — beyond that a single "dropped" row says how many were not recorded — so a flood of bad tokens costs a
 * bounded number of inserts. A key's last_used_at is written at most once per `touchEveryMs`.
 */
import { touchApiKeys } from '../../auth/api-keys.js';
import { recordSecurityEvents, type SecurityEvent } from '../../auth/audit.js';
import type { Logger } from '../../logger.js';
import type { Store } from '../../store/connect.js';
import type { Presented } from '../auth/plugin.js';

export interface AuditSinkOptions {
  /** How often queued events are written. */
  intervalMs: number;
  /** Distinct (address, reason) failure rows kept per second. */
  maxGroupsPerSecond: number;
  /** Admin-call events held at most between flushes. */
  maxQueued: number;
  /** A key's last_used_at is written at most this often. */
  touchEveryMs: number;
  logger: Logger;
  /** For tests. */
  now?: () => number;
}

/** One refused request, as the auth hook saw it. */
export interface FailureReport {
  status: number;
  reason: string;
  detail: string;
  ip: string;
  requestId: string;
  method: string;
  route: string;
  /** The principal when it was known (403: authenticated, not allowed). */
  principalId: string | null;
  presented: Presented | null;
}

/** One call to an admin-only route by an authenticated admin. */
export interface AdminCallReport {
  principalId: string;
  method: string;
  route: string;
  status: number;
  ip: string;
  requestId: string;
}

interface Group {
  second: number;
  event: SecurityEvent;
  count: number;
}

/** Who a refused request came from, as far as it can be told (unverified token claims are marked so). */
function actorOf(f: FailureReport): string {
  if (f.principalId) return f.principalId;
  const p = f.presented;
  if (p?.kind === 'api-key' && p.keyId !== undefined) return `key:${p.keyId}`;
  if (p?.kind === 'jwt' && p.sub !== undefined) return `jwt:${p.iss ?? ''}|${p.sub}`;
  return 'anonymous';
}

export const DEFAULT_AUDIT_SINK: Omit<AuditSinkOptions, 'logger'> = { intervalMs: 1000, maxGroupsPerSecond: 100, maxQueued: 10_000, touchEveryMs: 60_000 };

export class SecurityAuditSink {
  private readonly groups = new Map<string, Group>();
  private readonly perSecond = new Map<number, number>();
  private readonly dropped = new Map<number, number>();
  private queue: SecurityEvent[] = [];
  private touches = new Set<number>();
  private readonly touchedAt = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private warned = 0;
  /** Counters, for tests and metrics. */
  readonly stats = { failures: 0, rows: 0, dropped: 0, touches: 0, writeErrors: 0 };

  constructor(
    private readonly store: Store,
    private readonly o: AuditSinkOptions,
  ) {
    this.timer = setInterval(() => void this.flush(false), o.intervalMs);
    this.timer.unref();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Queues a refused request; coalesced with others from the same address for the same reason in the same second. */
  failure(f: FailureReport): void {
    if (this.closed) return;
    this.stats.failures++;
    const now = this.now();
    const second = Math.floor(now / 1000);
    const key = `${second}|${f.ip}|${f.reason}`;
    const group = this.groups.get(key);
    if (group) {
      group.count++;
      return;
    }
    const used = this.perSecond.get(second) ?? 0;
    if (used >= this.o.maxGroupsPerSecond) {
      this.dropped.set(second, (this.dropped.get(second) ?? 0) + 1);
      this.stats.dropped++;
      return;
    }
    this.perSecond.set(second, used + 1);
    this.groups.set(key, {
      second,
      count: 1,
      event: {
        actor: actorOf(f),
        action: f.status === 403 ? 'auth.denied' : 'auth.failure',
        target: `${f.method} ${f.route}`,
        outcome: f.status === 403 ? 'denied' : 'failed',
        ip: f.ip,
        requestId: f.requestId,
        at: new Date(now).toISOString(),
        details: { status: f.status, reason: f.reason, detail: f.detail, ...(f.presented ? { presented: f.presented } : {}) },
      },
    });
  }

  /** Queues an admin call. */
  adminCall(c: AdminCallReport): void {
    if (this.closed) return;
    if (this.queue.length >= this.o.maxQueued) {
      this.stats.dropped++;
      return;
    }
    this.queue.push({
      actor: c.principalId,
      action: 'http.admin',
      target: `${c.method} ${c.route}`,
      outcome: c.status < 400 ? 'ok' : 'failed',
      ip: c.ip,
      requestId: c.requestId,
      at: new Date(this.now()).toISOString(),
      details: { status: c.status },
    });
  }

  /** Notes that a key was used; its last_used_at is written at most once per touchEveryMs. */
  keyUsed(id: number): void {
    if (this.closed) return;
    const now = this.now();
    const last = this.touchedAt.get(id);
    if (last !== undefined && now - last < this.o.touchEveryMs) return;
    this.touchedAt.set(id, now);
    this.touches.add(id);
  }

  /** Writes what is queued; failure groups of the current second wait for it to end unless `all`. */
  flush(all = true): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (all ? this.flush(true) : undefined));
    this.flushing = this.write(all).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(all: boolean): Promise<void> {
    const current = Math.floor(this.now() / 1000);
    const events: SecurityEvent[] = this.queue;
    this.queue = [];
    for (const [key, g] of this.groups) {
      if (!all && g.second >= current) continue;
      this.groups.delete(key);
      this.perSecond.delete(g.second);
      events.push({ ...g.event, details: { ...g.event.details, count: g.count } });
    }
    for (const [second, count] of this.dropped) {
      if (!all && second >= current) continue;
      this.dropped.delete(second);
      events.push({
        actor: 'oracx',
        action: 'auth.failure.dropped',
        target: null,
        outcome: 'failed',
        ip: null,
        requestId: null,
        at: new Date(second * 1000).toISOString(),
        details: { count, reason: `more than ${this.o.maxGroupsPerSecond} distinct address/reason pairs failed in one second` },
      });
    }
    const touches = [...this.touches];
    this.touches = new Set();
    try {
      if (events.length > 0) await recordSecurityEvents(this.store, events);
      this.stats.rows += events.length;
    } catch (error) {
      this.writeError(`${events.length} security audit event(s)`, error);
    }
    try {
      if (touches.length > 0) await touchApiKeys(this.store, touches, new Date(this.now()));
      this.stats.touches += touches.length;
    } catch (error) {
      this.writeError(`last_used_at of ${touches.length} API key(s)`, error);
    }
  }

  // A store outage must not take the server down or fill memory: the batch is dropped and said so (rate-limited).
  private writeError(what: string, error: unknown): void {
    this.stats.writeErrors++;
    if (this.warned++ % 100 === 0) this.o.logger.warn(`could not write ${what}: ${(error as Error).message}; dropped`);
  }

  /** Stops the timer and writes everything still queued. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush(true);
  }
}
