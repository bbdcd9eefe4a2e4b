// GET /metrics on real `oracx serve` processes: request counts and durations by route pattern and status, forecasts
// by model/version/variant, cache hits and misses, micro-batch sizes, the prediction queue and its flushes, the
// served model, feature-state age and frontier, hot reloads, process metrics; and with --workers 2, one answer that
// covers both workers whichever of them takes the scrape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PAIRING, parseMetrics, servableStore, spawnServe, type ServableStore, type ServeProcess } from '../helpers/obs-fixture.js';

const predict = (s: ServeProcess, key: string, body: unknown = PAIRING) => call(`${s.url}/v1/predict`, key, { method: 'POST', body: JSON.stringify(body) });
const scrape = async (s: ServeProcess) => {
  const r = await call(`${s.url}/metrics`, null);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await r.text();
  return { text, m: parseMetrics(text) };
};
const until = async (what: string, check: () => Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('/metrics', () => {
  let fx: ServableStore;
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    fx = await servableStore();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('counts requests by route pattern and status, forecasts by model and variant, the cache, batches, writes, the model and its features', async () => {
    const s = await spawnServe(fx, ['--model-poll', '300ms']);
    servers.push(s);
    expect((await predict(s, fx.keys.predictor)).status).toBe(200);
    const again = await predict(s, fx.keys.predictor);
    expect(((await again.json()) as { cached: boolean }).cached).toBe(true);
    const batch = await call(`${s.url}/v1/predict/batch`, fx.keys.predictor, {
      method: 'POST',
      body: JSON.stringify({
        requests: [
          { ...PAIRING, home: 'Liverpool' },
          { ...PAIRING, home: 'Everton' },
          { ...PAIRING, away: 'Leicester' },
        ],
      }),
    });
    expect(batch.status).toBe(200);
    expect((await predict(s, fx.keys.predictor, { ...PAIRING, home: 'Nowhere FC' })).status).toBe(422);
    expect((await call(`${s.url}/v1/matches/7`, fx.keys.predictor)).status).toBe(200);
    expect((await call(`${s.url}/v1/matches/999999`, fx.keys.predictor)).status).toBe(404);
    // Unknown routes are admin-only (closed by default): an admin gets the 404.
    expect((await call(`${s.url}/no/such/route?token=abc`, fx.keys.admin)).status).toBe(404);
    const models = (await (await call(`${s.url}/v1/models`, fx.keys.predictor)).json()) as { models: Array<{ digest: string }> };

    // The sink writes 100 ms after the first queued row.
    await until('the predictions to be written', async () => (await scrape(s)).m.get('oracx_predictions_written_total') === 5);
    const { text, m } = await scrape(s);
    expect(m.get('oracx_http_requests_total{method="POST",route="/v1/predict",status="200"}')).toBe(2);
    expect(m.get('oracx_http_requests_total{method="POST",route="/v1/predict",status="422"}')).toBe(1);
    expect(m.get('oracx_http_requests_total{method="POST",route="/v1/predict/batch",status="200"}')).toBe(1);
    expect(m.get('oracx_http_requests_total{method="GET",route="/v1/matches/:id",status="200"}')).toBe(1);
    expect(m.get('oracx_http_requests_total{method="GET",route="/v1/matches/:id",status="404"}')).toBe(1);
    expect(m.get('oracx_http_requests_total{method="GET",route="(unmatched)",status="404"}')).toBe(1);
    expect(m.get('oracx_http_request_duration_seconds_count{method="POST",route="/v1/predict",status="200"}')).toBe(2);
    expect(m.get('oracx_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/predict",status="200"}')).toBe(2);
    expect(m.get('oracx_http_request_duration_seconds_sum{method="POST",route="/v1/predict",status="200"}')).toBeGreaterThan(0);
    // Raw URLs never become labels.
    expect(text).not.toMatch(/\/v1\/matches\/7|\/no\/such|token=abc/);

    expect(m.get('oracx_predictions_total{model="oracx-e0",variant="champion",version="1"}')).toBe(5);
    expect(m.get('oracx_prediction_cache_hits_total')).toBe(1);
    expect(m.get('oracx_prediction_cache_misses_total')).toBe(4);
    // One run for the first forecast, one for the batch's three rows.
    expect(m.get('oracx_batch_rows_count')).toBe(2);
    expect(m.get('oracx_batch_rows_sum')).toBe(4);
    expect(m.get('oracx_batch_rows_bucket{le="1"}')).toBe(1);
    expect(m.get('oracx_batch_rows_bucket{le="4"}')).toBe(2);
    expect(m.get('oracx_onnx_run_duration_seconds_count')).toBe(2);
    expect(m.get('oracx_prediction_queue_depth')).toBe(0);
    expect(m.get('oracx_prediction_flush_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    const digest = models.models[0]!.digest;
    expect(
      m.get(`oracx_model_info{digest="${digest}",feature_set="core@2",kind="dixon-coles",name="oracx-e0",uri="oracx-e0/1",variant="champion",version="1"}`),
    ).toBe(1);
    expect(m.get('oracx_feature_state_frontier_timestamp_seconds{feature_set="core@2"}')).toBe(Date.UTC(2020, 6, 26) / 1000);
    const age = m.get('oracx_feature_state_age_seconds{feature_set="core@2"}')!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    expect(m.get('oracx_model_reloads_total{variant="champion"}')).toBeUndefined();
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(m.get(name), name).toBeGreaterThan(0);
    }

    // Public, documented, and not counted against anyone's budget.
    const openapi = (await (await call(`${s.url}/openapi.json`, null)).json()) as { paths: Record<string, { get?: { security?: unknown[] } }> };
    expect(openapi.paths['/metrics']?.get?.security).toEqual([]);

    // A hot reload: a new version takes the champion alias; the server swaps it in and counts it.
    const train = await fx.cli(['train', '--model', 'dixon-coles', '--competitions', 'E0', '--train-until', '2019-06-30', '--param', 'xi=0.002', '--json']);
    expect(train.code, train.stderr).toBe(0);
    const run = train.json<{ runId: number }>().runId;
    const reg = await fx.cli(['register', '--run', String(run), '--name', 'oracx-e0', '--alias', 'champion', '-q']);
    expect(reg.code, reg.stderr).toBe(0);
    await until('the reload', async () => (await scrape(s)).m.get('oracx_model_reloads_total{variant="champion"}') === 1);
    const after = (await scrape(s)).text;
    expect(after).toMatch(/oracx_model_info\{variant="champion",name="oracx-e0",version="2",[^}]*\} 1/);
    expect(after).not.toMatch(/oracx_model_info\{[^}]*version="1"/);
    expect((await predict(s, fx.keys.predictor)).status).toBe(200);
    expect(parseMetrics((await scrape(s)).text).get('oracx_predictions_total{model="oracx-e0",variant="champion",version="2"}')).toBe(1);
  });

  it('answers for every worker with --workers 2, whichever worker takes the scrape', async () => {
    const s = await spawnServe(fx, ['--workers', '2']);
    servers.push(s);
    // Both workers listen before requests are spread over them.
    await until('two workers', async () => s.logs().filter((l) => l.message.startsWith('oracx serve: listening on')).length === 2);
    const N = 40;
    for (let i = 0; i < N; i++) expect((await call(`${s.url}/v1/models`, fx.keys.predictor)).status).toBe(200);
    // Each worker logs with its own correlation id: both served some of them.
    const byWorker = new Set(
      s
        .logs()
        .filter((l) => l.message === 'request' && l.route === '/v1/models')
        .map((l) => l.correlationId),
    );
    expect(byWorker.size).toBe(2);
    for (let i = 0; i < 6; i++) {
      const { m } = await scrape(s);
      expect(m.get('oracx_http_requests_total{method="GET",route="/v1/models",status="200"}')).toBe(N);
      // Earlier scrapes are counted too (by whichever worker took them).
      expect(m.get('oracx_http_requests_total{method="GET",route="/metrics",status="200"}') ?? 0).toBe(i);
      // One served model, not one per worker.
      expect([...m].filter(([k]) => k.startsWith('oracx_model_info{')).map(([, v]) => v)).toEqual([1]);
      expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    }
  });
});
