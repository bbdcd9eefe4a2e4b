// Secrets sealed with AES-256-GCM under the master key, on SQLite and PostgreSQL: round trip, tamper detection,
// master key rotation (old rows still open, then are sealed again), concurrent creation, clear errors.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureSecret,
  keyringFromEnv,
  masterKeyId,
  open,
  parseMasterKey,
  readSecret,
  rewrapSecret,
  seal,
  writeSecret,
  type Keyring,
} from '../../src/auth/secrets.js';
import { ensureSigningKey, loadSigningKey, rotateSigningKey } from '../../src/auth/tokens.js';
import type { Store } from '../../src/store/connect.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';

const ring = (current: Buffer, ...previous: Buffer[]): Keyring => ({
  current: { id: masterKeyId(current), key: current },
  previous: previous.map((key) => ({ id: masterKeyId(key), key })),
});

describe('master keys', () => {
  it('reads 32 bytes as base64, base64url or hex, and never echoes a bad value', () => {
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('base64url'), key.toString('hex'), ` ${key.toString('hex').toUpperCase()}\n`]) {
      expect(parseMasterKey(text).key.equals(key)).toBe(true);
    }
    const bad = randomBytes(16).toString('base64');
    expect(() => parseMasterKey(bad)).toThrow(
      /ORACX_MASTER_KEY must be 32 random bytes written as base64 \(44 characters\) or hex \(64 characters\); it has 24 characters/,
    );
    try {
      parseMasterKey(bad);
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(bad);
      expect((error as { hint?: string }).hint).toMatch(/openssl rand -base64 32/);
    }
    expect(() => parseMasterKey('zz'.repeat(32))).toThrow(/64 characters/);
    expect(keyringFromEnv({})).toBeNull();
    expect(() => keyringFromEnv({ ORACX_MASTER_KEY: key.toString('hex'), ORACX_MASTER_KEY_PREVIOUS: 'nope' })).toThrow(/ORACX_MASTER_KEY_PREVIOUS \(entry 1\)/);
    expect(masterKeyId(key)).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(masterKeyId(key)).not.toContain(key.toString('hex').slice(0, 16));
  });

  it('seals with a fresh IV, detects tampering, and binds a ciphertext to its name', () => {
    const k = ring(randomBytes(32));
    const value = Buffer.from('the value');
    const a = seal(k, 'n', value);
    const b = seal(k, 'n', value);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(open(k, 'n', a).equals(value)).toBe(true);
    const flipped = Buffer.from(a.ciphertext, 'base64');
    flipped[0]! ^= 1;
    expect(() => open(k, 'n', { ...a, ciphertext: flipped.toString('base64') })).toThrow(/does not decrypt under master key mk_/);
    expect(() => open(k, 'other', a)).toThrow(/does not decrypt/);
    expect(() => open(ring(randomBytes(32)), 'n', a)).toThrow(
      /sealed under master key mk_[0-9a-f]{16}, which is neither ORACX_MASTER_KEY \(mk_[0-9a-f]{16}\) nor listed in ORACX_MASTER_KEY_PREVIOUS/,
    );
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`secrets table on ${dialect.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await freshStore(dialect);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('stores only ciphertext, and opens rows sealed under a rotated master key until they are sealed again', async () => {
      const old = randomBytes(32);
      const value = randomBytes(32);
      await writeSecret(store, ring(old), 'a', value);
      const row = await store.db.selectFrom('secrets').selectAll().where('name', '=', 'a').executeTakeFirstOrThrow();
      expect(row.key_id).toBe(masterKeyId(old));
      expect(JSON.stringify(row)).not.toContain(value.toString('base64'));
      expect(JSON.stringify(row)).not.toContain(value.toString('hex'));

      const fresh = randomBytes(32);
      await expect(readSecret(store, ring(fresh), 'a')).rejects.toThrow(/neither ORACX_MASTER_KEY/);
      const rotated = ring(fresh, old);
      expect((await readSecret(store, rotated, 'a'))!.equals(value)).toBe(true);
      expect(await rewrapSecret(store, rotated, 'a')).toBe(true);
      expect(await rewrapSecret(store, rotated, 'a')).toBe(false);
      expect((await readSecret(store, ring(fresh), 'a'))!.equals(value)).toBe(true);
      expect((await store.db.selectFrom('secrets').select('key_id').where('name', '=', 'a').executeTakeFirstOrThrow()).key_id).toBe(masterKeyId(fresh));
      expect(await readSecret(store, rotated, 'missing')).toBeNull();
    });

    it('creates a secret once when several callers race for it', async () => {
      const k = ring(randomBytes(32));
      const results = await Promise.all(Array.from({ length: 8 }, () => ensureSecret(store, k, 'race', () => randomBytes(32))));
      expect(new Set(results.map((r) => r.value.toString('hex'))).size).toBe(1);
      expect(results.filter((r) => r.created).length).toBeLessThanOrEqual(1);
    });

    it('keeps the token signing key: made once, same kid until rotated', async () => {
      const k = ring(randomBytes(32));
      const first = await ensureSigningKey(store, k);
      expect(first.created).toBe(true);
      expect(first.kid).toMatch(/^oxs_[0-9a-f]{16}$/);
      const again = await ensureSigningKey(store, k);
      expect(again).toMatchObject({ kid: first.kid, created: false });
      const rotated = await rotateSigningKey(store, k);
      expect(rotated.previous).toBe(first.kid);
      expect((await loadSigningKey(store, k))!.kid).toBe(rotated.kid);
      expect(rotated.kid).not.toBe(first.kid);
    });
  });
}
