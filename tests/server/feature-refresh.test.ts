// Results arriving while the service runs: once the feature state is refreshed from the store, a match that was
// played is 409, the frontier moves (pairings on or before it are 422), forecasts of teams that played change and are
// not served from the cache of the old state.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServableStore,
  COMING,
  comingCsv,
  expectProblem,
  FRONTIER,
  MODEL,
  pairing,
  startTestServer,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';

let fx: ServableStore;
let s: TestServer;

beforeAll(async () => {
  fx = await buildServableStore();
  // The logreg model reads features (Elo, form, ...), so new results change its forecasts.
  s = await startTestServer(fx, { model: `${MODEL}/${fx.versions.logreg}` });
});

afterAll(async () => {
  await s?.close();
  await fx?.close();
});

describe('new results while serving', () => {
  it('moves the frontier, refuses played matches and serves forecasts from the new state', async () => {
    const liverpool = pairing('Liverpool', 'Chelsea', '2020-09-19');
    const before = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: liverpool });
    expect(before.status, before.text).toBe(200);
    expect((await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: liverpool })).body.cached).toBe(true);
    const unaffected = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[5] } });

    // The three matches of 2020-09-12 are played: Liverpool lose at home to Norwich.
    const dir = path.join(fx.dir, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'E0_2020-2021.csv'), comingCsv({ 0: [0, 3], 1: [1, 1], 2: [2, 0] }), 'latin1');
    const collected = await fx.cli(['collect', 'football-data', dir, '--json']);
    expect(collected.code, collected.stderr).toBe(0);

    // Not seen before the refresh: still the old state.
    expect((await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: liverpool })).body.cached).toBe(true);
    await s.server.runtime.refreshFeatures();

    const detailed = await s.call('GET', '/health/detailed', { key: fx.keys.admin });
    expect(detailed.body.features).toEqual([expect.objectContaining({ featureSet: 'core@2', frontier: COMING[0].date, results: 1143 })]);
    const played = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[0] } });
    expect(expectProblem(played, 409, 'match_finished').detail).toMatch(/was played on 2020-09-12 \(0–3\)/);
    const onFrontier = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: pairing('Arsenal', 'Chelsea', COMING[0].date) });
    expect(expectProblem(onFrontier, 422, 'date_not_upcoming').frontier).toBe(COMING[0].date);
    expect(COMING[0].date > FRONTIER).toBe(true);

    const after = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: liverpool });
    expect(after.body.cached).toBe(false);
    expect(after.body.inputsHash).not.toBe(before.body.inputsHash);
    expect(after.body.probabilities.home).toBeLessThan(before.body.probabilities.home);
    // A match whose teams did not play keeps its inputs (but the cache was cleared with the state).
    const same = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: fx.coming[5] } });
    expect(same.body.inputsHash).toBe(unaffected.body.inputsHash);

    const scheduled = await s.call('GET', '/v1/matches?status=scheduled', { key: fx.keys.viewer });
    expect(scheduled.body.items.map((m: { id: number }) => m.id)).toEqual(fx.coming.slice(3));
  });
});
