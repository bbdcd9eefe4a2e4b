// The store going away while serving (PostgreSQL behind a TCP proxy of the test's own): readiness says so, liveness
// does not, no request ever gets a 500, forecasts are served with their rows queued (or refused with 503), and once
// the proxy is back the server is ready again, without a restart, and every queued prediction is written.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServableStore,
  eventually,
  expectProblem,
  pairing,
  SpecChecker,
  startTestServer,
  type HttpResponse,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

/** A TCP proxy to host:port that can be killed (every connection cut, nothing listening) and started again on its port. */
class FlakyProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async kill(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe.skipIf(!postgres.available)('PostgreSQL going away while serving', () => {
  let fx: ServableStore;
  let s: TestServer;
  let proxy: FlakyProxy;
  let spec: SpecChecker;

  beforeAll(async () => {
    fx = await buildServableStore({ dialect: 'postgres' });
    const url = new URL(fx.location);
    proxy = new FlakyProxy(url.hostname, Number(url.port || 5432));
    await proxy.start();
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    s = await startTestServer(fx, { location: url.toString(), serving: { featureRefreshMs: 200 } });
    spec = await SpecChecker.load(s);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    await proxy?.kill();
    await fx?.close();
  });

  it('is not ready while the store is away, never answers 500, and catches up when it is back', async () => {
    // Warm: the key is verified and cached, a forecast is stored.
    expect((await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[0] } })).status).toBe(200);
    expect((await s.call('GET', '/health/ready')).status).toBe(200);

    await proxy.kill();
    await eventually(async () => expect((await s.call('GET', '/health/ready')).status).toBe(503), 15_000, 200);
    const ready = await s.call('GET', '/health/ready');
    expect(ready.body.checks.find((c: { name: string }) => c.name === 'store')).toMatchObject({ ok: false, detail: 'failing' });
    expect((await s.call('GET', '/health/live')).status).toBe(200);
    expect((await s.call('GET', '/v2/health/ready')).status).toBe(503);

    // Forecasts while it is away: served (rows queued) or refused with 503, never 500. Also after the key cache
    // expired, and for requests that need the store to answer (a finished match, a listing).
    const answered: Array<{ id: string; res: HttpResponse }> = [];
    const ask = async (i: number, body: unknown) => {
      const id = `outage-${i}`;
      const res = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body, headers: { 'x-request-id': id } });
      answered.push({ id, res });
      return res;
    };
    const until = Date.now() + 7_000;
    let i = 0;
    while (Date.now() < until) {
      await ask(i++, i % 2 ? { matchId: fx.coming[1] } : pairing('Arsenal', 'Chelsea', `2020-10-${String(1 + (i % 28)).padStart(2, '0')}`));
      await new Promise((r) => setTimeout(r, 100));
    }
    const batch = await s.call('POST', '/v1/predict/batch', {
      key: fx.keys.predictor,
      body: { requests: [{ matchId: fx.coming[2] }, pairing('Everton', 'Burnley', '2020-10-10')] },
      headers: { 'x-request-id': 'outage-batch' },
    });
    const others: Array<[string, HttpResponse]> = [
      ['POST /v1/predict', await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: 1 } })],
      ['GET /v1/matches', await s.call('GET', '/v1/matches?limit=1', { key: fx.keys.viewer })],
      ['GET /v1/matches/{id}', await s.call('GET', '/v1/matches/1', { key: fx.keys.viewer })],
      ['GET /v1/predictions', await s.call('GET', '/v1/predictions?limit=1', { key: fx.keys.viewer })],
      ['GET /v1/models', await s.call('GET', '/v1/models', { key: fx.keys.viewer })],
      ['GET /health/detailed', await s.call('GET', '/health/detailed', { key: fx.keys.admin })],
      ['GET /v2/models/{name}', await s.call('GET', '/v2/models/oracx-e0', { key: fx.keys.viewer })],
      ['POST /v1/predict', await s.call('POST', '/v1/predict', { key: fx.keys.admin, body: { matchId: fx.coming[3] } })],
    ];
    const all: Array<[string, HttpResponse]> = [
      ...answered.map((a): [string, HttpResponse] => ['POST /v1/predict', a.res]),
      ['POST /v1/predict/batch', batch],
      ...others,
    ];
    for (const [operation, r] of all) {
      expect(r.status, r.text).not.toBe(500);
      if (r.status !== 200) expect(expectProblem(r, 503, 'store_unavailable').detail).toMatch(/store/);
      if (r.status === 503) expect(r.headers['retry-after']).toBe('5');
      spec.conforms(operation, r);
    }
    const served = answered.filter((a) => a.res.status === 200);
    expect(served.length, 'forecasts are served from memory while the store is away').toBeGreaterThan(0);
    expect(s.server.runtime.sink.pending).toBeGreaterThanOrEqual(served.length);

    await proxy.start();
    await eventually(async () => expect((await s.call('GET', '/health/ready')).status).toBe(200), 20_000, 200);
    expect((await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[4] } })).status).toBe(200);
    await s.server.runtime.sink.drain();
    const rows = await fx.store.db.selectFrom('predictions').select(['request_id', 'p_home']).where('request_id', 'like', 'outage-%').execute();
    const stored = new Map(rows.map((r) => [r.request_id, r.p_home]));
    for (const a of served) expect(stored.get(a.id), a.id).toBe((a.res.body as { probabilities: { home: number } }).probabilities.home);
    expect(rows.filter((r) => r.request_id !== 'outage-batch')).toHaveLength(served.length);
    expect(rows.filter((r) => r.request_id === 'outage-batch')).toHaveLength(batch.status === 200 ? 2 : 0);
    expect(s.logger.text()).toMatch(/prediction store writes recovered/);
  }, 90_000);

  it('refuses forecasts with 503 and Retry-After once the queue of unwritten rows is full, and writes the queued ones later', async () => {
    const url = new URL(fx.location);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const small = await startTestServer(fx, { location: url.toString(), serving: { sink: { batchRows: 500, intervalMs: 20, maxQueued: 3 } } });
    try {
      expect((await small.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[0] } })).status).toBe(200);
      await small.server.runtime.sink.drain();
      await proxy.kill();
      const answers: HttpResponse[] = [];
      for (let i = 0; i < 6; i++) {
        answers.push(
          await small.call('POST', '/v1/predict', {
            key: fx.keys.predictor,
            body: pairing('Everton', 'Chelsea', `2020-11-${String(10 + i)}`),
            headers: { 'x-request-id': `full-${i}` },
          }),
        );
      }
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 503, 503, 503]);
      for (const a of answers.slice(3)) {
        expectProblem(a, 503, 'store_unavailable');
        expect(a.headers['retry-after']).toBe('5');
        spec.conforms('POST /v1/predict', a);
      }
      await proxy.start();
      await small.server.runtime.sink.drain();
      const rows = await fx.store.db.selectFrom('predictions').select('request_id').where('request_id', 'like', 'full-%').orderBy('request_id').execute();
      expect(rows.map((r) => r.request_id)).toEqual(['full-0', 'full-1', 'full-2']);
    } finally {
      await proxy.start().catch(() => undefined);
      await small.close();
    }
  }, 60_000);
});
