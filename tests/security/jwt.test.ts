// JWT bearer tokens over real HTTP: oracx-issued (auth tokens issue, key sealed under ORACX_MASTER_KEY), a shared
// HS256 secret, and an OIDC provider's JWKS (RS256, ES256) served on 127.0.0.1; every way a token can be wrong gets
// 401 with WWW-Authenticate: Bearer error="invalid_token" and a problem document that says what is wrong.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { roleOf } from '../../src/server/auth/jwt-auth.js';
import { jwtAuthenticatorFrom } from '../../src/server/auth/jwt-config.js';
import { bearer, request, servableStore, startFixtureServer, type FixtureServer, type HttpAnswer, type ServableStore } from '../helpers/serve-fixture.js';

const ISSUER = 'https://login.example.test/';
const MASTER = randomBytes(32).toString('base64');
const SHARED = randomBytes(48).toString('base64url');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Provider {
  url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

/** A JWKS endpoint on 127.0.0.1 whose key set the test can change. */
async function jwksServer(): Promise<Provider> {
  const p: Provider = { url: '', keys: [], fetches: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    p.fetches++;
    res.writeHead(req.url === '/jwks.json' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: p.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  p.close = () => new Promise((resolve) => server.close(() => resolve()));
  return p;
}

async function sign(key: CryptoKey | Uint8Array, alg: string, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: 'oracx', sub: 'svc-1', iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg, typ: 'JWT', ...header })
    .sign(key);
}

describe('JWT bearer tokens', () => {
  let s: ServableStore;
  let f: FixtureServer;
  let provider: Provider;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  const secret = new TextEncoder().encode(SHARED);
  const env = { ORACX_MASTER_KEY: MASTER };
  const get = (path: string, token: string) => request(`${f.url}${path}`, { headers: bearer(token) });
  const issue = async (args: string[]) => {
    const r = await s.cli(['auth', 'tokens', 'issue', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const refused = (r: HttpAnswer, reason: string, detail: RegExp) => {
    expect(r.status, r.body).toBe(401);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="oracx", error="invalid_token", error_description="[^"]+"$/);
    const doc = r.json<{ reason: string; detail: string; status: number; code: string }>();
    expect(doc).toMatchObject({ status: 401, code: 'unauthenticated', reason });
    expect(doc.detail).toMatch(detail);
  };

  beforeAll(async () => {
    s = await servableStore();
    provider = await jwksServer();
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    provider.keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    f = await startFixtureServer(s, {
      authenticators: async (store) => {
        const jwt = await jwtAuthenticatorFrom(
          { jwksUrl: provider.url, jwtIssuer: ISSUER },
          {
            env: { ORACX_MASTER_KEY: MASTER, ORACX_JWT_SECRET: SHARED },
            cwd: s.dir,
            store,
            logger: silentLogger,
            timing: { jwks: { cooldownDuration: 0 }, ownKey: { reloadMs: 0, refreshMs: 0 } },
          },
        );
        return [new ApiKeyAuthenticator(store), jwt!];
      },
    });
  });
  afterAll(async () => {
    await f?.close();
    await provider?.close();
  });

  it('accepts tokens oracx issues, with their role, until the signing key is rotated', async () => {
    const viewer = await issue(['--sub', 'ana@example.com', '--role', 'viewer', '--ttl', '1h']);
    expect(viewer.split('.')).toHaveLength(3);
    expect((await get('/v1/models', viewer)).status).toBe(200);
    const denied = await get('/health/detailed', viewer);
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expect(denied.json()).toMatchObject({ reason: 'role', detail: expect.stringMatching(/viewer may not GET \/health\/detailed: it needs admin/) });
    const admin = await issue(['--sub', 'ops', '--role', 'admin', '--ttl', '15m', '--json']);
    const issued = JSON.parse(admin) as { token: string; iss: string; aud: string[]; oracx_role: string; exp: number; kid: string };
    expect(issued).toMatchObject({ iss: 'oracx', aud: ['oracx'], oracx_role: 'admin', sub: 'ops' });
    expect(issued.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(14 * 60);
    expect((await get('/health/detailed', issued.token)).status).toBe(200);

    const rotated = await s.cli(['auth', 'tokens', 'rotate-key', '--yes'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    refused(await get('/v1/models', viewer), 'token_unknown_key', /signed with oracx key oxs_[0-9a-f]{16}, which has been rotated out/);
    const fresh = await issue(['--sub', 'ana@example.com', '--role', 'viewer']);
    expect((await get('/v1/models', fresh)).status).toBe(200);
  });

  it('refuses expired, not-yet-valid and forged tokens, naming what is wrong', async () => {
    const now = Math.floor(Date.now() / 1000);
    refused(
      await get('/v1/models', await sign(secret, 'HS256', { oracx_role: 'viewer', exp: now - 3600 })),
      'token_expired',
      /the token expired at \d{4}-\d\d-\d\dT/,
    );
    refused(await get('/v1/models', await sign(secret, 'HS256', { oracx_role: 'viewer', nbf: now + 3600 })), 'token_not_yet_valid', /not valid before \d{4}-/);
    // Expired, but within the 30 s leeway for clock skew: accepted.
    expect((await get('/v1/models', await sign(secret, 'HS256', { oracx_role: 'viewer', exp: now - 5 }))).status).toBe(200);

    const other = new TextEncoder().encode(randomBytes(48).toString('hex'));
    refused(await get('/v1/models', await sign(other, 'HS256', { oracx_role: 'admin' })), 'token_bad_signature', /signature does not verify/);
    const good = await sign(secret, 'HS256', { oracx_role: 'viewer' });
    const [h, , sig] = good.split('.');
    const tampered = `${h}.${b64({ iss: ISSUER, aud: 'oracx', sub: 'svc-1', exp: now + 600, oracx_role: 'admin' })}.${sig}`;
    refused(await get('/health/detailed', tampered), 'token_bad_signature', /signature does not verify/);

    // alg "none", with or without a signature part; an algorithm the server does not take; RS/HS confusion.
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: 'oracx', sub: 'x', exp: now + 600, oracx_role: 'admin' })}.`;
    refused(await get('/health/detailed', unsigned), 'token_alg_refused', /alg "none"/);
    refused(await get('/health/detailed', unsigned.replace(/\.$/, '.AAAA')), 'token_alg_refused', /alg "none"/);
    refused(
      await get('/v1/models', await sign(secret, 'HS512', { oracx_role: 'viewer' })),
      'token_alg_refused',
      /HS512 are refused: this server accepts HS256, RS256, ES256/,
    );
    const publicPem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    refused(await get('/v1/models', await sign(publicPem, 'HS256', { oracx_role: 'admin' }, { kid: 'rsa-1' })), 'token_bad_signature', /does not verify/);

    refused(
      await get('/v1/models', await sign(secret, 'HS256', { oracx_role: 'viewer', iss: 'https://evil.example/' })),
      'token_wrong_issuer',
      /issuer "https:\/\/evil.example\/" is not "https:\/\/login.example.test\/"/,
    );
    refused(
      await get('/v1/models', await sign(secret, 'HS256', { oracx_role: 'viewer', aud: 'someone-else' })),
      'token_wrong_audience',
      /audience "someone-else" is not "oracx"/,
    );
    refused(
      await get(
        '/v1/models',
        await new SignJWT({ iss: ISSUER, aud: 'oracx', sub: 'x', oracx_role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).sign(secret),
      ),
      'token_missing_claim',
      /no exp claim/,
    );
    refused(await get('/v1/models', 'eyJhbGciOiJIUzI1NiJ9.not-json.sig'), 'token_malformed', /not a well-formed JWT/);
    // oracx's own key with the wrong issuer (and a token for another audience).
    const { loadSigningKey } = await import('../../src/auth/tokens.js');
    const { keyringFromEnv } = await import('../../src/auth/secrets.js');
    const own = (await loadSigningKey(f.store, keyringFromEnv({ ORACX_MASTER_KEY: MASTER })!))!;
    refused(
      await get('/v1/models', await sign(own.key, 'HS256', { iss: 'oracx', aud: 'other', oracx_role: 'viewer' }, { kid: own.kid })),
      'token_wrong_audience',
      /audience "other"/,
    );
  });

  it('verifies RS256 and ES256 tokens against the JWKS, with the role from roles or scope, and follows key rotation', async () => {
    const rs = await sign(rsa.privateKey, 'RS256', { roles: ['offline_access', 'oracx:predictor'] }, { kid: 'rsa-1' });
    expect((await get('/v1/models', rs)).status).toBe(200);
    expect((await get('/health/detailed', rs)).status).toBe(403);
    const es = await sign(ec.privateKey, 'ES256', { scope: 'openid profile oracx:admin' }, { kid: 'ec-1' });
    expect((await get('/health/detailed', es)).status).toBe(200);
    const noRole = await get('/v1/models', await sign(ec.privateKey, 'ES256', { scope: 'openid' }, { kid: 'ec-1' }));
    expect(noRole.status).toBe(403);
    expect(noRole.json()).toMatchObject({ reason: 'token_no_role' });
    expect(noRole.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);

    // A key the JWKS does not list (yet): refused; once the provider publishes it, accepted (jose fetches again).
    const next = await generateKeyPair('RS256');
    const token = await sign(next.privateKey, 'RS256', { oracx_role: 'viewer' }, { kid: 'rsa-2' });
    refused(await get('/v1/models', token), 'token_unknown_key', /no key of the JWKS matches the token \(kid "rsa-2"\)/);
    provider.keys = [...provider.keys, { ...(await exportJWK(next.publicKey)), kid: 'rsa-2', alg: 'RS256', use: 'sig' }];
    expect((await get('/v1/models', token)).status).toBe(200);
    // A token signed by the ES256 key but labelled RS256 with the EC key's kid.
    refused(await get('/v1/models', await sign(rsa.privateKey, 'RS256', { oracx_role: 'viewer' }, { kid: 'ec-1' })), 'token_unknown_key', /no key of the JWKS/);
  });

  it('answers 503 with Retry-After, not 401, while the JWKS cannot be fetched', async () => {
    const down = await jwksServer();
    await down.close();
    const g = await startFixtureServer(s, {
      authenticators: async (store) => [
        (await jwtAuthenticatorFrom(
          { jwksUrl: down.url, jwtIssuer: ISSUER },
          { env: {}, cwd: s.dir, store, logger: silentLogger, timing: { jwks: { timeoutDuration: 1000 } } },
        ))!,
      ],
    });
    try {
      const r = await request(`${g.url}/v1/models`, { headers: bearer(await sign(rsa.privateKey, 'RS256', { oracx_role: 'viewer' }, { kid: 'rsa-1' })) });
      expect(r.status, r.body).toBe(503);
      expect(r.headers['retry-after']).toBe('30');
      expect(r.json()).toMatchObject({ code: 'auth_unavailable', reason: 'jwks_unavailable' });
    } finally {
      await g.close();
    }
  });
});

describe('roleOf: the role a token grants', () => {
  it('reads the configured claim (a dotted path too), else roles, else scope/scp; the strongest recognised value wins', () => {
    expect(roleOf({ oracx_role: 'predictor' }, 'oracx_role')).toBe('predictor');
    expect(roleOf({ oracx_role: ['viewer', 'admin'] }, 'oracx_role')).toBe('admin');
    expect(roleOf({ realm_access: { roles: ['uma_authorization', 'oracx.predictor'] } }, 'realm_access.roles')).toBe('predictor');
    expect(roleOf({ roles: ['viewer'] }, 'oracx_role')).toBe('viewer');
    expect(roleOf({ scope: 'openid oracx:viewer oracx:predictor' }, 'oracx_role')).toBe('predictor');
    expect(roleOf({ scp: ['oracx:admin'] }, 'oracx_role')).toBe('admin');
    // The named claim decides when present, even if it grants nothing.
    expect(roleOf({ oracx_role: 'superuser', roles: ['admin'] }, 'oracx_role')).toBeNull();
    expect(roleOf({ scope: 'openid email' }, 'oracx_role')).toBeNull();
    expect(roleOf({ oracx_role: 42 }, 'oracx_role')).toBeNull();
    expect(roleOf({ scope: 'administrator oracx:adminx' }, 'oracx_role')).toBeNull();
  });
});

describe('JWT settings of oracx serve', () => {
  const store = {} as never;
  const setup = (env: Record<string, string> = {}) => ({ env, cwd: '/', store, logger: silentLogger });
  it('refuses unsafe or incomplete settings with errors that name the fix', async () => {
    await expect(jwtAuthenticatorFrom({ jwksUrl: 'http://login.example.com/jwks', jwtIssuer: 'x' }, setup())).rejects.toThrow(/--jwks-url must be https/);
    await expect(jwtAuthenticatorFrom({ jwksUrl: 'https://login.example.com/jwks' }, setup())).rejects.toThrow(/--jwks-url needs --jwt-issuer/);
    await expect(jwtAuthenticatorFrom({ jwtIssuer: 'x' }, setup())).rejects.toThrow(/--jwt-issuer needs --jwks-url or a shared secret/);
    await expect(jwtAuthenticatorFrom({}, setup({ ORACX_JWT_SECRET: 'short' }))).rejects.toThrow(/5 bytes; HS256 needs at least 32/);
    await expect(jwtAuthenticatorFrom({ jwtSecretFile: '/nonexistent/secret' }, setup())).rejects.toThrow(
      /cannot read --jwt-secret-file \/nonexistent\/secret: ENOENT/,
    );
    await expect(jwtAuthenticatorFrom({ jwtSecretFile: '/x' }, setup({ ORACX_JWT_SECRET: SHARED }))).rejects.toThrow(
      /both ORACX_JWT_SECRET and --jwt-secret-file/,
    );
    await expect(jwtAuthenticatorFrom({}, setup({ ORACX_MASTER_KEY: 'not-a-key' }))).rejects.toThrow(/ORACX_MASTER_KEY must be 32 random bytes/);
    await expect(jwtAuthenticatorFrom({ jwtAudience: ['a'] }, setup())).rejects.toThrow(/need a way to verify tokens/);
    expect(await jwtAuthenticatorFrom({}, setup())).toBeNull();
    const jwt = await jwtAuthenticatorFrom({ jwtRoleClaim: 'realm_access.roles', jwtAudience: ['api'] }, setup({ ORACX_JWT_SECRET: SHARED }));
    expect(jwt?.describe()).toBe('shared secret (HS256); audience api; role claim realm_access.roles');
    expect(jwt?.describe()).not.toContain(SHARED);
  });

  it('reads a shared secret from a file (one trailing newline dropped) and warns when others may read it', async () => {
    const { chmodSync, writeFileSync } = await import('node:fs');
    const { tempDir } = await import('../helpers/stores.js');
    const file = `${tempDir()}/jwt-secret`;
    writeFileSync(file, `${SHARED}\n`);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const jwt = await jwtAuthenticatorFrom({ jwtSecretFile: file }, { ...setup(), logger });
    expect(warnings).toEqual([expect.stringMatching(/jwt-secret is readable by other users \(mode 644\); chmod 600 it/)]);
    const token = await sign(new TextEncoder().encode(SHARED), 'HS256', { iss: 'anyone', oracx_role: 'viewer' });
    expect(await jwt!.authenticate(token)).toMatchObject({ ok: true, principal: { id: 'jwt:anyone|svc-1', role: 'viewer', kind: 'jwt' } });
    chmodSync(file, 0o600);
    warnings.length = 0;
    await jwtAuthenticatorFrom({ jwtSecretFile: file }, { ...setup(), logger });
    expect(warnings).toEqual([]);
  });
});
