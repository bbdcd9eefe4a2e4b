// Security headers (helmet), the docs page's CSP (its assets still load), CORS for an allow-list, and TLS: versions
// negotiated and refused, HSTS only under TLS, bad certificate files as clear CLI errors.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  keysByRole,
  request,
  servableStore,
  startFixtureServer,
  type FixtureServer,
  type HttpAnswer,
  type ServableStore,
} from '../helpers/serve-fixture.js';
import { tempDir } from '../helpers/stores.js';

const ORIGIN = 'https://app.example.test';
const API_CSP = "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'";

const corsHeaders = (r: HttpAnswer) => Object.keys(r.headers).filter((h) => h.startsWith('access-control-'));

/** A self-signed certificate for 127.0.0.1 (and a second key that does not match it). */
function selfSigned(dir: string): { cert: string; key: string; otherKey: string; garbage: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const otherKey = path.join(dir, 'other-key.pem');
  const garbage = path.join(dir, 'garbage.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey], { stdio: 'ignore' });
  writeFileSync(garbage, 'not a certificate\n');
  return { cert, key, otherKey, garbage };
}

/** Opens a TLS connection with the client limited to [min, max]; resolves the protocol or the error code. */
function handshake(port: number, ca: string, min: tls.SecureVersion, max: tls.SecureVersion): Promise<{ protocol: string | null; error: string | null }> {
  return new Promise((resolve) => {
    // TLS 1.0/1.1 need the client's security level lowered, or OpenSSL 3 would not even offer them.
    const socket = tls.connect(
      { host: '127.0.0.1', port, ca, minVersion: min, maxVersion: max, ...(max === 'TLSv1.1' ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}) },
      () => {
        const protocol = socket.getProtocol();
        socket.end();
        resolve({ protocol, error: null });
      },
    );
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ protocol: null, error: `${error.code ?? ''} ${error.message}` }));
  });
}

describe('security headers, CORS and TLS', () => {
  let s: ServableStore;
  let f: FixtureServer;
  let keys: Record<string, string>;
  let dir: string;
  let certs: ReturnType<typeof selfSigned>;

  beforeAll(async () => {
    s = await servableStore();
    dir = tempDir();
    certs = selfSigned(dir);
    f = await startFixtureServer(s, { app: { security: { cors: [ORIGIN, 'http://localhost:5173'] } } });
    keys = await keysByRole(f.store);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('sends an API CSP and the other helmet headers on every answer, refusals included, and no HSTS without TLS', async () => {
    for (const r of [
      await request(`${f.url}/v1/models`, { headers: bearer(keys.viewer!) }),
      await request(`${f.url}/v1/models`),
      await request(`${f.url}/health/live`),
    ]) {
      expect(r.headers['content-security-policy']).toBe(API_CSP);
      expect(r.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
      });
      expect(r.headers['strict-transport-security']).toBeUndefined();
      expect(r.headers['x-powered-by']).toBeUndefined();
    }
    expect((await request(`${f.url}/v1/models`, { headers: bearer(keys.viewer!) })).headers['cache-control']).toBe('no-store');
  });

  it('serves Swagger UI with a CSP its page works under: every asset it references loads from the same origin', async () => {
    for (const page of ['/docs', '/docs/']) {
      const r = await request(`${f.url}${page}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).not.toContain('upgrade-insecure-requests');
      // Nothing inline that script-src/style-src 'self' would block.
      expect(r.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(r.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      const assets = [...r.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThanOrEqual(6);
      for (const asset of assets) {
        const url = new URL(asset, `${f.url}${page}`);
        expect(url.origin, asset).toBe(new URL(f.url).origin);
        const a = await request(url.href);
        expect(a.status, `${asset}: ${a.body.slice(0, 100)}`).toBe(200);
        expect(a.headers['content-type']).toMatch(asset.endsWith('.js') ? /javascript/ : asset.endsWith('.css') ? /text\/css/ : /image\/png/);
        expect(a.headers['content-security-policy']).toBe(csp);
      }
    }
    // The initializer loads the document the page shows, from the same origin.
    const init = await request(`${f.url}/docs/static/swagger-initializer.js`);
    const spec = /url: '([^']+)'/.exec(init.body)?.[1] ?? './json';
    expect(spec.startsWith('http')).toBe(false);
    const doc = await request(new URL(spec, `${f.url}/docs/`).href);
    expect(doc.status).toBe(200);
    expect(doc.json<{ openapi: string }>().openapi).toBe('3.1.0');
  });

  it('answers CORS for listed origins only: no CORS headers at all for others', async () => {
    const allowed = await request(`${f.url}/v1/models`, { headers: { ...bearer(keys.viewer!), origin: ORIGIN } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(allowed.headers['access-control-expose-headers']).toMatch(/X-Request-Id/);
    expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(allowed.headers.vary)).toMatch(/Origin/i);
    // A refusal still carries the header, so the page can read the problem document.
    expect((await request(`${f.url}/v1/models`, { headers: { origin: ORIGIN } })).headers['access-control-allow-origin']).toBe(ORIGIN);

    for (const origin of ['https://evil.example', 'https://app.example.test.evil.example', 'http://app.example.test', 'null']) {
      const other = await request(`${f.url}/v1/models`, { headers: { ...bearer(keys.viewer!), origin } });
      expect(other.status).toBe(200);
      expect(corsHeaders(other), origin).toEqual([]);
    }

    const preflight = await request(`${f.url}/v1/predict`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'http://localhost:5173',
      'access-control-allow-methods': 'GET, HEAD, POST',
      'access-control-max-age': '600',
    });
    expect(preflight.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, X-API-Key, X-Request-Id');

    const refused = await request(`${f.url}/v1/predict`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(refused.status).toBe(404);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(corsHeaders(refused)).toEqual([]);
  });

  it('sends no CORS headers at all without --cors', async () => {
    const g = await startFixtureServer(s);
    try {
      const r = await request(`${g.url}/v1/models`, { headers: { ...bearer(keys.viewer!), origin: ORIGIN } });
      expect(r.status).toBe(200);
      expect(corsHeaders(r)).toEqual([]);
      const preflight = await request(`${g.url}/v1/models`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } });
      expect(preflight.status).toBe(401);
      expect(corsHeaders(preflight)).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it('speaks TLS 1.3 to a 1.3 client and 1.2 to a 1.2 client, refuses TLS 1.1, and sends HSTS only then', async () => {
    const g = await startFixtureServer(s, { tls: { cert: certs.cert, key: certs.key } });
    try {
      expect(g.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { readFileSync } = await import('node:fs');
      const ca = readFileSync(certs.cert, 'utf8');
      const port = g.server.port;
      expect(await handshake(port, ca, 'TLSv1.2', 'TLSv1.3')).toEqual({ protocol: 'TLSv1.3', error: null });
      expect(await handshake(port, ca, 'TLSv1.2', 'TLSv1.2')).toEqual({ protocol: 'TLSv1.2', error: null });
      const old = await handshake(port, ca, 'TLSv1', 'TLSv1.1');
      expect(old.protocol).toBeNull();
      // The server answers the 1.1 ClientHello with a protocol_version alert.
      expect(old.error).toMatch(/ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION/);

      const r = await request(`${g.url}/v1/models`, { headers: bearer(keys.viewer!), ca });
      expect(r.status).toBe(200);
      expect(r.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const docs = await request(`${g.url}/docs/`, { ca });
      expect(docs.headers['content-security-policy']).toMatch(/upgrade-insecure-requests$/);
    } finally {
      await g.close();
    }
  });

  it('stops oracx serve with exit 1 and a clear message when the certificate or key cannot be used', async () => {
    const serve = (cert: string, key: string) => s.cli(['serve', '--model', 'oracx-e0@champion', '--port', '0', '--tls-cert', cert, '--tls-key', key]);
    const missing = await serve(path.join(dir, 'missing.pem'), certs.key);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/oracx: cannot read the TLS certificate .*missing\.pem: ENOENT/);
    const garbage = await serve(certs.garbage, certs.key);
    expect(garbage.code, garbage.stderr).toBe(1);
    expect(garbage.stderr).toMatch(/oracx: cannot use the TLS certificate .*garbage\.pem with the key .*key\.pem: .* — both must be PEM files/);
    const mismatch = await serve(certs.cert, certs.otherKey);
    expect(mismatch.code, mismatch.stderr).toBe(1);
    expect(mismatch.stderr).toMatch(/oracx: the TLS key .*other-key\.pem does not belong to the certificate .*cert\.pem/);
  });

  it('refuses bad --cors origins and JWT settings as usage errors', async () => {
    const cors = await s.cli(['serve', '--model', 'oracx-e0@champion', '--cors', 'https://app.example.com/path']);
    expect(cors.code).toBe(2);
    expect(cors.stderr).toMatch(/"https:\/\/app.example.com\/path" is not an origin: write scheme:\/\/host\[:port\]/);
    const star = await s.cli(['serve', '--model', 'oracx-e0@champion', '--cors', '*']);
    expect(star.code).toBe(2);
    const jwks = await s.cli(['serve', '--model', 'oracx-e0@champion', '--jwks-url', 'http://login.example.com/jwks', '--jwt-issuer', 'x']);
    expect(jwks.code, jwks.stderr).toBe(2);
    expect(jwks.stderr).toMatch(/--jwks-url must be https/);
    const master = await s.cli(['serve', '--model', 'oracx-e0@champion'], { ORACX_MASTER_KEY: 'short' });
    expect(master.code, master.stderr).toBe(1);
    expect(master.stderr).toMatch(/ORACX_MASTER_KEY must be 32 random bytes/);
    expect(master.stderr).not.toContain('short');
  });
});
