// Hot reload under load: while callers keep POSTing /v1/predict, the champion alias moves to another version and the
// server swaps it in without a single failed request; a move to a broken version keeps the old one serving.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServableStore,
  eventually,
  MODEL,
  pairing,
  startLoad,
  startTestServer,
  type LoadResult,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';

let fx: ServableStore;
let s: TestServer;
let broken = 0;

const bodies = () => [
  { matchId: fx.coming[0] },
  pairing('Arsenal', 'Chelsea', '2020-10-03'),
  { matchId: fx.coming[1] },
  pairing('Everton', 'Burnley', '2020-10-10'),
  pairing('Tottenham', 'Liverpool', '2020-10-17'),
  { matchId: fx.coming[5] },
];

beforeAll(async () => {
  fx = await buildServableStore();
  // A third version whose package is then corrupted: its model.onnx is not ONNX.
  const run = Number((await fx.store.db.selectFrom('training_runs').select('id').where('model', '=', 'dixon-coles').executeTakeFirstOrThrow()).id);
  const r = await fx.cli(['register', '--run', String(run), '--name', MODEL, '--registry', 'local', '--json']);
  expect(r.code, r.stderr).toBe(0);
  broken = r.json<{ version: { version: number } }>().version.version;
  writeFileSync(path.join(fx.dir, '.oracx', 'registry', MODEL, String(broken), 'model.onnx'), 'this is not an ONNX model\n');
  s = await startTestServer(fx);
});

afterAll(async () => {
  await s?.close();
  await fx?.close();
});

function summary(results: LoadResult[]): string {
  const by = new Map<string, number>();
  for (const r of results) by.set(`${r.status}/${r.version}`, (by.get(`${r.status}/${r.version}`) ?? 0) + 1);
  return JSON.stringify(Object.fromEntries(by)) + (results.find((r) => r.error) ? ` first error: ${results.find((r) => r.error)!.error}` : '');
}

describe('hot reload under load', () => {
  it('moves to the version the champion alias names, with zero failed requests', async () => {
    expect(s.server.runtime.champion.current.identity.version).toBe(fx.versions.dixonColes);
    const load = startLoad(s, { key: fx.keys.predictor, bodies: bodies(), concurrency: 16 });
    await eventually(async () => expect(load.results.length).toBeGreaterThanOrEqual(50));
    await (await s.registry()).setAlias(MODEL, 'champion', fx.versions.logreg);
    const polled = await s.server.runtime.champion.poll();
    const swappedAt = performance.now();
    await eventually(async () => expect(load.results.filter((r) => r.startedAt > swappedAt + 1).length).toBeGreaterThanOrEqual(50));
    const results = await load.stop();

    expect(polled).toBe('reloaded');
    expect(
      results.filter((r) => r.status !== 200),
      summary(results),
    ).toEqual([]);
    const before = results.filter((r) => r.endedAt < swappedAt - 1);
    const after = results.filter((r) => r.startedAt > swappedAt + 1);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(10);
    // Before the alias moved: the old version; every request sent after the swap: the new one.
    expect(new Set(results.filter((r) => r.endedAt < swappedAt - 1 && r.startedAt < swappedAt - 1).map((r) => r.version)).has(fx.versions.dixonColes)).toBe(
      true,
    );
    expect(new Set(after.map((r) => r.version))).toEqual(new Set([fx.versions.logreg]));
    expect(new Set(results.map((r) => r.version))).toEqual(new Set([fx.versions.dixonColes, fx.versions.logreg]));

    const models = await s.call('GET', '/v1/models', { key: fx.keys.viewer });
    expect(models.body.models[0]).toMatchObject({ variant: 'champion', uri: `${MODEL}/${fx.versions.logreg}`, version: fx.versions.logreg, kind: 'logreg' });
    const v2 = await s.call('GET', `/v2/models/${MODEL}`, { key: fx.keys.viewer });
    expect(v2.body.versions).toEqual([String(fx.versions.logreg)]);
    expect(s.logger.text()).toContain(`champion: now serving ${MODEL}/${fx.versions.logreg} (was ${MODEL}/${fx.versions.dixonColes})`);

    // Every answer is stored under the version that gave it.
    await s.server.runtime.sink.drain();
    const stored = await fx.store.db
      .selectFrom('predictions')
      .select(['model_version'])
      .select((eb) => eb.fn.countAll().as('n'))
      .groupBy('model_version')
      .execute();
    const counts = Object.fromEntries(stored.map((r) => [r.model_version, Number(r.n)]));
    expect(counts).toEqual({
      [fx.versions.dixonColes]: results.filter((r) => r.version === fx.versions.dixonColes).length,
      [fx.versions.logreg]: results.filter((r) => r.version === fx.versions.logreg).length,
    });
  });

  it('keeps serving the old version when the alias moves to a broken one', async () => {
    const load = startLoad(s, { key: fx.keys.predictor, bodies: bodies(), concurrency: 8 });
    await eventually(async () => expect(load.results.length).toBeGreaterThanOrEqual(20));
    await (await s.registry()).setAlias(MODEL, 'champion', broken);
    expect(await s.server.runtime.champion.poll()).toBe('failed');
    const failedAt = performance.now();
    await eventually(async () => expect(load.results.filter((r) => r.startedAt > failedAt).length).toBeGreaterThanOrEqual(20));
    // Polled again: still refused, warned once.
    expect(await s.server.runtime.champion.poll()).toBe('failed');
    const results = await load.stop();
    expect(
      results.filter((r) => r.status !== 200),
      summary(results),
    ).toEqual([]);
    expect(new Set(results.map((r) => r.version))).toEqual(new Set([fx.versions.logreg]));

    const warnings = s.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('cannot reload'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(new RegExp(`not an oracx ONNX model.*still serving ${MODEL}/${fx.versions.logreg}`));
    const detailed = await s.call('GET', '/health/detailed', { key: fx.keys.admin });
    expect(detailed.body.models[0]).toMatchObject({ uri: `${MODEL}/${fx.versions.logreg}`, lastReloadError: expect.stringMatching(/not an oracx ONNX model/) });
    expect((await s.call('GET', '/health/ready')).status).toBe(200);

    // The alias moved back to what is served: nothing to reload, and the error is cleared by the next good swap.
    await (await s.registry()).setAlias(MODEL, 'champion', fx.versions.logreg);
    expect(await s.server.runtime.champion.poll()).toBe('unchanged');
  });

  it('follows the alias by itself with --model-poll', async () => {
    const polling = await startTestServer(fx, { serving: { modelPollMs: 100 } });
    try {
      expect(polling.server.runtime.champion.current.identity.version).toBe(fx.versions.logreg);
      const load = startLoad(polling, { key: fx.keys.predictor, bodies: bodies(), concurrency: 8 });
      await eventually(async () => expect(load.results.length).toBeGreaterThanOrEqual(20));
      await (await polling.registry()).setAlias(MODEL, 'champion', fx.versions.dixonColes);
      await eventually(async () => expect(polling.server.runtime.champion.current.identity.version).toBe(fx.versions.dixonColes), 10_000);
      const swappedAt = performance.now();
      await eventually(async () => expect(load.results.filter((r) => r.startedAt > swappedAt + 1).length).toBeGreaterThanOrEqual(20));
      const results = await load.stop();
      expect(
        results.filter((r) => r.status !== 200),
        summary(results),
      ).toEqual([]);
      expect(new Set(results.filter((r) => r.startedAt > swappedAt + 1).map((r) => r.version))).toEqual(new Set([fx.versions.dixonColes]));
    } finally {
      await polling.close();
    }
  });
});
