// The JSON logs of a real `oracx serve` process: one access line per request with the request id (the caller's
// X-Request-Id when sane, else a generated one, echoed back), the route pattern, status, duration and principal;
// and no secret anywhere in the output: API keys (valid or not), the Redis password, query strings, OTLP headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PAIRING, servableStore, spawnServe, type LogLine, type ServableStore, type ServeProcess } from '../helpers/obs-fixture.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('serve logs', () => {
  let fx: ServableStore;
  let s: ServeProcess;
  const bogusKey = 'oxk_ZZZZZZZZ_notARealKeynotARealKeynotARealKeynotARealK';

  beforeAll(async () => {
    fx = await servableStore();
    s = await spawnServe(fx, ['--redis', 'redis://default:redis-pa55word@127.0.0.1:1', '--rate-limit', '3/min'], {
      // Tracing on, to a receiver that is not there: the export fails quietly, the headers stay secret.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer otlp-s3cret-token',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const accessLine = (requestId: string) => s.waitForLog((l) => l.message === 'request' && l.requestId === requestId, 5000);

  it('writes one access line per request: request id, method, route pattern, status, duration, principal', async () => {
    const r = await call(`${s.url}/v1/predict`, fx.keys.predictor, {
      method: 'POST',
      body: JSON.stringify(PAIRING),
      headers: { 'x-request-id': 'client-req.42' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('client-req.42');
    const line = await accessLine('client-req.42');
    expect(line).toMatchObject({
      level: 'info',
      method: 'POST',
      route: '/v1/predict',
      status: 200,
      principal: expect.stringMatching(/^key:\d+$/),
      ip: '127.0.0.1',
    });
    expect(typeof line.ms).toBe('number');
    expect(line.ms as number).toBeGreaterThan(0);
    expect(typeof line.correlationId).toBe('string');
    expect(typeof line.timestamp).toBe('string');

    // Route patterns, not URLs.
    const m = await call(`${s.url}/v1/matches/5?limit=1`, fx.keys.predictor, { headers: { 'x-request-id': 'client-req.43' } });
    expect(m.status).toBe(200);
    expect(await accessLine('client-req.43')).toMatchObject({ route: '/v1/matches/:id', status: 200 });

    // An unusable X-Request-Id is replaced by a generated one, echoed back and logged.
    for (const bad of ['has spaces in it', 'x'.repeat(129), 'semi;colon']) {
      const b = await call(`${s.url}/health/live`, null, { headers: { 'x-request-id': bad } });
      const id = b.headers.get('x-request-id')!;
      expect(id).toMatch(UUID);
      expect(await accessLine(id)).toMatchObject({ route: '/health/live', status: 200, principal: null });
    }
  });

  it('logs refused requests with their status and who was refused', async () => {
    const unauth = await call(`${s.url}/v1/models`, bogusKey);
    expect(unauth.status).toBe(401);
    expect(await accessLine(unauth.headers.get('x-request-id')!)).toMatchObject({ route: '/v1/models', status: 401, principal: null });
    const statuses: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 4; i++) {
      last = await call(`${s.url}/v1/models`, fx.keys.predictor2);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(await accessLine(last!.headers.get('x-request-id')!)).toMatchObject({ status: 429, principal: expect.stringMatching(/^key:\d+$/) });
    const lost = await call(`${s.url}/nowhere/at/all?api_key=query-s3cret`, fx.keys.admin);
    expect(lost.status).toBe(404);
    expect(await accessLine(lost.headers.get('x-request-id')!)).toMatchObject({ route: '/nowhere/at/all', status: 404 });
  });

  it('never writes a secret: keys, the Redis password, query strings, OTLP headers', async () => {
    // Let the failed span exports and the Redis retries log what they log.
    await new Promise((r) => setTimeout(r, 500));
    const out = s.output();
    for (const secret of [fx.keys.predictor, fx.keys.predictor2, fx.keys.admin, bogusKey, 'redis-pa55word', 'query-s3cret', 'otlp-s3cret-token']) {
      expect(out, secret).not.toContain(secret);
    }
    // The key's id and prefix are fine to log; its secret part is not.
    // (the secret is base64url: it may hold or start with '_', so it is whatever follows 'oxk_<8-char id>_').
    for (const key of [fx.keys.predictor, bogusKey]) {
      const secret = /^oxk_[A-Za-z0-9]{8}_(.+)$/.exec(key)?.[1];
      expect(secret, key).toBeTruthy();
      expect(out).not.toContain(secret);
    }
    expect(s.logs().some((l: LogLine) => l.message.startsWith('Redis at redis://***@127.0.0.1:1'))).toBe(true);
    expect(s.logs().some((l: LogLine) => l.message.startsWith('tracing: exporting spans over OTLP to http://127.0.0.1:1'))).toBe(true);
  });
});
