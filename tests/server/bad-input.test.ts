// Bad input over real HTTP: each gets its status and a clear problem document, the process keeps serving, and nothing
// is written to the predictions table.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KEY_CACHE_MS } from '../../src/server/auth/api-key-auth.js';
import {
  buildServableStore,
  countPredictions,
  eventually,
  expectProblem,
  FRONTIER,
  pairing,
  SpecChecker,
  startTestServer,
  type HttpResponse,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';

let fx: ServableStore;
let s: TestServer;
let spec: SpecChecker;
let before = 0;

beforeAll(async () => {
  fx = await buildServableStore();
  s = await startTestServer(fx);
  spec = await SpecChecker.load(s);
});

afterAll(async () => {
  await s?.close();
  await fx?.close();
});

beforeEach(async () => {
  await s.server.runtime.sink.drain();
  before = await countPredictions(fx.store);
});

// After every bad request: still serving, nothing half-written.
afterEach(async () => {
  expect((await s.call('GET', '/health/live')).status).toBe(200);
  expect((await s.call('GET', '/health/ready')).status).toBe(200);
  await s.server.runtime.sink.drain();
  expect(await countPredictions(fx.store)).toBe(before);
  expect(s.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
});

const predict = (body: unknown, key = fx.keys.predictor) => s.call('POST', '/v1/predict', { key, body });
const batch = (requests: unknown[]) => s.call('POST', '/v1/predict/batch', { key: fx.keys.predictor, body: { requests } });
const documented = (operation: string, res: HttpResponse) => spec.conforms(operation, res);

describe('malformed requests', () => {
  it('malformed JSON: 400', async () => {
    const r = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, raw: '{"matchId": 12,', contentType: 'application/json' });
    expect(expectProblem(r, 400, 'malformed_request').detail).toMatch(/not valid JSON/);
    documented('POST /v1/predict', r);
  });

  it('an empty body: 400', async () => {
    const r = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, raw: '', contentType: 'application/json' });
    expectProblem(r, 400, /empty_body|malformed_request/);
    documented('POST /v1/predict', r);
  });

  it('wrong types: 400 naming the field', async () => {
    const r = await predict({ matchId: 'twelve' });
    expect(expectProblem(r, 400, 'validation_failed').detail).toBe('body/matchId must be integer');
    documented('POST /v1/predict', r);
    const date = await predict(pairing('Arsenal', 'Chelsea', '12/09/2020'));
    expect(expectProblem(date, 400, 'validation_failed').detail).toMatch(/^body\/date must match pattern/);
    // A date that does not exist is malformed like 12/09/2020, not a date the model cannot serve.
    for (const impossible of ['2021-02-30', '2021-02-29', '2021-04-31']) {
      const r = await predict(pairing('Arsenal', 'Chelsea', impossible));
      expect(expectProblem(r, 400, 'validation_failed').detail, impossible).toBe('body/date must match format "date"');
      documented('POST /v1/predict', r);
      const inBatch = await batch([{ matchId: fx.coming[0] }, pairing('Arsenal', 'Chelsea', impossible)]);
      expect(expectProblem(inBatch, 400, 'validation_failed').detail, impossible).toMatch(/^body\/requests\/1\/date must match format "date"/);
    }
    const odds = await predict(pairing('Arsenal', 'Chelsea', '2020-09-19', { odds: { home: 1, draw: 3, away: 4 } }));
    expect(expectProblem(odds, 400, 'validation_failed').detail).toMatch(/^body\/odds\/home must be > 1/);
    const notObject = await predict([{ matchId: 1 }]);
    expectProblem(notObject, 400, 'validation_failed');
  });

  it('values of the wrong JSON type are not coerced: 400', async () => {
    // A numeric string is not a match id, false is not null, a number is not a team name.
    const numericString = await predict({ matchId: String(fx.coming[0]) });
    expect(expectProblem(numericString, 400, 'validation_failed').detail).toBe('body/matchId must be integer');
    const falseOdds = await predict(pairing('Arsenal', 'Chelsea', '2020-09-19', { odds: false }));
    expect(expectProblem(falseOdds, 400, 'validation_failed').detail).toMatch(/^body\/odds must be/);
    const numberTeam = await predict({ competition: 'E0', home: 11, away: 'Chelsea', date: '2020-09-19' });
    expect(expectProblem(numberTeam, 400, 'validation_failed').detail).toBe('body/home must be string');
    const inBatch = await batch([{ matchId: fx.coming[0] }, { matchId: String(fx.coming[1]) }]);
    expect(expectProblem(inBatch, 400, 'validation_failed').detail).toBe('body/requests/1/matchId must be integer');
    const tensor = await s.call('POST', '/v2/models/oracx-e0/infer', {
      key: fx.keys.predictor,
      body: { inputs: [{ name: 'home', datatype: 'INT64', shape: ['1'], data: [0] }] },
    });
    expect(expectProblem(tensor, 400).detail).toMatch(/shape\/0 must be integer/);
    // Query strings and path parameters are text: those are still read as numbers.
    expect((await s.call('GET', '/v1/matches?limit=2', { key: fx.keys.viewer })).body.items).toHaveLength(2);
    expect((await s.call('GET', `/v1/matches/${fx.coming[0]}`, { key: fx.keys.viewer })).status).toBe(200);
    expect((await s.call('GET', `/v1/predictions?limit=1&version=1`, { key: fx.keys.viewer })).status).toBe(200);
    for (const route of ['/v1/matches?limit=two', '/v1/matches?limit=true', '/v1/matches/true', '/v1/predictions?version=true', '/v1/matches?limit=1e1']) {
      expectProblem(await s.call('GET', route, { key: fx.keys.viewer }), 400, 'validation_failed');
    }
  });

  it('extra fields: 400 naming the field', async () => {
    const r = await predict(pairing('Arsenal', 'Chelsea', '2020-09-19', { venue: 'Emirates' }));
    const doc = expectProblem(r, 400, 'validation_failed');
    expect(doc.detail).toMatch(/additional propert.*venue/);
    documented('POST /v1/predict', r);
    const byId = await predict({ matchId: fx.coming[0], extra: true });
    expect(expectProblem(byId, 400, 'validation_failed').detail).toMatch(/additional propert.*extra/);
    const inBatch = await batch([{ matchId: fx.coming[0] }, { matchId: fx.coming[1], note: 'x' }]);
    expect(expectProblem(inBatch, 400, 'validation_failed').detail).toMatch(/requests\/1.*additional propert.*note/);
    const query = await s.call('GET', '/v1/matches?teams=Arsenal', { key: fx.keys.viewer });
    expect(expectProblem(query, 400, 'validation_failed').detail).toMatch(/additional propert.*teams/);
  });

  it('a missing field: 400 naming it', async () => {
    const r = await predict({ competition: 'E0', home: 'Arsenal', away: 'Chelsea' });
    expect(expectProblem(r, 400, 'validation_failed').detail).toMatch(/'date'/);
  });

  it('a wrong content type: 415, text/plain included', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, raw: JSON.stringify({ matchId: fx.coming[0] }), contentType });
      const doc = expectProblem(r, 415, 'unsupported_media_type');
      expect(doc.detail).toContain('application/json');
      documented('POST /v1/predict', r);
    }
    const infer = await s.call('POST', '/v2/models/oracx-e0/infer', { key: fx.keys.predictor, raw: '{}', contentType: 'text/plain' });
    expectProblem(infer, 415, 'unsupported_media_type');
  });

  it('an oversized body: 413, for a single forecast above 64 KiB and a batch above 1 MiB', async () => {
    const single = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, raw: JSON.stringify({ matchId: fx.coming[0], pad: 'x'.repeat(70 * 1024) }) });
    expectProblem(single, 413, 'body_too_large');
    documented('POST /v1/predict', single);
    const requests = Array.from({ length: 1000 }, () => pairing('Arsenal'.padEnd(100, ' '), 'Chelsea'.padEnd(100, ' '), '2020-09-19'));
    const big = await s.call('POST', '/v1/predict/batch', { key: fx.keys.predictor, raw: JSON.stringify({ requests, pad: 'x'.repeat(1024 * 1024) }) });
    expectProblem(big, 413, 'body_too_large');
    documented('POST /v1/predict/batch', big);
  });

  it('an oversized batch (1001 requests): 400 saying the limit', async () => {
    const r = await batch(Array.from({ length: 1001 }, () => ({ matchId: fx.coming[0] })));
    expect(expectProblem(r, 400, 'validation_failed').detail).toBe('body/requests must NOT have more than 1000 items');
    documented('POST /v1/predict/batch', r);
    expectProblem(await batch([]), 400, 'validation_failed');
  });

  it('a path parameter that is not a number or too long, or a malformed URL: problem documents', async () => {
    const notNumber = await s.call('GET', '/v1/matches/abc', { key: fx.keys.viewer });
    expect(expectProblem(notNumber, 400, 'validation_failed').detail).toBe('params/id must be integer');
    const longName = await s.call('GET', `/v2/models/${'m'.repeat(300)}`, { key: fx.keys.viewer });
    expectProblem(longName, 400);
    documented('GET /v2/models/{name}', longName);
    const badEscape = await s.call('GET', '/v1/matches/%E0%A4%A', { key: fx.keys.viewer });
    expectProblem(badEscape, 400, 'bad_url');
    documented('GET /v1/matches/{id}', badEscape);
  });

  it('impossible or malformed dates in filters: 400', async () => {
    const r = await s.call('GET', '/v1/matches?from=2021-02-30', { key: fx.keys.viewer });
    expect(expectProblem(r, 400, 'validation_failed').detail).toMatch(/from must match format "date"/);
    // Not a leap year; a 31st in a 30-day month.
    for (const query of ['from=2019-02-29', 'to=2019-04-31', 'from=2020-02-28&to=1900-02-29']) {
      const bad = await s.call('GET', `/v1/matches?${query}`, { key: fx.keys.viewer });
      expect(expectProblem(bad, 400, 'validation_failed').detail, query).toMatch(/(from|to) must match format "date"/);
      documented('GET /v1/matches', bad);
    }
    const since = await s.call('GET', '/v1/predictions?since=2020-13-45', { key: fx.keys.viewer });
    expectProblem(since, 400, 'validation_failed');
    documented('GET /v1/predictions', since);
    for (const query of ['since=2019-02-29', 'until=2019-02-29T10:00:00Z']) {
      const bad = await s.call('GET', `/v1/predictions?${query}`, { key: fx.keys.viewer });
      expect(expectProblem(bad, 400, 'validation_failed').detail, query).toMatch(/is not an existing date/);
    }
    // A leap day is a day.
    expect((await s.call('GET', '/v1/matches?from=2020-02-29&to=2020-02-29', { key: fx.keys.viewer })).status).toBe(200);
  });

  it('a reversed range of matches: 400 invalid_range saying which bound is after which', async () => {
    const matches = await s.call('GET', '/v1/matches?from=2020-01-01&to=2019-01-01', { key: fx.keys.viewer });
    expect(expectProblem(matches, 400, 'invalid_range').detail).toBe('from 2020-01-01 is after to 2019-01-01');
    documented('GET /v1/matches', matches);
    // One day is a range.
    expect((await s.call('GET', '/v1/matches?from=2020-01-01&to=2020-01-01', { key: fx.keys.viewer })).status).toBe(200);
  });

  it('a reversed range of predictions: 400 invalid_range, instants compared (a date is its midnight, UTC)', async () => {
    const predictions = await s.call('GET', '/v1/predictions?since=2020-01-02&until=2020-01-01', { key: fx.keys.viewer });
    expect(expectProblem(predictions, 400, 'invalid_range').detail).toBe('since 2020-01-02 is after until 2020-01-01');
    documented('GET /v1/predictions', predictions);
    const times = await s.call('GET', '/v1/predictions?since=2020-01-01T12:00Z&until=2020-01-01T11:59:59Z', { key: fx.keys.viewer });
    expect(expectProblem(times, 400, 'invalid_range').detail).toBe('since 2020-01-01T12:00Z is after until 2020-01-01T11:59:59Z');
    // One instant is a range.
    expect((await s.call('GET', '/v1/predictions?since=2020-01-01T00:00:00Z&until=2020-01-01', { key: fx.keys.viewer })).status).toBe(200);
  });

  it('a cursor that no page gave: 400 invalid_cursor, worded for the API', async () => {
    const r = await s.call('GET', '/v1/matches?cursor=abc', { key: fx.keys.viewer });
    const doc = expectProblem(r, 400, 'invalid_cursor');
    expect(doc.detail).not.toContain('--');
    expect(doc.detail).toMatch(/nextCursor/);
    documented('GET /v1/matches', r);
    const predictions = await s.call('GET', '/v1/predictions?cursor=abc', { key: fx.keys.viewer });
    expectProblem(predictions, 400, 'validation_failed');
  });

  it('a method the route does not take: 405 with Allow', async () => {
    const r = await s.call('DELETE', '/v1/predict', { key: fx.keys.admin });
    expectProblem(r, 405, 'method_not_allowed');
    expect(r.headers.allow).toBe('POST');
    const get = await s.call('PUT', `/v1/matches/${fx.coming[0]}`, { key: fx.keys.admin });
    expectProblem(get, 405, 'method_not_allowed');
    expect(String(get.headers.allow).split(', ').sort()).toEqual(['GET', 'HEAD']);
    expectProblem(await s.call('DELETE', '/v1/nowhere', { key: fx.keys.admin }), 404, 'not_found');
    // QUERY (a method with a body) without a Content-Type fails before routing: still a 405.
    const query = await s.call('QUERY', '/v1/models', { key: fx.keys.admin });
    expectProblem(query, 405, 'method_not_allowed');
    expect(query.headers.allow).toBe('GET, HEAD');
  });
});

describe('requests that cannot be served', () => {
  it('unknown teams and competitions: 422 with suggestions', async () => {
    const team = await predict(pairing('Arsenl', 'Chelsea'));
    const doc = expectProblem(team, 422, 'unknown_team');
    expect(doc.detail).toMatch(/unknown team "Arsenl" in E0.*did you mean "Arsenal"/);
    expect(doc.suggestions).toEqual(expect.arrayContaining(['Arsenal']));
    documented('POST /v1/predict', team);
    const away = await predict(pairing('Arsenal', 'Man Utd.'));
    expect(expectProblem(away, 422, 'unknown_team').suggestions).toContain('Man United');
    const comp = await predict({ ...pairing('Arsenal', 'Chelsea'), competition: 'EO' });
    const c = expectProblem(comp, 422, 'unknown_competition');
    expect(c.suggestions).toEqual(['E0']);
    const same = await predict(pairing('Arsenal', 'arsenal'));
    expectProblem(same, 422, 'same_team');
  });

  it('a date at or before the latest result: 422 date_not_upcoming with the frontier', async () => {
    for (const date of ['2019-01-01', FRONTIER]) {
      const r = await predict(pairing('Arsenal', 'Chelsea', date));
      const doc = expectProblem(r, 422, 'date_not_upcoming');
      expect(doc.frontier).toBe(FRONTIER);
      expect(doc.detail).toContain(FRONTIER);
    }
  });

  it('a date more than 400 days after the latest result: 422 date_out_of_range; 400 days is fine', async () => {
    const r = await predict(pairing('Arsenal', 'Chelsea', '2021-08-31'));
    expect(expectProblem(r, 422, 'date_out_of_range').detail).toMatch(/401 days after the latest result.*at most 400/);
    const edge = await predict(pairing('Arsenal', 'Chelsea', '2021-08-30'));
    expect(edge.status, edge.text).toBe(200);
    await s.server.runtime.sink.drain();
    before += 1;
  });

  it('a finished match: 409; an unknown id: 404', async () => {
    const finished = await predict({ matchId: 1 });
    expect(expectProblem(finished, 409, 'match_finished').detail).toMatch(/match 1 was played on 2017-08-11/);
    documented('POST /v1/predict', finished);
    const unknown = await predict({ matchId: 999_999 });
    expectProblem(unknown, 404, 'match_not_found');
    documented('POST /v1/predict', unknown);
  });

  it('a batch with bad items: 422 with one error per bad item, nothing stored', async () => {
    const r = await batch([
      { matchId: fx.coming[0] },
      pairing('Arsenl', 'Chelsea'),
      { matchId: 1 },
      pairing('Arsenal', 'Chelsea', '2021-08-31'),
      { matchId: 999_999 },
    ]);
    const doc = expectProblem(r, 422, 'batch_invalid');
    expect(doc.detail).toBe('4 of 5 request(s) cannot be forecast; nothing was stored');
    expect(doc.errors).toEqual([
      expect.objectContaining({ index: 1, status: 422, code: 'unknown_team' }),
      expect.objectContaining({ index: 2, status: 409, code: 'match_finished' }),
      expect.objectContaining({ index: 3, status: 422, code: 'date_out_of_range' }),
      expect.objectContaining({ index: 4, status: 404, code: 'match_not_found' }),
    ]);
    documented('POST /v1/predict/batch', r);
  });

  it('a batch of one bad request is still a batch: 422 batch_invalid', async () => {
    const r = await batch([{ matchId: 999_999 }]);
    const doc = expectProblem(r, 422, 'batch_invalid');
    expect(doc.errors).toEqual([expect.objectContaining({ index: 0, status: 404, code: 'match_not_found' })]);
  });
});

describe('credentials', () => {
  it('no key, a malformed header, an unknown key: 401', async () => {
    expectProblem(await predict({ matchId: fx.coming[0] }, ''), 401, 'unauthenticated');
    const malformed = await s.call('POST', '/v1/predict', { body: { matchId: fx.coming[0] }, headers: { authorization: 'Basic abc' } });
    expectProblem(malformed, 401, 'unauthenticated');
    const unknown = await predict({ matchId: fx.coming[0] }, `oxk_AAAAAAAA_${'A'.repeat(43)}`);
    expect(expectProblem(unknown, 401, 'unauthenticated').reason).toBe('key_unknown');
    documented('POST /v1/predict', unknown);
  });

  it('a revoked key: 401 at once when unused, within the key cache time when it was just used', async () => {
    const fresh = await fx.createKey('predictor', 'revoked-unused');
    const used = await fx.createKey('predictor', 'revoked-used');
    expect((await predict({ matchId: fx.coming[0] }, used.key)).status).toBe(200);
    await s.server.runtime.sink.drain();
    before += 1;
    for (const k of [fresh, used]) expect((await fx.cli(['auth', 'keys', 'revoke', String(k.id)])).code).toBe(0);
    const r = await predict({ matchId: fx.coming[0] }, fresh.key);
    const doc = expectProblem(r, 401, 'unauthenticated');
    expect(doc.reason).toBe('key_revoked');
    expect(doc.detail).toMatch(/is revoked/);
    expect(r.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    const started = Date.now();
    // Polled on a read-only route: forecasts it still allowed would be stored.
    await eventually(async () => expectProblem(await s.call('GET', '/v1/models', { key: used.key }), 401, 'unauthenticated'), KEY_CACHE_MS + 2000, 200);
    expect(Date.now() - started).toBeLessThan(KEY_CACHE_MS + 2000);
  });
});
