// The security audit: refused requests coalesced per address/reason/second and capped, written off the request path;
// admin calls; last_used_at at most once a minute per key; admin CLI actions; `oracx auth audit`; and no secret or
// token ever in a log line or an audit row.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.js';
import { listSecurityEvents, type StoredSecurityEvent } from '../../src/auth/audit.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { jwtAuthenticatorFrom } from '../../src/server/auth/jwt-config.js';
import { SecurityAuditSink, type FailureReport } from '../../src/server/security/audit-sink.js';
import type { Store } from '../../src/store/connect.js';
import { bearer, keysByRole, request, servableStore, startFixtureServer, type ServableStore } from '../helpers/serve-fixture.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';

const failure = (ip: string, reason = 'key_unknown'): FailureReport => ({
  status: 401,
  reason,
  detail: 'API key is unknown',
  ip,
  requestId: `req-${ip}`,
  method: 'GET',
  route: '/v1/models',
  principalId: null,
  presented: { kind: 'api-key', prefix: 'AbCdEfGh' },
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`SecurityAuditSink on ${dialect.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await freshStore(dialect);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('coalesces a flood per address, reason and second, caps distinct pairs, and keeps the time of the first', async () => {
      let now = Date.parse('2025-03-01T10:00:00.100Z');
      const sink = new SecurityAuditSink(store, {
        intervalMs: 3_600_000,
        maxGroupsPerSecond: 5,
        maxQueued: 100,
        touchEveryMs: 60_000,
        logger: silentLogger,
        now: () => now,
      });
      for (let i = 0; i < 1000; i++) sink.failure(failure('10.0.0.1'));
      for (let i = 0; i < 10; i++) sink.failure(failure('10.0.0.1', 'token_expired'));
      for (let i = 0; i < 20; i++) sink.failure(failure(`10.0.1.${i}`));
      // The current second is still open: a periodic flush leaves it pending.
      await sink.flush(false);
      expect(await listSecurityEvents(store, { limit: 1000 })).toEqual([]);
      now += 1000;
      for (let i = 0; i < 3; i++) sink.failure(failure('10.0.0.1'));
      await sink.flush(false);
      const first = await listSecurityEvents(store, { limit: 1000 });
      // 5 pairs kept for the first second (the cap), one row saying how many more were dropped.
      expect(first).toHaveLength(6);
      const flood = first.find((e) => e.ip === '10.0.0.1' && e.details.reason === 'key_unknown')!;
      expect(flood).toMatchObject({
        actor: 'anonymous',
        action: 'auth.failure',
        target: 'GET /v1/models',
        outcome: 'failed',
        createdAt: '2025-03-01T10:00:00.100Z',
        requestId: 'req-10.0.0.1',
      });
      expect(flood.details).toMatchObject({ count: 1000, status: 401, presented: { kind: 'api-key', prefix: 'AbCdEfGh' } });
      expect(first.find((e) => e.details.reason === 'token_expired')!.details.count).toBe(10);
      expect(first.find((e) => e.action === 'auth.failure.dropped')!.details.count).toBe(20 - 3);
      await sink.close();
      const all = await listSecurityEvents(store, { limit: 1000 });
      expect(all).toHaveLength(7);
      expect(all[0]!.details.count).toBe(3);
      expect(sink.stats).toMatchObject({ failures: 1033, rows: 7, dropped: 17, writeErrors: 0 });
    });

    it('writes last_used_at at most once per interval per key', async () => {
      const { key: _key, info } = await createApiKey(store, { name: 'touch', role: 'viewer', createdBy: 'test' });
      let now = Date.parse('2025-03-01T11:00:00Z');
      const sink = new SecurityAuditSink(store, {
        intervalMs: 3_600_000,
        maxGroupsPerSecond: 5,
        maxQueued: 100,
        touchEveryMs: 60_000,
        logger: silentLogger,
        now: () => now,
      });
      for (let i = 0; i < 500; i++) sink.keyUsed(info.id);
      await sink.flush();
      now += 30_000;
      sink.keyUsed(info.id);
      await sink.flush();
      const lastUsed = async () =>
        (await store.db.selectFrom('api_keys').select('last_used_at').where('id', '=', info.id).executeTakeFirstOrThrow()).last_used_at;
      expect(await lastUsed()).toBe('2025-03-01T11:00:00.000Z');
      now += 31_000;
      sink.keyUsed(info.id);
      await sink.close();
      expect(await lastUsed()).toBe('2025-03-01T11:01:01.000Z');
      expect(sink.stats.touches).toBe(2);
    });
  });
}

describe('SecurityAuditSink when the store fails', () => {
  it('drops the batch with a warning instead of throwing', async () => {
    const store = await freshStore(DIALECTS[0]!);
    await store.close();
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const sink = new SecurityAuditSink(store, { intervalMs: 3_600_000, maxGroupsPerSecond: 5, maxQueued: 100, touchEveryMs: 60_000, logger });
    sink.failure(failure('10.0.0.9'));
    await expect(sink.close()).resolves.toBeUndefined();
    expect(sink.stats.writeErrors).toBe(1);
    expect(warnings[0]).toMatch(/could not write 1 security audit event\(s\): .*; dropped/);
  });
});

describe('the audit of a running server and of the CLI', () => {
  const MASTER = randomBytes(32).toString('base64');
  const SHARED = randomBytes(48).toString('base64url');
  let s: ServableStore;
  const secrets: string[] = [MASTER, SHARED];

  beforeAll(async () => {
    s = await servableStore();
  });

  it('records refused requests in a few coalesced rows once the response is sent, admin calls, and when keys were used', async () => {
    const f = await startFixtureServer(s, {
      authenticators: async (store) => [
        new ApiKeyAuthenticator(store),
        (await jwtAuthenticatorFrom({}, { env: { ORACX_JWT_SECRET: SHARED }, cwd: s.dir, store, logger: silentLogger }))!,
      ],
      // Written only at close: nothing is inserted while requests are answered.
      app: { security: { audit: { intervalMs: 3_600_000 } } },
    });
    const keys = await keysByRole(f.store, 'ana@example.com');
    secrets.push(...Object.values(keys));
    const revoked = await createApiKey(f.store, { name: 'old', role: 'admin', createdBy: 'test' });
    secrets.push(revoked.key);
    await f.store.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', revoked.info.id)
      .execute();
    const forged = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'mallory', iss: 'https://idp.example/', exp: 9999999999, aud: 'oracx' })).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    secrets.push(forged);

    const started = Date.now();
    const bad = Array.from({ length: 300 }, () => `oxk_ZZZZZZZZ_${randomBytes(32).toString('base64url')}`);
    for (let i = 0; i < bad.length; i += 25) {
      const answers = await Promise.all(bad.slice(i, i + 25).map((k) => request(`${f.url}/v1/models`, { headers: bearer(k) })));
      expect(answers.every((a) => a.status === 401)).toBe(true);
    }
    const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
    expect((await request(`${f.url}/v1/models`, { headers: bearer(revoked.key) })).status).toBe(401);
    expect((await request(`${f.url}/v1/models`, { headers: bearer(forged) })).status).toBe(401);
    expect((await request(`${f.url}/health/detailed`, { headers: bearer(keys.viewer) })).status).toBe(403);
    expect((await request(`${f.url}/health/detailed`, { headers: bearer(keys.admin) })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await request(`${f.url}/v1/models`, { headers: bearer(keys.viewer) })).status).toBe(200);
    expect(await listSecurityEvents(f.store)).toEqual([]);
    await f.close();

    const { openStore } = await import('../../src/store/connect.js');
    const store = await openStore(s.location);
    try {
      const events = await listSecurityEvents(store, { limit: 1000 });
      const unknown = events.filter((e) => e.details.reason === 'key_unknown');
      expect(unknown.length).toBeLessThanOrEqual(seconds);
      expect(unknown.reduce((n, e) => n + (e.details.count as number), 0)).toBe(300);
      expect(unknown[0]).toMatchObject({
        actor: 'anonymous',
        ip: '127.0.0.1',
        target: 'GET /v1/models',
        details: { presented: { kind: 'api-key', prefix: 'ZZZZZZZZ' } },
      });
      expect(unknown[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
      const byReason = (reason: string) => events.find((e) => e.details.reason === reason) as StoredSecurityEvent;
      expect(byReason('key_revoked')).toMatchObject({
        actor: `key:${revoked.info.id}`,
        details: { presented: { kind: 'api-key', prefix: revoked.info.prefix, keyId: revoked.info.id }, count: 1 },
      });
      expect(byReason('token_bad_signature')).toMatchObject({
        actor: 'jwt:https://idp.example/|mallory',
        details: { presented: { kind: 'jwt', sub: 'mallory', iss: 'https://idp.example/', alg: 'HS256' } },
      });
      const viewerId = (await store.db.selectFrom('api_keys').select('id').where('name', '=', 'test-viewer').executeTakeFirstOrThrow()).id;
      const adminId = (await store.db.selectFrom('api_keys').select('id').where('name', '=', 'test-admin').executeTakeFirstOrThrow()).id;
      expect(byReason('role')).toMatchObject({ actor: `key:${viewerId}`, action: 'auth.denied', outcome: 'denied', target: 'GET /health/detailed' });
      expect(events.filter((e) => e.action === 'http.admin')).toEqual([
        expect.objectContaining({ actor: `key:${adminId}`, target: 'GET /health/detailed', outcome: 'ok', ip: '127.0.0.1', details: { status: 200 } }),
      ]);
      const used = await store.db.selectFrom('api_keys').select(['name', 'last_used_at']).execute();
      expect(used.find((k) => k.name === 'test-viewer')!.last_used_at).not.toBeNull();
      expect(used.find((k) => k.name === 'test-predictor')!.last_used_at).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('records admin CLI actions and shows them with oracx auth audit', async () => {
    const env = { ORACX_MASTER_KEY: MASTER, ORACX_ACTOR: 'ops@example.com' };
    const created = await s.cli(['auth', 'keys', 'create', '--role', 'predictor', '--name', 'ci', '--owner', 'bob@example.com', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const key = created.json<{ key: string; id: number }>();
    secrets.push(key.key);
    const rotated = await s.cli(['auth', 'keys', 'rotate', String(key.id), '--json'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    secrets.push(rotated.json<{ key: string }>().key);
    expect((await s.cli(['auth', 'keys', 'revoke', 'ci'], env)).code).toBe(0);
    const token = await s.cli(['auth', 'tokens', 'issue', '--sub', 'bob@example.com', '--role', 'viewer', '--ttl', '10m'], env);
    expect(token.code, token.stderr).toBe(0);
    secrets.push(token.stdout.trim());
    expect((await s.cli(['auth', 'users', 'export', 'bob@example.com'], env)).code).toBe(0);

    const mine = await s.cli(['auth', 'audit', '--actor', 'cli:ops@example.com', '--json'], env);
    expect(mine.code, mine.stderr).toBe(0);
    const actions = mine.json<{ events: StoredSecurityEvent[] }>().events.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual([
      'user.export user:bob@example.com',
      `token.issue jwt:oracx|bob@example.com`,
      expect.stringMatching(/^token\.signing-key\.create secret:jwt-signing-key$/),
      `api-key.revoke key:${key.id + 1}`,
      `api-key.rotate key:${key.id}`,
      `api-key.create key:${key.id}`,
    ]);
    const limited = await s.cli(['auth', 'audit', '--action', 'auth.failure', '--limit', '2', '--json']);
    expect(limited.json<{ events: StoredSecurityEvent[] }>().events).toHaveLength(2);
    const table = await s.cli(['auth', 'audit', '--limit', '3']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/user\.export.*user:bob@example\.com/);
    const since = await s.cli(['auth', 'audit', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since <when>.* argument 'yesterday' is invalid\. expected an existing ISO date or date-time/);
    const none = await s.cli(['auth', 'audit', '--actor', 'nobody', '--json']);
    expect(none.json()).toEqual({ events: [] });
  });

  it('never writes a key, token or secret to a log line or an audit row', async () => {
    // Every CLI run above and the server's JSON log at debug level, with the access log on.
    const f = await startFixtureServer(s, {
      authenticators: async (store) => [
        new ApiKeyAuthenticator(store),
        (await jwtAuthenticatorFrom({}, { env: { ORACX_JWT_SECRET: SHARED, ORACX_MASTER_KEY: MASTER }, cwd: s.dir, store, logger: silentLogger }))!,
      ],
    });
    const logs: string[] = [];
    try {
      for (const secret of secrets) {
        await request(`${f.url}/v1/models`, { headers: bearer(secret) });
        await request(`${f.url}/v1/predict`, { method: 'POST', headers: { 'x-api-key': secret }, body: '{"matchId": 1}' });
      }
      const verbose = await s.cli(['-v', 'auth', 'tokens', 'issue', '--sub', 'carol', '--role', 'admin'], {
        ORACX_MASTER_KEY: MASTER,
        ORACX_LOG_FORMAT: 'json',
      });
      expect(verbose.code).toBe(0);
      secrets.push(verbose.stdout.trim());
      logs.push(verbose.stderr);
      const key = await s.cli(['-v', 'auth', 'keys', 'create', '--role', 'admin', '--name', 'x']);
      secrets.push(key.stdout.trim());
      logs.push(key.stderr);
    } finally {
      await f.close();
    }
    logs.push(f.logs.text);
    expect(f.logs.text).toMatch(/"message":"request"/);
    const { openStore } = await import('../../src/store/connect.js');
    const store = await openStore(s.location);
    const rows = JSON.stringify(await store.db.selectFrom('security_audit').selectAll().execute());
    await store.close();
    const masterHex = Buffer.from(MASTER, 'base64').toString('hex');
    for (const secret of [...secrets, masterHex]) {
      expect(secret.length).toBeGreaterThan(30);
      // The secret part of a key, the signature of a token: any of it showing would be a leak.
      const tail = secret.slice(-24);
      for (const text of [...logs, rows]) expect(text.includes(tail), `leaked …${tail.slice(-6)}`).toBe(false);
    }
  });
});
