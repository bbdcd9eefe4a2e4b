/**
 * The audit of alias moves: who moved which alias from which version to which, when and with what figures. Every
 * event goes to the local store's registry_audit table and, on MLflow, to the registered model's event tags
 * (events.ts), which is the history `models show` and `models rollback` read there: the same on every machine.
 */
import os from 'node:os';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';
import type { RegistryEvent } from './events.js';
import type { Registry, RegistryBackend } from './types.js';

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
  /** The MLflow registered-model tag that holds this entry (MLflow history only). */
  key?: string;
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
export async function recordAudit(store: Store, entry: Omit<AuditEntry, 'id' | 'createdAt' | 'actor'> & { actor?: string }): Promise<void> {
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

/** Writes the event where the registry's history lives: MLflow's tags, or the local store's audit table. */
async function recordInRegistry(store: Store, registry: Registry, event: RegistryEvent): Promise<void> {
  await registry.appendEvent(event);
  if (registry.backend === 'local') await recordAudit(store, { ...event, backend: 'local' });
}

/** On MLflow, the local store keeps a copy of this machine's events with their details whole. */
async function keepLocalCopy(store: Store, registry: Registry, event: RegistryEvent, done: string): Promise<void> {
  if (registry.backend === 'local') return;
  try {
    await recordAudit(store, { ...event, backend: registry.backend });
  } catch (error) {
    throw new UserError(`${done} and recorded in ${registry.location}, but not in the local store's audit: ${(error as Error).message}`, { cause: error });
  }
}

/** Records one event (a registration without an alias): in the registry's history, then the local copy. */
export async function recordEvent(store: Store, registry: Registry, event: RegistryEvent): Promise<void> {
  await recordInRegistry(store, registry, event);
  await keepLocalCopy(store, registry, event, `the ${event.action} of ${event.modelName} is done`);
}

/**
 * Points an alias at `event.toVersion` and records the move; when the event cannot be recorded, the alias goes back
 * to where it was (or is removed again), so no move happens without its record.
 */
export async function moveAlias(store: Store, registry: Registry, event: RegistryEvent & { alias: string; toVersion: number }): Promise<void> {
  await registry.setAlias(event.modelName, event.alias, event.toVersion);
  try {
    await recordInRegistry(store, registry, event);
  } catch (error) {
    const restore =
      event.fromVersion === null ? registry.deleteAlias(event.modelName, event.alias) : registry.setAlias(event.modelName, event.alias, event.fromVersion);
    const restored = await restore.then(
      () => 'it was moved back',
      (e: unknown) => `moving it back failed too (${(e as Error).message}): check it with oracx models show ${event.modelName}`,
    );
    throw new UserError(
      `"${event.alias}" of ${event.modelName} was not moved to version ${event.toVersion}: the ${event.action} could not be recorded in ${registry.location} (${(error as Error).message}); ${restored}`,
      {
        cause: error,
      },
    );
  }
  await keepLocalCopy(store, registry, event, `"${event.alias}" of ${event.modelName} moved to version ${event.toVersion}`);
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
