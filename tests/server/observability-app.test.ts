// The observability plugins in this process (the spawned-server tests cover the wiring of `oracx serve`; these reach
// the corners, and count for coverage): limits and metrics on the real app, the Redis store wrapper against a
// client that fails, hangs and recovers, the lean metrics' exposition, and tracing into a local OTLP receiver.
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { silentLogger } from '../../src/logger.js';
import { parseModelSource } from '../../src/predict/model.js';
import { openRegistry } from '../../src/registry/open.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { combineEvents, setupObservability, type Observability } from '../../src/server/plugins/index.js';
import { LeanCounter, LeanHistogram } from '../../src/server/plugins/lean-metrics.js';
import { registerRateLimits } from '../../src/server/plugins/rate-limit.js';
import { parseRate } from '../../src/server/plugins/rates.js';
import { tracingWanted } from '../../src/server/plugins/tracing.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { openStore, type Store } from '../../src/store/connect.js';
import type { Registry } from '../../src/registry/types.js';
import { PAIRING, parseMetrics, servableStore, type ServableStore } from '../helpers/obs-fixture.js';

const capture = (): Logger & { lines: string[] } => {
  const lines: string[] = [];
  const log = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
};

let fx: ServableStore;
let store: Store;

beforeAll(async () => {
  fx = await servableStore();
  store = await openStore(fx.store);
});
afterAll(async () => {
  await store?.close();
});

async function start(obs: Observability | null): Promise<RunningServer> {
  let registry: Promise<Registry> | null = null;
  return startServer({
    store,
    logger: silentLogger,
    host: '127.0.0.1',
    port: 0,
    serving: {
      champion: parseModelSource('oracx-e0@champion', fx.dir),
      challenger: null,
      registry: () =>
        (registry ??= openRegistry(store, { env: {}, cwd: fx.dir, logger: silentLogger, signal: new AbortController().signal }, 'local').then(
          (r) => r.registry,
        )),
      featureRefreshMs: 0,
      modelPollMs: 0,
      cache: { maxEntries: 100, ttlMs: 60_000, liveTtlMs: 30_000 },
      sink: { batchRows: 100, intervalMs: 20, maxQueued: 10_000 },
      batch: { maxRows: 512 },
      events: obs?.events,
    },
    app: { version: '0.0.0-test', authenticators: [new ApiKeyAuthenticator(store)], plugins: obs?.plugins, routes: obs?.routes },
  });
}

describe('plugins on the app, in process', () => {
  it('limits by caller and by address and exposes the metrics', async () => {
    const obs = await setupObservability({
      logger: silentLogger,
      version: '0',
      env: {},
      rateLimit: parseRate('3/min'),
      ipRateLimit: parseRate('100/min'),
      redis: null,
      storeId: fx.store,
      clustered: false,
    });
    expect(obs.tracing).toBe(false);
    const server = await start(obs);
    try {
      const auth = { authorization: `Bearer ${fx.keys.predictor}` };
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await server.app.inject({ method: 'POST', url: '/v1/predict', headers: auth, payload: PAIRING })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const anonymous = await server.app.inject({ url: '/v2' });
      expect(anonymous.statusCode).toBe(200);
      expect(anonymous.headers['ratelimit-limit']).toBe('100');
      const text = (await server.app.inject({ url: '/metrics' })).body;
      const m = parseMetrics(text);
      expect(m.get('oracx_http_requests_total{method="POST",route="/v1/predict",status="200"}')).toBe(3);
      expect(m.get('oracx_http_requests_total{method="POST",route="/v1/predict",status="429"}')).toBe(1);
      expect(m.get('oracx_rate_limited_total{scope="principal"}')).toBe(1);
      expect(m.get('oracx_predictions_total{model="oracx-e0",variant="champion",version="1"}')).toBe(3);
      expect(m.get('oracx_prediction_cache_hits_total')).toBe(2);
      expect(
        m.get(
          `oracx_model_info{digest="${server.runtime.champion.current.identity.digest}",feature_set="core@2",kind="dixon-coles",name="oracx-e0",uri="oracx-e0/1",variant="champion",version="1"}`,
        ),
      ).toBe(1);
      expect(text).toContain('# TYPE oracx_http_request_duration_seconds histogram');
      expect(text).toContain('# TYPE oracx_http_requests_total counter');
    } finally {
      await server.close();
      await obs.close();
    }
  });

  it('serves as before without the plugins', async () => {
    const server = await start(null);
    try {
      expect((await server.app.inject({ url: '/metrics' })).statusCode).toBe(401);
      const r = await server.app.inject({ method: 'POST', url: '/v1/predict', headers: { authorization: `Bearer ${fx.keys.predictor}` }, payload: PAIRING });
      expect(r.statusCode).toBe(200);
      expect(r.headers['ratelimit-limit']).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

/** An ioredis stand-in whose rate-limit script answers, fails or never answers. */
function fakeRedis() {
  const counts = new Map<string, number>();
  const state = { status: 'ready', mode: 'ok' as 'ok' | 'error' | 'hang', calls: 0 };
  const client: Record<string, unknown> = {
    get status() {
      return state.status;
    },
    defineCommand(name: string) {
      client[name] = async (key: string, windowMs: number) => {
        state.calls++;
        if (state.mode === 'error') throw new Error('READONLY You can’t write against a read only replica.');
        if (state.mode === 'hang') return new Promise(() => undefined);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return [counts.get(key), windowMs];
      };
    },
  };
  return { client, counts, state };
}

describe('the Redis store wrapper', () => {
  async function app(redis: ReturnType<typeof fakeRedis>, logger: Logger) {
    const a = Fastify();
    a.decorateRequest('principal', null);
    a.addHook('onRequest', async (request) => {
      request.principal = { id: 'key:9', name: 'k', role: 'predictor', kind: 'api-key' };
    });
    const state = await registerRateLimits(a, {
      perPrincipal: parseRate('5/min'),
      perAddress: null,
      redis: redis.client as never,
      prefix: 't:',
      logger,
      redisTimeoutMs: 50,
    });
    a.get('/x', async () => 'ok');
    await a.ready();
    return { a, state };
  }

  it('counts in Redis, falls back to memory on errors and timeouts with one warning, and goes back', async () => {
    const redis = fakeRedis();
    const log = capture();
    const { a, state } = await app(redis, log);
    const hit = async () => (await a.inject({ url: '/x' })).statusCode;
    expect([await hit(), await hit()]).toEqual([200, 200]);
    expect(redis.counts.get('t:principal:key:9')).toBe(2);

    redis.state.mode = 'error';
    expect(await hit()).toBe(200);
    expect(state.fallback).toBe(true);
    const callsWhileDown = redis.state.calls;
    // Counted in memory from here, Redis not asked again within the second.
    expect([await hit(), await hit(), await hit(), await hit(), await hit()]).toEqual([200, 200, 200, 200, 429]);
    expect(redis.state.calls).toBe(callsWhileDown);
    expect(log.lines.filter((l) => l.startsWith('warn: rate limits: Redis unavailable'))).toEqual([
      'warn: rate limits: Redis unavailable (READONLY You can’t write against a read only replica.); counting in memory, per process, until it answers',
    ]);

    redis.state.mode = 'ok';
    await new Promise((r) => setTimeout(r, 1050));
    expect(await hit()).toBe(200);
    expect(state.fallback).toBe(false);
    expect(log.lines).toContain('info: rate limits: Redis is back; budgets are shared again');
    expect(redis.counts.get('t:principal:key:9')).toBe(3);

    redis.state.mode = 'hang';
    const t = performance.now();
    // Back in memory, where this caller has used up the budget already.
    expect(await hit()).toBe(429);
    expect(performance.now() - t).toBeGreaterThanOrEqual(45);
    expect(state.fallback).toBe(true);
    expect(log.lines.filter((l) => l.startsWith('warn: rate limits: Redis unavailable'))).toHaveLength(2);
    expect(log.lines.at(-1)).toMatch(/no answer within 50 ms/);

    // Not connected: memory straight away, no call.
    redis.state.mode = 'ok';
    redis.state.status = 'reconnecting';
    const before = redis.state.calls;
    await new Promise((r) => setTimeout(r, 1050));
    expect(await hit()).toBe(429);
    expect(redis.state.calls).toBe(before);
    await a.close();
  });
});

describe('lean metrics', () => {
  it('expose cumulative buckets, sum and count like prom-client, and sum across registries', async () => {
    const prom = await import('prom-client');
    const regs = [new prom.Registry(), new prom.Registry()];
    for (const [k, reg] of regs.entries()) {
      const h = new LeanHistogram('t_seconds', 'help', ['route'], [0.1, 1]).registerIn(reg);
      const s = h.of({ route: '/a' });
      for (const v of [0.05, 0.5, 5]) s.observe(v * (k + 1));
      expect(h.of({ route: '/a' })).toBe(s);
      new LeanCounter('t_total', 'help', ['x']).registerIn(reg).of({ x: 'y' }).inc(2);
    }
    const one = parseMetrics(await regs[0]!.metrics());
    expect(one.get('t_seconds_bucket{le="0.1",route="/a"}')).toBe(1);
    expect(one.get('t_seconds_bucket{le="1",route="/a"}')).toBe(2);
    expect(one.get('t_seconds_bucket{le="+Inf",route="/a"}')).toBe(3);
    expect(one.get('t_seconds_sum{route="/a"}')).toBeCloseTo(5.55);
    const both = parseMetrics(await prom.AggregatorRegistry.aggregate(await Promise.all(regs.map((r) => r.getMetricsAsJSON()))).metrics());
    expect(both.get('t_seconds_count{route="/a"}')).toBe(6);
    expect(both.get('t_seconds_bucket{le="0.1",route="/a"}')).toBe(2);
    expect(both.get('t_total{x="y"}')).toBe(4);
  });

  it('combine runtime event listeners', () => {
    const seen: string[] = [];
    const events = combineEvents(
      { onRun: (rows) => void seen.push(`a${rows}`) },
      { onRun: (rows) => void seen.push(`b${rows}`), onSwap: () => void seen.push('swap') },
      {},
    );
    events.onRun?.(3, 1, {} as never);
    events.onSwap?.('champion', {} as never, {} as never);
    expect(seen).toEqual(['a3', 'b3', 'swap']);
    expect(events.onFlush).toBeUndefined();
  });
});

describe('tracing in process', () => {
  it('is wanted only with an endpoint and neither the SDK nor the exporter turned off', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('exports the request span and its children, and unregisters on close', async () => {
    const bodies: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    // The SDK reads the process environment.
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const log = capture();
    try {
      const obs = await setupObservability({
        logger: log,
        version: '0',
        env,
        rateLimit: null,
        ipRateLimit: null,
        redis: null,
        storeId: fx.store,
        clustered: false,
      });
      expect(obs.tracing).toBe(true);
      const server = await start(obs);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      try {
        const r = await server.app.inject({
          method: 'POST',
          url: '/v1/predict/batch',
          headers: { authorization: `Bearer ${fx.keys.predictor}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
          payload: { requests: [PAIRING, { ...PAIRING, home: 'Everton' }] },
        });
        expect(r.statusCode).toBe(200);
        expect((await server.app.inject({ url: '/nope' })).statusCode).toBe(401);
      } finally {
        await server.close();
        await obs.close();
      }
      const spans = bodies.flatMap((b) =>
        (
          JSON.parse(b) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string; parentSpanId?: string; spanId: string }> }> }>;
          }
        ).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
      );
      const server_ = spans.find((s) => s.name === 'POST /v1/predict/batch')!;
      expect(server_.traceId).toBe(traceId);
      expect(
        spans
          .filter((s) => s.parentSpanId === server_.spanId)
          .map((s) => s.name)
          .sort(),
      ).toEqual(['oracx.features.lookup', 'oracx.onnx.run']);
      // No route: the span is named by the method alone.
      expect(spans.some((s) => s.name === 'GET')).toBe(true);
      const { trace } = await import('@opentelemetry/api');
      expect(trace.getTracer('x').startSpan('y').isRecording()).toBe(false);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await new Promise((r) => receiver.close(r));
    }
  });
});
