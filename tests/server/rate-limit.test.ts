// Rate limits on real `oracx serve` processes: a budget per caller and one per client address, 429 problem
// documents with Retry-After and RateLimit-* headers, exempt probes, one budget shared by two processes through the
// real Redis, and Redis unreachable or killed mid-test (in-memory counting, one warning, never a 500, back to Redis).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRate } from '../../src/server/plugins/rates.js';
import { call, freePort, PAIRING, parseMetrics, servableStore, spawnServe, startRedis, type ServableStore, type ServeProcess } from '../helpers/obs-fixture.js';
import { REDIS_URL, redisReachable } from '../helpers/redis.js';

const sharedRedis = await redisReachable();
if (!sharedRedis) console.warn(`[oracx tests] shared-budget test skipped: no Redis at ${REDIS_URL}`);

describe('--rate-limit values', () => {
  it('parses N/unit, N/<k>unit and 0, and refuses the rest', () => {
    expect(parseRate('600/min')).toEqual({ max: 600, windowMs: 60_000, text: '600/min' });
    expect(parseRate('20/s')).toEqual({ max: 20, windowMs: 1000, text: '20/s' });
    expect(parseRate('100/10s')).toEqual({ max: 100, windowMs: 10_000, text: '100/10s' });
    expect(parseRate('5000/hour')).toMatchObject({ max: 5000, windowMs: 3_600_000 });
    expect(parseRate('0')).toBeNull();
    for (const bad of ['', '600', '600/fortnight', '-1/min', '0/min', '1/0s', 'ten/min'])
      expect(() => parseRate(bad), bad).toThrow(/expected a rate like 600\/min/);
  });
});

describe('rate limits', () => {
  let fx: ServableStore;
  const servers: ServeProcess[] = [];
  const serve = async (args: string[], env: Record<string, string> = {}) => {
    const s = await spawnServe(fx, args, env);
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    fx = await servableStore();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('keeps a budget per caller and one per address, answers 429 problem documents with Retry-After, and never limits probes', async () => {
    const s = await serve(['--rate-limit', '5/min', '--ip-rate-limit', '12/min']);
    const models = (key: string | null) => call(`${s.url}/v1/models`, key);

    const a: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await models(fx.keys.predictor);
      a.push(r.status);
      expect(r.headers.get('ratelimit-limit')).toBe('5');
      expect(r.headers.get('ratelimit-remaining')).toBe(String(4 - i));
    }
    expect(a).toEqual([200, 200, 200, 200, 200]);
    const refused = await models(fx.keys.predictor);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
    const doc = (await refused.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      status: 429,
      code: 'rate_limited',
      title: 'Too Many Requests',
      scope: 'principal',
      limit: '5/min',
      retryAfter,
      instance: '/v1/models',
    });
    expect(doc.requestId).toBe(refused.headers.get('x-request-id'));

    // Another key has a budget of its own, until the address's budget (12) runs out: 6 + 5 + 1 requests so far.
    for (let i = 0; i < 5; i++) expect((await models(fx.keys.predictor2)).status).toBe(200);
    expect((await models(null)).status).toBe(401);
    const byAddress = await models(fx.keys.predictor2);
    expect(byAddress.status).toBe(429);
    expect(await byAddress.json()).toMatchObject({ code: 'rate_limited', scope: 'address', limit: '12/min' });
    // Checked before authentication: a flood of bad keys costs no key lookup, and gets 429 rather than 401.
    expect((await models('oxk_AAAAAAAA_bogusbogusbogusbogusbogusbogusbogusbogusbo')).status).toBe(429);
    expect((await call(`${s.url}/v1/predict`, fx.keys.predictor, { method: 'POST', body: '{"not json' })).status).toBe(429);

    for (const probe of ['/health/live', '/health/ready', '/v2/health/live', '/metrics'])
      expect((await call(`${s.url}${probe}`, null)).status, probe).toBe(200);
    const metrics = parseMetrics(await (await call(`${s.url}/metrics`, null)).text());
    expect(metrics.get('oracx_rate_limited_total{scope="principal"}')).toBe(1);
    expect(metrics.get('oracx_rate_limited_total{scope="address"}')).toBe(3);
    expect(metrics.get('oracx_http_requests_total{method="GET",route="/v1/models",status="429"}')).toBe(3);
    expect(metrics.get('oracx_rate_limit_fallback')).toBe(0);
    expect(s.output()).not.toMatch(/"level":"error"/);
  });

  it('turns either limit off with 0', async () => {
    const s = await serve(['--rate-limit', '0', '--ip-rate-limit', '0']);
    const statuses = await Promise.all(Array.from({ length: 30 }, () => call(`${s.url}/v1/models`, fx.keys.predictor).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
    const r = await call(`${s.url}/v1/models`, fx.keys.predictor);
    expect(r.headers.get('ratelimit-limit')).toBeNull();
  });

  it.skipIf(!sharedRedis)('shares one budget between two processes through Redis (and not without it)', async () => {
    const count = async (a: ServeProcess, b: ServeProcess) => {
      let ok = 0;
      for (let i = 0; i < 60; i++) {
        const r = await call(`${(i % 2 === 0 ? a : b).url}/v1/models`, fx.keys.predictor);
        expect([200, 429]).toContain(r.status);
        if (r.status === 200) ok++;
      }
      return ok;
    };
    const args = ['--rate-limit', '20/min', '--ip-rate-limit', '0'];
    const [a, b] = await Promise.all([serve([...args, '--redis', REDIS_URL]), serve([...args, '--redis', REDIS_URL])]);
    expect(await count(a, b)).toBe(20);
    // Without Redis each process counts for itself: twice the budget gets through.
    const [c, d] = await Promise.all([serve(args), serve(args)]);
    expect(await count(c, d)).toBe(40);
  });

  it('counts in memory with one warning when Redis is unreachable: 200 or 429, never 500', async () => {
    const closed = await freePort();
    const s = await serve(['--rate-limit', '5/min', '--redis', `redis://127.0.0.1:${closed}`]);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(`${s.url}/v1/predict`, fx.keys.predictor, { method: 'POST', body: JSON.stringify(PAIRING) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const warnings = s.logs().filter((l) => l.level === 'warn' && l.message.startsWith('rate limits: Redis unavailable'));
    expect(warnings).toHaveLength(1);
    const metrics = parseMetrics(await (await call(`${s.url}/metrics`, null)).text());
    expect(metrics.get('oracx_rate_limit_fallback')).toBe(1);
  });

  it('does not wait on a Redis that stops answering (SIGSTOP): a short timeout, then memory, then back', async () => {
    const redis = await startRedis();
    const s = await serve(['--rate-limit', '100/min', '--ip-rate-limit', '0', '--redis', redis.url]);
    try {
      expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
      redis.pause();
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t = performance.now();
        expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
        times.push(performance.now() - t);
      }
      // The first waits for the 250 ms timeout; the others count in memory, a probe at most once a second.
      expect(Math.max(...times)).toBeLessThan(1500);
      expect(times.filter((t) => t > 200).length).toBeLessThanOrEqual(2);
      await s.waitForLog((l) => l.level === 'warn' && /rate limits: Redis unavailable \(no answer within 250 ms\)/.test(l.message), 1000);
      redis.resume();
      const deadline = Date.now() + 10_000;
      while (!s.logs().some((l) => l.message === 'rate limits: Redis is back; budgets are shared again') && Date.now() < deadline) {
        expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 200));
      }
      await s.waitForLog((l) => l.message === 'rate limits: Redis is back; budgets are shared again', 1000);
    } finally {
      redis.resume();
      await s.stop();
      await redis.kill();
    }
  });

  it('falls back to memory when its Redis is killed mid-test, and goes back to Redis when it answers again', async () => {
    const redis = await startRedis();
    const s = await serve(['--rate-limit', '10/min', '--ip-rate-limit', '0', '--redis', redis.url]);
    // A fresh client per look: the server's Redis comes and goes in this test.
    const countInRedis = async () => {
      const client = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const keys = await client.keys('oracx:rl:*principal:key:*');
        return keys.length === 0 ? 0 : Number(await client.get(keys[0]!));
      } finally {
        client.disconnect();
      }
    };
    try {
      for (let i = 0; i < 4; i++) expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
      expect(await countInRedis()).toBe(4);

      await redis.kill();
      const during: number[] = [];
      for (let i = 0; i < 14; i++) during.push((await call(`${s.url}/v1/models`, fx.keys.predictor)).status);
      expect(
        during.every((st) => st === 200 || st === 429),
        during.join(','),
      ).toBe(true);
      // Counted from zero in memory: 10 through, then refused.
      expect(during.filter((st) => st === 200)).toHaveLength(10);
      await s.waitForLog((l) => l.level === 'warn' && l.message.startsWith('rate limits: Redis unavailable'));

      await redis.restart();
      const deadline = Date.now() + 20_000;
      while (!s.logs().some((l) => l.message === 'rate limits: Redis is back; budgets are shared again') && Date.now() < deadline) {
        const st = (await call(`${s.url}/v1/models`, fx.keys.predictor)).status;
        expect([200, 429]).toContain(st);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(s.logs().filter((l) => l.message.startsWith('rate limits: Redis unavailable'))).toHaveLength(1);
      await s.waitForLog((l) => l.message === 'rate limits: Redis is back; budgets are shared again', 1000);
      // The restarted Redis is empty: counting starts over there.
      const before = await countInRedis();
      expect(before).toBeGreaterThanOrEqual(1);
      expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
      expect(await countInRedis()).toBe(before + 1);
      expect(s.output()).not.toMatch(/"status":500/);
    } finally {
      await s.stop();
      await redis.kill();
    }
  });
});
