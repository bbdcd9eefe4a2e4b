/**
 * API keys: 256-bit random secrets shown once at creation; the store keeps only their sha256 (a fast hash is enough
 * for secrets this long, and verifying one costs a lookup) and a short prefix that names a key in lists and logs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';

export const KEY_ROLES = ['viewer', 'predictor', 'admin'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

/** Every key starts with this, so scanners and humans can tell an oracx key from other secrets. */
export const KEY_PREFIX = 'oxk_';
const KEY_RE = /^oxk_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

/** A key as listed (never the secret). */
export interface ApiKeyInfo {
  id: number;
  name: string;
  role: KeyRole;
  prefix: string;
  owner: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  rotatedTo: number | null;
}

/** sha256 hex of a presented key. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** True when text has the shape of an oracx API key (checked before any lookup). */
export function looksLikeKey(text: string): boolean {
  return KEY_RE.test(text);
}

function newKey(): { key: string; prefix: string } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(8);
  const prefix = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  return { key: `${KEY_PREFIX}${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

type Row = {
  id: number;
  name: string;
  role: string;
  prefix: string;
  owner: string | null;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  rotated_to: number | null;
};

function info(r: Row): ApiKeyInfo {
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role as KeyRole,
    prefix: r.prefix,
    owner: r.owner,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
    rotatedTo: r.rotated_to === null ? null : Number(r.rotated_to),
  };
}

const COLUMNS = ['id', 'name', 'role', 'prefix', 'owner', 'created_by', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'rotated_to'] as const;

/** Options of createApiKey. */
export interface NewKeyOptions {
  name: string;
  role: KeyRole;
  owner?: string | null;
  createdBy: string;
  expiresAt?: string | null;
}

/** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
export async function createApiKey(store: Store, o: NewKeyOptions): Promise<{ key: string; info: ApiKeyInfo }> {
  if (!(KEY_ROLES as readonly string[]).includes(o.role)) throw new UserError(`unknown role "${o.role}"`, { hint: `one of ${KEY_ROLES.join(', ')}` });
  if (!/^[\w .@:-]{1,100}$/.test(o.name)) throw new UserError(`invalid key name "${o.name}": 1–100 letters, digits, spaces and _ . @ : -`);
  const { key, prefix } = newKey();
  const row = await store.db
    .insertInto('api_keys')
    .values({ name: o.name, role: o.role, prefix, key_hash: hashKey(key), owner: o.owner ?? null, created_by: o.createdBy, expires_at: o.expiresAt ?? null })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return { key, info: info(row as Row) };
}

/** Every key, newest first. */
export async function listApiKeys(store: Store, options: { includeRevoked?: boolean; owner?: string } = {}): Promise<ApiKeyInfo[]> {
  let q = store.db.selectFrom('api_keys').select(COLUMNS);
  if (!options.includeRevoked) q = q.where('revoked_at', 'is', null);
  if (options.owner !== undefined) q = q.where('owner', '=', options.owner);
  return (await q.orderBy('id', 'desc').execute()).map((r) => info(r as Row));
}

/** One key by id or name (a name must be unambiguous among active keys). */
export async function findApiKey(store: Store, idOrName: string): Promise<ApiKeyInfo> {
  const q = store.db.selectFrom('api_keys').select(COLUMNS);
  const rows = /^\d+$/.test(idOrName)
    ? await q.where('id', '=', Number(idOrName)).execute()
    : await q.where('name', '=', idOrName).where('revoked_at', 'is', null).execute();
  if (rows.length === 0) throw new UserError(`no API key "${idOrName}"`, { hint: 'see oracx auth keys list' });
  if (rows.length > 1) throw new UserError(`${rows.length} active keys are named "${idOrName}"`, { hint: 'pass the key id instead (oracx auth keys list)' });
  return info(rows[0] as Row);
}

/** Revokes a key (idempotent); returns it as it is now. */
export async function revokeApiKey(store: Store, id: number): Promise<ApiKeyInfo> {
  const now = new Date().toISOString();
  await store.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  return findApiKey(store, String(id));
}

/**
 * A new key with the same name, role and owner; the old one is revoked at once, or after `graceSeconds` (its
 * expires_at moves there) so clients can switch over.
 */
export async function rotateApiKey(
  store: Store,
  id: number,
  o: { createdBy: string; graceSeconds?: number },
): Promise<{ key: string; info: ApiKeyInfo; old: ApiKeyInfo }> {
  const old = await findApiKey(store, String(id));
  if (old.revokedAt) throw new UserError(`API key ${id} (${old.name}) is revoked; create a new one instead`);
  return store.db.transaction().execute(async (tx) => {
    const { key, prefix } = newKey();
    const created = await tx
      .insertInto('api_keys')
      .values({ name: old.name, role: old.role, prefix, key_hash: hashKey(key), owner: old.owner, created_by: o.createdBy, expires_at: old.expiresAt })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    const grace = o.graceSeconds ?? 0;
    const when = new Date(Date.now() + grace * 1000).toISOString();
    await tx
      .updateTable('api_keys')
      .set(grace > 0 ? { expires_at: when, rotated_to: Number(created.id) } : { revoked_at: when, rotated_to: Number(created.id) })
      .where('id', '=', id)
      .execute();
    const after = await tx.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirstOrThrow();
    return { key, info: info(created as Row), old: info(after as Row) };
  });
}

/** Why a presented key was refused. */
export type KeyRefusal = 'malformed' | 'unknown' | 'revoked' | 'expired';

/** The key a presented secret belongs to, if it is valid now. */
export async function verifyApiKey(
  store: Store,
  presented: string,
  now = new Date(),
): Promise<{ ok: true; info: ApiKeyInfo } | { ok: false; why: KeyRefusal; info?: ApiKeyInfo }> {
  if (!looksLikeKey(presented)) return { ok: false, why: 'malformed' };
  const row = await store.db.selectFrom('api_keys').select(COLUMNS).where('key_hash', '=', hashKey(presented)).executeTakeFirst();
  if (!row) return { ok: false, why: 'unknown' };
  const key = info(row as Row);
  if (key.revokedAt !== null && key.revokedAt <= now.toISOString()) return { ok: false, why: 'revoked', info: key };
  if (key.expiresAt !== null && key.expiresAt <= now.toISOString()) return { ok: false, why: 'expired', info: key };
  return { ok: true, info: key };
}

/** Records that keys were used (batched by the caller: once a minute per key is plenty). */
export async function touchApiKeys(store: Store, ids: readonly number[], at = new Date()): Promise<void> {
  if (ids.length === 0) return;
  await store.db
    .updateTable('api_keys')
    .set({ last_used_at: at.toISOString() })
    .where('id', 'in', [...ids])
    .execute();
}
