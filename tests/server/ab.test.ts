// A/B: a challenger for a sticky share of callers. The same key always gets the same variant, about `split` of many
// keys get the challenger, and every stored prediction says which variant made it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.js';
import { stickyFraction } from '../../src/server/runtime/serving.js';
import { buildServableStore, MODEL, pairing, startTestServer, type ServableStore, type TestServer } from '../helpers/server.js';

const SPLIT = 0.3;
const CALLERS = 400;

let fx: ServableStore;
let s: TestServer;
const callers: Array<{ key: string; id: number }> = [];

beforeAll(async () => {
  fx = await buildServableStore();
  s = await startTestServer(fx, { challenger: { model: `${MODEL}@challenger`, split: SPLIT } });
  for (let i = 0; i < CALLERS; i++) {
    const created = await createApiKey(fx.store, { name: `ab-${i}`, role: 'predictor', createdBy: 'test' });
    callers.push({ key: created.key, id: created.info.id });
  }
});

afterAll(async () => {
  await s?.close();
  await fx?.close();
});

describe('A/B split', () => {
  it('lists both models with their shares', async () => {
    const r = await s.call('GET', '/v1/models', { key: fx.keys.viewer });
    expect(r.body.models).toEqual([
      expect.objectContaining({ variant: 'champion', source: `${MODEL}@champion`, version: fx.versions.dixonColes, kind: 'dixon-coles', share: 1 - SPLIT }),
      expect.objectContaining({ variant: 'challenger', source: `${MODEL}@challenger`, version: fx.versions.logreg, kind: 'logreg', share: SPLIT }),
    ]);
    const ready = await s.call('GET', '/health/ready');
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(['store', 'model:champion', 'model:challenger', 'features:core@2']);
    const challenger = await s.call('GET', '/v2/models/challenger', { key: fx.keys.viewer });
    expect(challenger.body).toMatchObject({
      name: 'challenger',
      versions: [String(fx.versions.logreg)],
      inputs: [expect.objectContaining({ name: 'features' })],
    });
    const byVersion = await s.call('GET', `/v2/models/${MODEL}/versions/${fx.versions.logreg}`, { key: fx.keys.viewer });
    expect(byVersion.body.inputs).toEqual(challenger.body.inputs);
  });

  it('gives each caller the same variant every time, about the split over many callers, each variant its own model', async () => {
    const bodies = [{ matchId: fx.coming[0] }, pairing('Arsenal', 'Chelsea', '2020-10-03'), { matchId: fx.coming[3] }];
    const seen = new Map<number, Set<string>>();
    const versionOf = { champion: fx.versions.dixonColes, challenger: fx.versions.logreg } as Record<string, number>;
    const answers: Array<{ caller: number; variant: string; requestId: string; probs: unknown }> = [];
    // Several rounds, callers interleaved, so stickiness is not an artefact of order.
    for (let round = 0; round < bodies.length; round++) {
      for (let i = 0; i < callers.length; i += 50) {
        await Promise.all(
          callers.slice(i, i + 50).map(async (c) => {
            const requestId = `ab-${c.id}-${round}`;
            const r = await s.call('POST', '/v1/predict', { key: c.key, body: bodies[round], headers: { 'x-request-id': requestId } });
            expect(r.status, r.text).toBe(200);
            expect(r.body.model.version).toBe(versionOf[r.body.variant]);
            let set = seen.get(c.id);
            if (!set) {
              set = new Set();
              seen.set(c.id, set);
            }
            set.add(r.body.variant);
            answers.push({ caller: c.id, variant: r.body.variant, requestId, probs: r.body.probabilities });
          }),
        );
      }
    }
    expect([...seen.values()].every((v) => v.size === 1)).toBe(true);
    const challengers = [...seen.entries()].filter(([, v]) => v.has('challenger'));
    // The assignment is the documented function of the caller's id.
    for (const [id, v] of seen) expect([...v][0]).toBe(stickyFraction(`key:${id}`) < SPLIT ? 'challenger' : 'champion');
    const share = challengers.length / CALLERS;
    expect(share).toBeGreaterThan(SPLIT - 0.08);
    expect(share).toBeLessThan(SPLIT + 0.08);
    // Different models: the same request gets different probabilities by variant (the cache is per model).
    const first = answers.filter((a) => a.requestId.endsWith('-0'));
    expect(new Set(first.filter((a) => a.variant === 'champion').map((a) => JSON.stringify(a.probs))).size).toBe(1);
    expect(new Set(first.filter((a) => a.variant === 'challenger').map((a) => JSON.stringify(a.probs))).size).toBe(1);
    expect(first.find((a) => a.variant === 'champion')!.probs).not.toEqual(first.find((a) => a.variant === 'challenger')!.probs);

    // Stored per variant, with the model version that answered.
    await s.server.runtime.sink.drain();
    const rows = await fx.store.db
      .selectFrom('predictions')
      .select(['request_id', 'variant', 'model_version', 'principal'])
      .where('request_id', 'like', 'ab-%')
      .execute();
    expect(rows).toHaveLength(answers.length);
    const byRequest = new Map(rows.map((r) => [r.request_id, r]));
    for (const a of answers)
      expect(byRequest.get(a.requestId)).toEqual({
        request_id: a.requestId,
        variant: a.variant,
        model_version: versionOf[a.variant],
        principal: `key:${a.caller}`,
      });
    const listed = await s.call('GET', `/v1/predictions?model=${MODEL}&version=${fx.versions.logreg}&limit=5`, { key: fx.keys.viewer });
    expect(listed.body.items.every((p: { model: { variant: string } }) => p.model.variant === 'challenger')).toBe(true);
  });
});
