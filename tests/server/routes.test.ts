// Every route of `oracx serve` over real HTTP on a SQLite store: status codes, bodies against the OpenAPI document the
// server publishes, problem documents, request ids, paging and filters, KServe v2 metadata and infer.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxScorer } from '../../src/onnx/runtime.js';
import { readOnnxMetadata } from '../../src/onnx/metadata.js';
import { Tensor } from 'onnxruntime-node';
import {
  buildServableStore,
  COMING,
  expectProblem,
  FRONTIER,
  MODEL,
  pairing,
  SpecChecker,
  startTestServer,
  type HttpResponse,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';
import type { PredictRequest } from '../../pipelines/predict.js';

let fx: ServableStore;
let s: TestServer;
let spec: SpecChecker;

beforeAll(async () => {
  fx = await buildServableStore();
  s = await startTestServer(fx);
  spec = await SpecChecker.load(s);
});

afterAll(async () => {
  await s?.close();
  await fx?.close();
});

interface Match {
  id: number;
  date: string;
  home: string;
  away: string;
  status: string;
  competition: string;
  season: string;
}

describe('health and documents', () => {
  it('answers liveness and readiness without credentials', async () => {
    const live = await s.call('GET', '/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });
    spec.conforms('GET /health/live', live);
    const ready = await s.call('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(['store', 'model:champion', 'features:core@2']);
    // Public: no paths or URLs in the details.
    expect(ready.text).not.toContain(fx.dir);
    spec.conforms('GET /health/ready', ready);
  });

  it('shows the detailed health to admins only', async () => {
    const admin = await s.call('GET', '/health/detailed', { key: fx.keys.admin });
    expect(admin.status).toBe(200);
    spec.conforms('GET /health/detailed', admin);
    expect(admin.body).toMatchObject({ status: 'ready', pid: process.pid, cache: { shared: false } });
    expect(admin.body.models).toEqual([
      expect.objectContaining({ variant: 'champion', uri: `${MODEL}/1`, kind: 'dixon-coles', featureSet: 'core@2', lastReloadError: null }),
    ]);
    expect(admin.body.features).toEqual([expect.objectContaining({ featureSet: 'core@2', frontier: FRONTIER, results: 1140 })]);

    const viewer = await s.call('GET', '/health/detailed', { key: fx.keys.predictor });
    expectProblem(viewer, 403, 'forbidden');
    spec.conforms('GET /health/detailed', viewer);
    const none = await s.call('GET', '/health/detailed');
    expectProblem(none, 401, 'unauthenticated');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="oracx"/);
    spec.conforms('GET /health/detailed', none);
  });

  it('publishes OpenAPI 3.1 with every route, and Swagger UI', async () => {
    expect(spec.spec.openapi).toBe('3.1.0');
    const ops = Object.entries(spec.spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, o]) =>
      Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops.sort()).toEqual(
      [
        'GET /health/live',
        'GET /health/ready',
        'GET /health/detailed',
        'POST /v1/predict',
        'POST /v1/predict/batch',
        'GET /v1/matches',
        'GET /v1/matches/{id}',
        'GET /v1/predictions',
        'GET /v1/models',
        'GET /v1/live',
        'GET /v2',
        'GET /v2/health/live',
        'GET /v2/health/ready',
        'GET /v2/models/{name}',
        'GET /v2/models/{name}/ready',
        'POST /v2/models/{name}/infer',
        'GET /v2/models/{name}/versions/{version}',
        'GET /v2/models/{name}/versions/{version}/ready',
        'POST /v2/models/{name}/versions/{version}/infer',
      ].sort(),
    );
    const docs = await s.call('GET', '/docs');
    expect(docs.status).toBeLessThan(400);
    const page =
      docs.status === 200
        ? docs
        : await s.call('GET', String(docs.headers.location).startsWith('/') ? String(docs.headers.location) : `/docs/${String(docs.headers.location)}`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/swagger/i);
  });

  it('echoes a sane X-Request-Id, in the header and in problem documents, and replaces an unsafe one', async () => {
    const ok = await s.call('GET', '/v1/models', { key: fx.keys.viewer, headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(ok.headers['x-request-id']).toBe('trace-42.a:b');
    const problem = await s.call('GET', '/v1/matches/999999', { key: fx.keys.viewer, headers: { 'x-request-id': 'req-404' } });
    expect(expectProblem(problem, 404, 'match_not_found').requestId).toBe('req-404');
    const unsafe = await s.call('GET', '/health/live', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const none = await s.call('GET', '/health/live');
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a problem document', async () => {
    const r = await s.call('GET', '/v1/nothing', { key: fx.keys.admin });
    expectProblem(r, 404, 'not_found');
  });
});

describe('GET /v1/models', () => {
  it('lists the served champion', async () => {
    const r = await s.call('GET', '/v1/models', { key: fx.keys.viewer });
    expect(r.status).toBe(200);
    spec.conforms('GET /v1/models', r);
    expect(r.body.models).toEqual([
      expect.objectContaining({
        variant: 'champion',
        source: `${MODEL}@champion`,
        uri: `${MODEL}/1`,
        name: MODEL,
        version: 1,
        alias: 'champion',
        kind: 'dixon-coles',
        featureSet: 'core@2',
        share: 1,
      }),
    ]);
  });
});

describe('GET /v1/matches', () => {
  async function walk(query: string, limit: number): Promise<{ items: Match[]; pages: number; total: number }> {
    const items: Match[] = [];
    let cursor: string | null = null;
    let pages = 0;
    let total = -1;
    do {
      const r: HttpResponse<{ items: Match[]; total: number; nextCursor: string | null }> = await s.call(
        'GET',
        `/v1/matches?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { key: fx.keys.viewer },
      );
      expect(r.status, r.text).toBe(200);
      if (pages === 0) spec.conforms('GET /v1/matches', r);
      expect(r.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...r.body.items);
      total = r.body.total;
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    return { items, pages, total };
  }

  it('walks every match exactly once, in a stable (date, id) order, both ways', async () => {
    const up = await walk('sort=date', 97);
    expect(up.total).toBe(1140 + COMING.length);
    expect(up.items).toHaveLength(up.total);
    expect(new Set(up.items.map((m) => m.id)).size).toBe(up.total);
    expect(up.pages).toBe(Math.ceil(up.total / 97));
    for (let i = 1; i < up.items.length; i++) {
      const [a, b] = [up.items[i - 1]!, up.items[i]!];
      expect(a.date < b.date || (a.date === b.date && a.id < b.id), `${a.id} before ${b.id}`).toBe(true);
    }
    const down = await walk('sort=-date', 250);
    expect(down.items.map((m) => m.id)).toEqual([...up.items].reverse().map((m) => m.id));
  });

  it('filters by competition, season, team, dates and status', async () => {
    const season = await walk('competition=e0&season=2019-2020', 500);
    expect(season.total).toBe(380);
    expect(season.items.every((m) => m.competition === 'E0' && m.season === '2019-2020')).toBe(true);
    const arsenal = await walk('team=Arsenal', 500);
    expect(arsenal.total).toBe(114);
    expect(arsenal.items.every((m) => m.home === 'Arsenal' || m.away === 'Arsenal')).toBe(true);
    const july = await walk(`from=2020-07-01&to=${FRONTIER}`, 500);
    expect(july.total).toBeGreaterThan(0);
    expect(july.items.every((m) => m.date >= '2020-07-01' && m.date <= FRONTIER && m.status === 'finished')).toBe(true);
    const coming = await walk('status=scheduled', 500);
    expect(coming.items.map((m) => m.id)).toEqual(fx.coming);
    expect(coming.items.map((m) => [m.date, m.home, m.away])).toEqual(COMING.map((c) => [c.date, c.home, c.away]));
    const seasons = await walk('season=2017-2018,2018-2019', 500);
    expect(seasons.total).toBe(760);
  });

  it('refuses a from after to, and bad parameters', async () => {
    const range = await s.call('GET', '/v1/matches?from=2020-01-02&to=2020-01-01', { key: fx.keys.viewer });
    expect(expectProblem(range, 400, 'invalid_range').detail).toBe('from 2020-01-02 is after to 2020-01-01');
    spec.conforms('GET /v1/matches', range);
    const limit = await s.call('GET', '/v1/matches?limit=501', { key: fx.keys.viewer });
    expectProblem(limit, 400, 'validation_failed');
    spec.conforms('GET /v1/matches', limit);
  });

  it('GET /v1/matches/{id} returns the match as listed, 404 for an unknown id', async () => {
    const listed = (await s.call('GET', '/v1/matches?status=scheduled&limit=1', { key: fx.keys.viewer })).body.items[0];
    const one = await s.call('GET', `/v1/matches/${listed.id}`, { key: fx.keys.viewer });
    expect(one.status).toBe(200);
    spec.conforms('GET /v1/matches/{id}', one);
    expect(one.body).toEqual(listed);
    const missing = await s.call('GET', '/v1/matches/987654', { key: fx.keys.viewer });
    expectProblem(missing, 404, 'match_not_found');
    spec.conforms('GET /v1/matches/{id}', missing);
  });
});

describe('POST /v1/predict', () => {
  it('forecasts a coming match by id', async () => {
    const r = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[1] } });
    expect(r.status, r.text).toBe(200);
    spec.conforms('POST /v1/predict', r);
    expect(r.body).toMatchObject({
      matchId: fx.coming[1],
      competition: 'E0',
      season: '2020-2021',
      date: COMING[1].date,
      kickoff: COMING[1].time,
      home: COMING[1].home,
      away: COMING[1].away,
      status: 'scheduled',
      model: { uri: `${MODEL}/1`, name: MODEL, version: 1, alias: 'champion', kind: 'dixon-coles' },
      featureSet: 'core@2',
      variant: 'champion',
    });
    const p = r.body.probabilities;
    expect(p.home + p.draw + p.away).toBeCloseTo(1, 5);
    // Man City away at West Ham: the model should not make the home side favourite.
    expect(p.away).toBeGreaterThan(p.home);
    expect(r.body.inputsHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('forecasts a pairing, and a pairing that names a stored fixture gets its id', async () => {
    const r = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: pairing('Arsenal', 'Chelsea', '2020-10-03', { kickoff: '17:30' }) });
    expect(r.status, r.text).toBe(200);
    spec.conforms('POST /v1/predict', r);
    expect(r.body).toMatchObject({
      matchId: null,
      status: 'pairing',
      season: '2020-2021',
      date: '2020-10-03',
      kickoff: '17:30',
      home: 'Arsenal',
      away: 'Chelsea',
    });
    const named = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: pairing(COMING[0].home, COMING[0].away, COMING[0].date) });
    expect(named.status).toBe(200);
    expect(named.body.matchId).toBe(fx.coming[0]);
    const byId = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[0] } });
    expect(byId.body.probabilities).toEqual(named.body.probabilities);
    // Any spelling the store knows, any case of the code.
    const spelled = await s.call('POST', '/v1/predict', {
      key: fx.keys.predictor,
      body: { competition: 'e0', home: 'arsenal', away: ' CHELSEA ', date: '2020-10-03' },
    });
    expect(spelled.status, spelled.text).toBe(200);
    expect(spelled.body.probabilities).toEqual(r.body.probabilities);
  });

  it('needs the predictor role', async () => {
    const viewer = await s.call('POST', '/v1/predict', { key: fx.keys.viewer, body: { matchId: fx.coming[0] } });
    expectProblem(viewer, 403, 'forbidden');
    spec.conforms('POST /v1/predict', viewer);
    const admin = await s.call('POST', '/v1/predict', { key: fx.keys.admin, body: { matchId: fx.coming[0] } });
    expect(admin.status).toBe(200);
  });

  it('serves the second identical request from the cache', async () => {
    const body = pairing('Everton', 'Leicester', '2020-11-07');
    const first = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body });
    const second = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body });
    expect([first.body.cached, second.body.cached]).toEqual([false, true]);
    expect(second.body.probabilities).toEqual(first.body.probabilities);
    expect(second.body.inputsHash).toBe(first.body.inputsHash);
  });
});

describe('POST /v1/predict/batch', () => {
  it('forecasts every request, in order', async () => {
    const requests = [{ matchId: fx.coming[2] }, pairing('Wolves', 'Leicester', '2020-09-26'), { matchId: fx.coming[3] }];
    const r = await s.call('POST', '/v1/predict/batch', { key: fx.keys.predictor, body: { requests } });
    expect(r.status, r.text).toBe(200);
    spec.conforms('POST /v1/predict/batch', r);
    expect(r.body.forecasts.map((f: { matchId: number | null; home: string }) => [f.matchId, f.home])).toEqual([
      [fx.coming[2], COMING[2].home],
      [null, 'Wolves'],
      [fx.coming[3], COMING[3].home],
    ]);
    // The same forecasts one by one.
    for (const [k, req] of requests.entries()) {
      const one = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: req });
      expect(one.body.probabilities).toEqual(r.body.forecasts[k].probabilities);
    }
  });

  it('takes 1000 requests', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0 ? { matchId: fx.coming[i % fx.coming.length]! } : pairing('Arsenal', 'Chelsea', '2020-12-26'),
    );
    const r = await s.call('POST', '/v1/predict/batch', { key: fx.keys.predictor, body: { requests } });
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    expect(r.body.forecasts).toHaveLength(1000);
  });
});

describe('GET /v1/predictions', () => {
  it('pages newest first by keyset, every stored prediction exactly once', async () => {
    await s.server.runtime.sink.drain();
    const total = Number(
      (
        await fx.store.db
          .selectFrom('predictions')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(total).toBeGreaterThan(1000);
    const ids: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: HttpResponse<{ items: Array<{ id: number }>; nextCursor: string | null }> = await s.call(
        'GET',
        `/v1/predictions?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        { key: fx.keys.viewer },
      );
      expect(r.status).toBe(200);
      if (pages === 0) spec.conforms('GET /v1/predictions', r);
      ids.push(...r.body.items.map((p) => p.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it('filters, and shows who asked to admins only', async () => {
    await s.server.runtime.sink.drain();
    const asked = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[4] }, headers: { 'x-request-id': 'filter-me' } });
    expect(asked.status).toBe(200);
    await s.server.runtime.sink.drain();
    const q = `/v1/predictions?match=${fx.coming[4]}&competition=e0&model=${MODEL}&version=1&source=api&limit=500`;
    const admin = await s.call('GET', q, { key: fx.keys.admin });
    expect(admin.status).toBe(200);
    spec.conforms('GET /v1/predictions', admin);
    expect(admin.body.items.length).toBeGreaterThan(0);
    expect(
      admin.body.items.every(
        (p: { matchId: number; model: { version: number }; source: string }) => p.matchId === fx.coming[4] && p.model.version === 1 && p.source === 'api',
      ),
    ).toBe(true);
    const mine = admin.body.items.find((p: { requestId: string }) => p.requestId === 'filter-me');
    expect(mine).toMatchObject({
      principal: expect.stringMatching(/^key:\d+$/),
      probabilities: asked.body.probabilities,
      home: COMING[4].home,
      away: COMING[4].away,
    });
    const viewer = await s.call('GET', q, { key: fx.keys.viewer });
    expect(viewer.body.items).toHaveLength(admin.body.items.length);
    expect(viewer.body.items.every((p: { principal: null; requestId: null }) => p.principal === null && p.requestId === null)).toBe(true);
    const none = await s.call('GET', `/v1/predictions?version=99`, { key: fx.keys.viewer });
    expect(none.body).toEqual({ items: [], nextCursor: null });
    const since = await s.call('GET', `/v1/predictions?since=2999-01-01&limit=5`, { key: fx.keys.viewer });
    expect(since.body.items).toEqual([]);
  });
});

describe('KServe v2', () => {
  const dcPackage = () => path.join(fx.dir, '.oracx', 'registry', MODEL, '1', 'model.onnx');

  it('answers server metadata and health', async () => {
    const meta = await s.call('GET', '/v2');
    expect(meta.status).toBe(200);
    spec.conforms('GET /v2', meta);
    expect(meta.body).toMatchObject({ name: 'oracx', extensions: [] });
    const live = await s.call('GET', '/v2/health/live');
    expect(live.body).toEqual({ live: true });
    spec.conforms('GET /v2/health/live', live);
    const ready = await s.call('GET', '/v2/health/ready');
    expect([ready.status, ready.body]).toEqual([200, { ready: true }]);
    spec.conforms('GET /v2/health/ready', ready);
  });

  it('describes the served model by name, variant and version', async () => {
    const byName = await s.call('GET', `/v2/models/${MODEL}`, { key: fx.keys.viewer });
    expect(byName.status).toBe(200);
    spec.conforms('GET /v2/models/{name}', byName);
    expect(byName.body).toEqual({
      name: MODEL,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: ['home', 'away', 'competition'].map((name) => ({ name, datatype: 'INT64', shape: [-1] })),
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }],
    });
    const byVariant = await s.call('GET', '/v2/models/champion', { key: fx.keys.viewer });
    expect(byVariant.body.inputs).toEqual(byName.body.inputs);
    const versioned = await s.call('GET', `/v2/models/${MODEL}/versions/1`, { key: fx.keys.viewer });
    expect(versioned.status).toBe(200);
    spec.conforms('GET /v2/models/{name}/versions/{version}', versioned);
    const ready = await s.call('GET', `/v2/models/${MODEL}/versions/1/ready`, { key: fx.keys.viewer });
    expect(ready.body).toEqual({ name: MODEL, ready: true });
    spec.conforms('GET /v2/models/{name}/versions/{version}/ready', ready);
    const readyByName = await s.call('GET', `/v2/models/${MODEL}/ready`, { key: fx.keys.viewer });
    expect(readyByName.body).toEqual({ name: MODEL, ready: true });
    spec.conforms('GET /v2/models/{name}/ready', readyByName);

    const otherVersion = await s.call('GET', `/v2/models/${MODEL}/versions/2`, { key: fx.keys.viewer });
    expect(expectProblem(otherVersion, 404, 'model_version_not_found').error).toMatch(/version 2 not found/);
    spec.conforms('GET /v2/models/{name}/versions/{version}', otherVersion);
    const unknown = await s.call('GET', '/v2/models/nope', { key: fx.keys.viewer });
    expect(expectProblem(unknown, 404, 'model_not_found').error).toBe('model nope not found');
    spec.conforms('GET /v2/models/{name}', unknown);
  });

  it('infers the probabilities /v1/predict gives for the same match, and the ONNX graph run directly', async () => {
    const bytes = readFileSync(dcPackage());
    const meta = readOnnxMetadata(bytes);
    const rows = await fx.store.db.selectFrom('matches').select(['id', 'home_team_id', 'away_team_id']).where('id', 'in', fx.coming).orderBy('id').execute();
    const index = (id: number) => meta.teams!.indexOf(id);
    // Norwich and the others all played in the training window, except promoted sides: those map to the unseen slot.
    const home = rows.map((r) => (index(Number(r.home_team_id)) < 0 ? meta.teams!.length : index(Number(r.home_team_id))));
    const away = rows.map((r) => (index(Number(r.away_team_id)) < 0 ? meta.teams!.length : index(Number(r.away_team_id))));
    const competition = rows.map(() => meta.competitions!.indexOf('E0'));
    const body = {
      id: 'cmp-1',
      inputs: [
        { name: 'home', datatype: 'INT64', shape: [rows.length], data: home },
        { name: 'away', datatype: 'INT64', shape: [rows.length], data: away },
        { name: 'competition', datatype: 'INT64', shape: [rows.length], data: competition },
      ],
    };
    const r = await s.call('POST', `/v2/models/${MODEL}/infer`, { key: fx.keys.predictor, body });
    expect(r.status, r.text).toBe(200);
    spec.conforms('POST /v2/models/{name}/infer', r);
    expect(r.body).toMatchObject({
      model_name: MODEL,
      model_version: '1',
      id: 'cmp-1',
      outputs: [{ name: 'probs', datatype: 'FP32', shape: [rows.length, 3] }],
    });
    const data: number[] = r.body.outputs[0].data;

    const scorer = await OnnxScorer.create(bytes);
    try {
      const direct = await scorer.score({
        home: new Tensor('int64', BigInt64Array.from(home.map(BigInt)), [rows.length]),
        away: new Tensor('int64', BigInt64Array.from(away.map(BigInt)), [rows.length]),
        competition: new Tensor('int64', BigInt64Array.from(competition.map(BigInt)), [rows.length]),
      });
      expect(data).toEqual(Array.from(direct));
    } finally {
      await scorer.release();
    }
    for (const [k, row] of rows.entries()) {
      const v1 = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: Number(row.id) } });
      const p = v1.body.probabilities;
      expect(data.slice(k * 3, k * 3 + 3)).toEqual([p.home, p.draw, p.away]);
    }
    // The versioned path gives the same.
    const versioned = await s.call('POST', `/v2/models/${MODEL}/versions/1/infer`, { key: fx.keys.predictor, body });
    expect(versioned.body.outputs[0].data).toEqual(data);
    spec.conforms('POST /v2/models/{name}/versions/{version}/infer', versioned);
  });

  it('infers from a features tensor for a feature model, equal to /v1/predict', async () => {
    const lr = await startTestServer(fx, { model: `${MODEL}/2` });
    try {
      const predictor = lr.server.runtime.primary;
      const requests = [{ matchId: fx.coming[0]! }, pairing('Arsenal', 'Chelsea', '2020-10-03')] as PredictRequest[];
      const vectors = requests.map((q) => Array.from(predictor.prepare(q).vector));
      const width = vectors[0]!.length;
      const meta = await lr.call('GET', `/v2/models/${MODEL}`, { key: fx.keys.viewer });
      expect(meta.body.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, width] }]);
      const r = await lr.call('POST', `/v2/models/${MODEL}/versions/2/infer`, {
        key: fx.keys.predictor,
        body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [2, width], data: vectors }] },
      });
      expect(r.status, r.text).toBe(200);
      const data: number[] = r.body.outputs[0].data;
      for (const [k, q] of requests.entries()) {
        const v1 = await lr.call('POST', '/v1/predict', { key: fx.keys.predictor, body: q });
        expect(v1.body.model.version).toBe(2);
        const p = v1.body.probabilities;
        expect(data.slice(k * 3, k * 3 + 3)).toEqual([p.home, p.draw, p.away]);
      }
      // Raw tensors carry no match: v2 forecasts are not stored.
      await lr.server.runtime.sink.drain();
      expect(lr.server.runtime.sink.written).toBe(requests.length);
      // Values FP32 cannot hold, or that overflow inside the graph: 400, not a 500 on a NaN.
      for (const v of [1e39, -1e300, 3e38]) {
        const huge = await lr.call('POST', `/v2/models/${MODEL}/infer`, {
          key: fx.keys.predictor,
          body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, width], data: Array(width).fill(v) }] },
        });
        expect(expectProblem(huge, 400, 'invalid_tensor').detail, String(v)).toMatch(/FP32|not a number/);
      }
      expect(lr.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await lr.close();
    }
  });

  it('explains bad tensors', async () => {
    const infer = (body: unknown) => s.call('POST', `/v2/models/${MODEL}/infer`, { key: fx.keys.predictor, body });
    const t = (name: string, data: unknown[], shape = [data.length], datatype = 'INT64') => ({ name, datatype, shape, data });
    const missing = await infer({ inputs: [t('home', [0]), t('away', [1])] });
    expect(expectProblem(missing, 400, 'invalid_tensor').error).toMatch(/"competition" is missing/);
    spec.conforms('POST /v2/models/{name}/infer', missing);
    expectProblem(await infer({ inputs: [t('home', [0]), t('away', [1]), t('competition', [0]), t('extra', [0])] }), 400, 'invalid_tensor');
    expectProblem(await infer({ inputs: [t('home', [0, 1]), t('away', [1]), t('competition', [0])] }), 400, 'invalid_tensor');
    expectProblem(await infer({ inputs: [t('home', [-1]), t('away', [1]), t('competition', [0])] }), 400, 'invalid_tensor');
    expectProblem(await infer({ inputs: [t('home', [0], [1], 'FP32'), t('away', [1]), t('competition', [0])] }), 400, 'invalid_tensor');
    expectProblem(await infer({ inputs: [t('home', [0, 1], [1]), t('away', [1]), t('competition', [0])] }), 400, 'invalid_tensor');
    const unknown = await s.call('POST', '/v2/models/nope/infer', { key: fx.keys.predictor, body: { inputs: [t('home', [0])] } });
    expectProblem(unknown, 404, 'model_not_found');
    const viewer = await s.call('POST', `/v2/models/${MODEL}/infer`, { key: fx.keys.viewer, body: { inputs: [t('home', [0])] } });
    expectProblem(viewer, 403, 'forbidden');
    expect((await s.call('GET', '/health/live')).status).toBe(200);
  });
});
