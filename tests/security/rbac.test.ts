// The access matrix over real HTTP: every route the app registers (collected with an onRoute hook installed before
// anything else, so a new route cannot escape) × {no credentials, viewer, predictor, admin} × {API key, JWT}, with
// the exact status expected. A route that declares no access is admin-only.
import { randomBytes } from 'node:crypto';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyringFromEnv } from '../../src/auth/secrets.js';
import { ensureSigningKey, issueToken } from '../../src/auth/tokens.js';
import { silentLogger } from '../../src/logger.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { jwtAuthenticatorFrom } from '../../src/server/auth/jwt-config.js';
import { allows, ROLES, type Access, type Role } from '../../src/server/types.js';
import { bearer, keysByRole, request, servableStore, startFixtureServer, type FixtureServer } from '../helpers/serve-fixture.js';

const MASTER = randomBytes(32).toString('hex');
const ORIGIN = 'https://app.example.test';

interface Route {
  method: string;
  url: string;
  access: Access;
}

/** What each route declares; Swagger UI's files are public (the auth plugin's publicPrefixes), the rest closed. */
function accessOf(route: RouteOptions): Access {
  return route.config?.access ?? (route.url.startsWith('/docs') ? 'public' : 'admin');
}

/** A concrete URL for a route pattern. */
function concrete(url: string): string {
  if (url === '*') return '/v1/models';
  return url.replace(':name', 'oracx-e0').replace(':version', '1').replace(':id', '1').replace(/\*$/, 'swagger-ui.css');
}

describe('access matrix: every route × every kind of caller', () => {
  let f: FixtureServer;
  let routes: Route[] = [];
  // Route options as registered; plugins registered later may still adjust them (the CORS preflight is made public).
  const seen: RouteOptions[] = [];
  const callers: Array<{ name: string; role: Role | null; headers: Record<string, string> }> = [{ name: 'anonymous', role: null, headers: {} }];

  beforeAll(async () => {
    const s = await servableStore();
    const keyring = keyringFromEnv({ ORACX_MASTER_KEY: MASTER })!;
    const { openStore } = await import('../../src/store/connect.js');
    const setupStore = await openStore(s.location);
    const signing = await ensureSigningKey(setupStore, keyring);
    await setupStore.close();
    f = await startFixtureServer(s, {
      authenticators: async (store) => [
        new ApiKeyAuthenticator(store),
        (await jwtAuthenticatorFrom({}, { env: { ORACX_MASTER_KEY: MASTER }, cwd: s.dir, store, logger: silentLogger }))!,
      ],
      app: {
        security: { cors: [ORIGIN] },
        onRoute: (route) => void seen.push(route),
        // A route that forgets to declare who may call it.
        plugins: async (app) => {
          app.get('/v1/undeclared', async () => ({ ok: true }));
        },
      },
    });
    routes = seen.flatMap((route) => [route.method].flat().map((method) => ({ method, url: route.url, access: accessOf(route) })));
    const keys = await keysByRole(f.store);
    for (const role of ROLES) {
      callers.push({ name: `${role} API key`, role, headers: { 'x-api-key': keys[role] } });
      const { token } = await issueToken(signing, { sub: `matrix-${role}`, role, ttlSeconds: 600, audience: ['oracx'] });
      callers.push({ name: `${role} JWT`, role, headers: bearer(token) });
    }
  });
  afterAll(async () => {
    await f?.close();
  });

  it('collects every route, and only the expected ones are public', () => {
    expect(routes.length).toBeGreaterThan(40);
    const publicRoutes = [...new Set(routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`))].filter((r) => !r.includes('/docs'));
    expect(publicRoutes.sort()).toEqual(
      ['/health/live', '/health/ready', '/openapi.json', '/v2', '/v2/health/live', '/v2/health/ready']
        .flatMap((u) => [`GET ${u}`, `HEAD ${u}`])
        .concat(['OPTIONS *'])
        .sort(),
    );
    expect(routes).toContainEqual({ method: 'GET', url: '/v1/undeclared', access: 'admin' });
    expect(routes.filter((r) => r.url.startsWith('/docs')).length).toBeGreaterThan(5);
  });

  it('answers each caller exactly as the route allows', async () => {
    const failures: string[] = [];
    let requests = 0;
    for (const route of routes) {
      const url = `${f.url}${concrete(route.url)}`;
      const post = route.method === 'POST';
      const preflight = route.method === 'OPTIONS' ? { origin: ORIGIN, 'access-control-request-method': 'GET' } : {};
      for (const caller of callers) {
        const r = await request(url, { method: route.method, headers: { ...caller.headers, ...preflight }, body: post ? '{}' : undefined });
        requests++;
        const what = `${route.method} ${route.url} as ${caller.name}: ${r.status} ${r.body.slice(0, 160)}`;
        const allowed = caller.role === null ? route.access === 'public' : allows(caller.role, route.access);
        if (!allowed) {
          const expected = caller.role === null ? 401 : 403;
          if (r.status !== expected) failures.push(`expected ${expected}: ${what}`);
          else if (expected === 401 && !/^Bearer realm="oracx"/.test(String(r.headers['www-authenticate']))) failures.push(`no WWW-Authenticate: ${what}`);
          continue;
        }
        // Let through: a success or a client error that is not about credentials, from the route itself.
        const noRoute = r.status === 404 && route.method !== 'HEAD' && /"detail":"no route/.test(r.body);
        if (r.status === 401 || r.status === 403 || r.status >= 500 || noRoute) failures.push(`expected 2xx or a non-auth 4xx: ${what}`);
      }
    }
    expect(failures).toEqual([]);
    expect(requests).toBe(routes.length * 7);
  });
});
