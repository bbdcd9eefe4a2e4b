/** The audit of alias moves: who moved which alias from which version to which, when and with what figures. */
import os from 'node:os';
import type { Store } from '../store/connect.js';
import type { RegistryBackend } from './types.js';

export type AuditAction = 'register' | 'promote' | 'rollback' | 'set-alias' | 'delete-alias';

export interface AuditEntry {
  id: number;
  modelName: string;
  action: AuditAction;
  alias: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  backend: RegistryBackend;
  actor: string;
  details: Record<string, unknown>;
  createdAt: string;
}

/** Who is acting: ORACX_ACTOR when set (CI jobs name themselves), else user@host. */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORACX_ACTOR) return env.ORACX_ACTOR;
  let user = env.USER ?? env.USERNAME ?? '';
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${os.hostname()}`;
}

/** Appends one entry. */
export async function recordAudit(
  store: Store,
  entry: Omit<AuditEntry, 'id' | 'createdAt' | 'actor'> & { actor?: string },
): Promise<void> {
  await store.db
    .insertInto('registry_audit')
    .values({
      model_name: entry.modelName,
      action: entry.action,
      alias: entry.alias,
      from_version: entry.fromVersion,
      to_version: entry.toVersion,
      backend: entry.backend,
      actor: entry.actor ?? currentActor(),
      details: JSON.stringify(entry.details),
    })
    .execute();
}

/** Entries of a model (optionally one alias), oldest first. */
export async function auditTrail(store: Store, modelName: string, alias?: string): Promise<AuditEntry[]> {
  let q = store.db.selectFrom('registry_audit').selectAll().where('model_name', '=', modelName);
  if (alias !== undefined) q = q.where('alias', '=', alias);
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => ({
    id: Number(r.id),
    modelName: r.model_name,
    action: r.action as AuditAction,
    alias: r.alias,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    backend: r.backend as RegistryBackend,
    actor: r.actor,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: (r.created_at as unknown) instanceof Date ? (r.created_at as unknown as Date).toISOString() : r.created_at,
  }));
}

/**
 * The versions an alias has pointed at, as a stack replayed from its audit entries: a promotion or set pushes its
 * target, a rollback pops, a delete empties. The last element is the current version; rollback goes to the one
 * before it. So promote 1, promote 2, promote 3, rollback, rollback leaves [1]; a rollback to an explicit version
 * replaces the top with it.
 */
export function aliasStack(entries: readonly AuditEntry[]): number[] {
  const stack: number[] = [];
  for (const e of entries) {
    if (e.action === 'promote' || e.action === 'set-alias' || e.action === 'register') {
      if (e.toVersion !== null && stack[stack.length - 1] !== e.toVersion) stack.push(e.toVersion);
    } else if (e.action === 'rollback') {
      stack.pop();
      // A rollback to an explicit version (--to) lands where the pop did not.
      if (e.toVersion !== null && stack[stack.length - 1] !== e.toVersion) stack.push(e.toVersion);
    } else if (e.action === 'delete-alias') {
      stack.length = 0;
    }
  }
  return stack;
}
