/**
 * Secrets oracx keeps in the store (the HS256 signing key of the tokens it issues), encrypted at rest with AES-256-GCM
 * under a master key that never touches the store: ORACX_MASTER_KEY (32 bytes, base64 or hex). Each row records the
 * id of the key that sealed it, so after a rotation the previous key (ORACX_MASTER_KEY_PREVIOUS) still opens old rows
 * until they are sealed again under the new one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';

export const MASTER_KEY_ENV = 'ORACX_MASTER_KEY';
export const PREVIOUS_MASTER_KEYS_ENV = 'ORACX_MASTER_KEY_PREVIOUS';
const GENERATE_HINT = 'generate one with: openssl rand -base64 32';

/** A master key and its id (a fingerprint: it names the key without revealing it). */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/** The key new rows are sealed with, and older ones that may still open rows. */
export interface Keyring {
  current: MasterKey;
  previous: readonly MasterKey[];
}

/** The id a master key is recorded under: "mk_" and 16 hex digits of a domain-separated sha256. */
export function masterKeyId(key: Buffer): string {
  return `mk_${createHash('sha256').update('oracx master key id\0').update(key).digest('hex').slice(0, 16)}`;
}

/** Parses 32 bytes given as hex (64 digits) or base64/base64url (43–44 characters); `what` names the source in errors. */
export function parseMasterKey(text: string, what = MASTER_KEY_ENV): MasterKey {
  const value = text.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(value)) key = Buffer.from(value, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key === null || key.length !== 32) {
    // Never echo the value: say only what shape it had.
    throw new UserError(`${what} must be 32 random bytes written as base64 (44 characters) or hex (64 characters); it has ${value.length} characters`, {
      hint: GENERATE_HINT,
    });
  }
  return { id: masterKeyId(key), key };
}

/** The keyring from the environment, or null when ORACX_MASTER_KEY is unset (a malformed value is an error). */
export function keyringFromEnv(env: NodeJS.ProcessEnv): Keyring | null {
  const current = env[MASTER_KEY_ENV];
  if (current === undefined || current.trim() === '') return null;
  const previous = (env[PREVIOUS_MASTER_KEYS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s, i) => parseMasterKey(s, `${PREVIOUS_MASTER_KEYS_ENV} (entry ${i + 1})`));
  return { current: parseMasterKey(current), previous };
}

/** The keyring, or a clear error naming the variable to set. */
export function requireKeyring(env: NodeJS.ProcessEnv, why: string): Keyring {
  const keyring = keyringFromEnv(env);
  if (!keyring)
    throw new UserError(`${MASTER_KEY_ENV} is not set: it is needed ${why}`, { hint: `${GENERATE_HINT}, and keep it in a secret manager, not in the store` });
  return keyring;
}

/** A sealed value as the secrets table holds it (base64 text columns). */
export interface Sealed {
  keyId: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

// The secret's name is authenticated with it, so a row's ciphertext cannot be moved under another name.
const aad = (name: string) => Buffer.from(`oracx-secret:${name}`, 'utf8');

/** Encrypts `value` under the current master key (a fresh 96-bit IV each time). */
export function seal(keyring: Keyring, name: string, value: Buffer): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, iv);
  cipher.setAAD(aad(name));
  const ciphertext = Buffer.concat([cipher.update(value), cipher.final()]);
  return { keyId: keyring.current.id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
}

/** Decrypts a sealed value with whichever key of the ring sealed it. */
export function open(keyring: Keyring, name: string, sealed: Sealed): Buffer {
  const master = [keyring.current, ...keyring.previous].find((k) => k.id === sealed.keyId);
  if (!master) {
    throw new UserError(
      `secret "${name}" is sealed under master key ${sealed.keyId}, which is neither ${MASTER_KEY_ENV} (${keyring.current.id}) nor listed in ${PREVIOUS_MASTER_KEYS_ENV}`,
      {
        hint: `after rotating the master key, set ${PREVIOUS_MASTER_KEYS_ENV} to the old key until every secret is sealed again`,
      },
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(aad(name));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    throw new UserError(`secret "${name}" does not decrypt under master key ${master.id}: the row was altered, or that key is not the one it was sealed with`);
  }
}

type SecretRow = { name: string; key_id: string; iv: string; tag: string; ciphertext: string };
const sealedOf = (r: SecretRow): Sealed => ({ keyId: r.key_id, iv: r.iv, tag: r.tag, ciphertext: r.ciphertext });

/** A secret's plaintext, or null when there is none by that name. */
export async function readSecret(store: Store, keyring: Keyring, name: string): Promise<Buffer | null> {
  const row = await store.db.selectFrom('secrets').select(['name', 'key_id', 'iv', 'tag', 'ciphertext']).where('name', '=', name).executeTakeFirst();
  return row ? open(keyring, name, sealedOf(row)) : null;
}

/** Stores (or replaces) a secret, sealed under the current master key. */
export async function writeSecret(store: Store, keyring: Keyring, name: string, value: Buffer): Promise<void> {
  const s = seal(keyring, name, value);
  const now = new Date().toISOString();
  await store.db
    .insertInto('secrets')
    .values({ name, key_id: s.keyId, iv: s.iv, tag: s.tag, ciphertext: s.ciphertext, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ key_id: s.keyId, iv: s.iv, tag: s.tag, ciphertext: s.ciphertext, updated_at: now }))
    .execute();
}

/**
 * The secret by that name, created with `make()` when missing. Two processes racing to create it end up with the
 * same value: the insert does nothing when a row appeared meanwhile, and the stored row is read back.
 */
export async function ensureSecret(store: Store, keyring: Keyring, name: string, make: () => Buffer): Promise<{ value: Buffer; created: boolean }> {
  const existing = await readSecret(store, keyring, name);
  if (existing) return { value: existing, created: false };
  const s = seal(keyring, name, make());
  const now = new Date().toISOString();
  const inserted = await store.db
    .insertInto('secrets')
    .values({ name, key_id: s.keyId, iv: s.iv, tag: s.tag, ciphertext: s.ciphertext, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('name')
    .executeTakeFirst();
  const value = await readSecret(store, keyring, name);
  if (!value) throw new Error(`secret "${name}" vanished right after it was stored`);
  return { value, created: inserted !== undefined };
}

/**
 * Seals the secret again under the current master key when an older key sealed it; returns true when it did. The
 * update is conditional on the old key id, so a concurrent rewrap or replacement is never overwritten.
 */
export async function rewrapSecret(store: Store, keyring: Keyring, name: string): Promise<boolean> {
  const row = await store.db.selectFrom('secrets').select(['name', 'key_id', 'iv', 'tag', 'ciphertext']).where('name', '=', name).executeTakeFirst();
  if (!row || row.key_id === keyring.current.id) return false;
  const s = seal(keyring, name, open(keyring, name, sealedOf(row)));
  const result = await store.db
    .updateTable('secrets')
    .set({ key_id: s.keyId, iv: s.iv, tag: s.tag, ciphertext: s.ciphertext, updated_at: new Date().toISOString() })
    .where('name', '=', name)
    .where('key_id', '=', row.key_id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Which master key seals each secret (never the values), for status output. */
export async function listSecrets(store: Store): Promise<Array<{ name: string; keyId: string; createdAt: string; updatedAt: string }>> {
  const rows = await store.db.selectFrom('secrets').select(['name', 'key_id', 'created_at', 'updated_at']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, keyId: r.key_id, createdAt: r.created_at, updatedAt: r.updated_at }));
}
