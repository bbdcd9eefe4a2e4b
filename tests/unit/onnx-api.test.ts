import { Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { getModel, loadModel, UnknownModel, type Dataset, type Model, type SerializedModel } from '../../src/ml/models/index.js';
import type { MatchFact } from '../../src/ml/types.js';
import { exportOnnx, META_KEYS, onnxFeeds, OnnxScorer, readOnnxMetadata, type OnnxMetadata } from '../../src/onnx/index.js';
import { GraphBuilder } from '../../src/onnx/graph.js';
import { evaluation, train } from './onnx-fixtures.js';

let logreg: Model;
let dc: Model;
let ensemble: Model;
beforeAll(async () => {
  logreg = await getModel('logreg').fit(train, {}, { seed: 1 });
  dc = await getModel('dixon-coles').fit(train, {}, { seed: 1 });
  ensemble = await getModel('ensemble').fit(train, { members: 'dixon-coles,logreg', combine: 'average', weights: '2,1' }, { seed: 1 });
});

async function scoreBytes(bytes: Uint8Array, data: Dataset): Promise<Float32Array> {
  const scorer = await OnnxScorer.create(bytes);
  try {
    return await scorer.scoreDataset(data);
  } finally {
    await scorer.release();
  }
}

describe('metadata', () => {
  it('round-trips for a feature model: kind, features, feature set, inputs, params, conventions', () => {
    const meta = readOnnxMetadata(exportOnnx(logreg, { featureSet: 'core@1', docString: 'a test model' }));
    expect(meta).toMatchObject({
      kind: 'logreg',
      format: 1,
      featureNames: train.featureNames,
      featureSet: 'core@1',
      teams: null,
      competitions: null,
      quantized: false,
      members: null,
      params: logreg.params,
      irVersion: 8,
      opset: 17,
      docString: 'a test model',
    });
    expect(meta.inputs).toEqual([expect.objectContaining({ name: 'features', type: 'float32', shape: ['N', train.featureNames.length] })]);
    expect(meta.conventions).toMatch(/features: float32 \[N, 8\], raw \(unscaled\)/);
    expect(meta.conventions).toMatch(/output probs: float32 \[N, 3\]/);
  });

  it('round-trips the Dixon–Coles vocabulary: every fitted team id, sorted, and the competitions', () => {
    const meta = readOnnxMetadata(exportOnnx(dc));
    const ids = [...new Set(train.matches.flatMap((m) => [m.homeTeam, m.awayTeam]))].sort((a, b) => a - b);
    expect(meta.teams).toEqual(ids);
    expect(meta.competitions).toEqual(['SYN', 'SYN2']);
    expect(meta.featureNames).toEqual([]);
    expect(meta.featureSet).toBeNull();
    expect(meta.inputs.map((i) => [i.name, i.type, i.shape])).toEqual([
      ['home', 'int64', ['N']],
      ['away', 'int64', ['N']],
      ['competition', 'int64', ['N']],
    ]);
    expect(meta.conventions).toContain(`outside [0, ${ids.length})`);
  });

  it('an ensemble takes the union of its members inputs and records members with weights and temperatures', () => {
    const meta = readOnnxMetadata(exportOnnx(ensemble));
    expect(meta.inputs.map((i) => i.name)).toEqual(['features', 'home', 'away', 'competition']);
    const state = ensemble.serialize().state as { temperatures: number[] };
    expect(meta.members).toEqual([
      { kind: 'dixon-coles', weight: 2 / 3, temperature: state.temperatures[0], featureNames: [] },
      { kind: 'logreg', weight: 1 / 3, temperature: state.temperatures[1], featureNames: train.featureNames },
    ]);
  });

  it('refuses bytes that are not an ONNX model, and an ONNX model without oracx metadata', () => {
    expect(() => readOnnxMetadata(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(/not an ONNX model/);
    const g = GraphBuilder.create();
    g.input('x', 'float32', ['N']);
    g.op('Identity', ['x'], {}, 'y');
    g.output('y', 'float32', ['N']);
    expect(() => readOnnxMetadata(g.encode({ graphName: 'g', docString: '', producerVersion: '', metadata: {} }))).toThrow(/not an oracx ONNX export/);
    const bad = g.encode({ graphName: 'g', docString: '', producerVersion: '', metadata: { [META_KEYS.kind]: 'logreg', [META_KEYS.format]: '99' } });
    expect(() => readOnnxMetadata(bad)).toThrow(/invalid oracx ONNX metadata: oracx.format/);
  });
});

describe('bad models', () => {
  it('an unknown kind is an UnknownModel error listing the known kinds', () => {
    const bogus = { ...logreg.serialize(), kind: 'xgboost' } as unknown as SerializedModel;
    expect(() => exportOnnx(bogus)).toThrow(UnknownModel);
    expect(() => exportOnnx(bogus)).toThrow(/cannot export model kind 'xgboost' to ONNX; known kinds: logreg, mlp, dixon-coles, elo-ordered, ensemble/);
  });

  it('a feature model with zero features is refused with the reason', async () => {
    const noFeatures: Dataset = { X: train.matches.map(() => new Float64Array(0)), featureNames: [], matches: train.matches };
    const empty = await getModel('logreg').fit(noFeatures, {}, { seed: 1 });
    expect(() => exportOnnx(empty)).toThrow(/cannot export logreg to ONNX: the model has no features/);
    const withEmptyMember = await getModel('ensemble').fit(noFeatures, { members: 'dixon-coles,logreg', calibrate: 'none' }, { seed: 1 });
    expect(() => exportOnnx(withEmptyMember)).toThrow(/cannot export ensemble to ONNX: its logreg member has no features/);
  });

  it('an invalid serialised state is refused before any graph is built', () => {
    const s = logreg.serialize();
    expect(() => exportOnnx({ ...s, state: { ...(s.state as object), bias: [0, 0] } })).toThrow(/invalid serialized logreg model: state.bias/);
  });

  it('quantising a model without weight matrices is refused', () => {
    expect(() => exportOnnx(dc, { quantize: true })).toThrow(/cannot quantise a dixon-coles model/);
  });
});

describe('feeds', () => {
  it('picks columns by name, so a dataset with reordered or extra columns scores the same', async () => {
    const bytes = exportOnnx(logreg);
    const rows = { ...evaluation, X: evaluation.X.slice(0, 500), matches: evaluation.matches.slice(0, 500) };
    const order = [...rows.featureNames.keys()].reverse();
    const shuffled: Dataset = {
      featureNames: [...order.map((j) => rows.featureNames[j]!), 'unused'],
      X: rows.X.map((r) => Float64Array.from([...order.map((j) => r[j]!), 42])),
      matches: rows.matches,
    };
    expect(await scoreBytes(bytes, shuffled)).toEqual(await scoreBytes(bytes, rows));
  });

  it('names missing feature columns', () => {
    const meta = readOnnxMetadata(exportOnnx(logreg));
    const data: Dataset = { featureNames: ['elo_diff'], X: [Float64Array.of(1)], matches: evaluation.matches.slice(0, 1) };
    expect(() => onnxFeeds(meta, data)).toThrow(/feature\(s\) 'noise', 'elo_home'.* not in the dataset; available: elo_diff/);
  });

  it('gives the same probabilities whatever the batch size, and nothing for an empty dataset', async () => {
    const scorer = await OnnxScorer.create(exportOnnx(ensemble));
    try {
      const rows = { ...evaluation, X: evaluation.X.slice(0, 300), matches: evaluation.matches.slice(0, 300) };
      const whole = await scorer.scoreDataset(rows, { batchSize: 10_000 });
      expect(await scorer.scoreDataset(rows, { batchSize: 7 })).toEqual(whole);
      expect(await scorer.scoreDataset({ ...rows, X: [], matches: [] })).toEqual(new Float32Array(0));
      await expect(scorer.scoreDataset(rows, { batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
      await expect(scorer.score({})).rejects.toThrow(/feeds lack input\(s\) features, home, away, competition/);
    } finally {
      await scorer.release();
    }
  });
});

describe('dixon-coles unseen teams and competitions', () => {
  const known = train.matches.find((m) => m.competition === 'SYN')!;
  const knownOther = train.matches.find((m) => m.competition === 'SYN2')!;
  const match = (over: Partial<MatchFact>): MatchFact => ({ ...known, homeGoals: null, awayGoals: null, ...over });
  const cases: [string, MatchFact][] = [
    ['both teams known', match({})],
    ['home team never seen', match({ homeTeam: 9999 })],
    ['away team never seen', match({ awayTeam: 9999 })],
    ['neither team seen', match({ homeTeam: 9998, awayTeam: 9999 })],
    ['team of another competition', match({ awayTeam: knownOther.awayTeam })],
    ['competition never seen, known teams', match({ competition: 'NEW' })],
    ['competition never seen, unseen teams', match({ competition: 'NEW', homeTeam: 9998, awayTeam: 9999 })],
  ];
  const data: Dataset = { X: cases.map(() => new Float64Array(0)), featureNames: [], matches: cases.map(([, m]) => m) };

  it.each(cases.map(([name], i) => [name, i] as const))('%s: as the TS model', async (_, i) => {
    const got = await scoreBytes(exportOnnx(dc), data);
    const want = dc.predict(data)[i]!;
    for (let k = 0; k < 3; k++) expect(Math.abs(got[i * 3 + k]! - want[k])).toBeLessThan(1e-7);
  });

  it('any index outside the vocabulary is an unseen team or competition', async () => {
    const bytes = exportOnnx(dc);
    const meta: OnnxMetadata = readOnnxMetadata(bytes);
    const V = meta.teams!.length;
    const C = meta.competitions!.length;
    const scorer = await OnnxScorer.create(bytes);
    try {
      const run = (home: bigint[], away: bigint[], comp: bigint[]) =>
        scorer.score({
          home: new Tensor('int64', BigInt64Array.from(home), [home.length]),
          away: new Tensor('int64', BigInt64Array.from(away), [away.length]),
          competition: new Tensor('int64', BigInt64Array.from(comp), [comp.length]),
        });
      const canonical = await run([BigInt(V), 0n], [BigInt(V), BigInt(V)], [0n, BigInt(C)]);
      const odd = await run([-1n, 0n], [10_000_000n, -7n], [0n, 99n]);
      expect(odd).toEqual(canonical);
    } finally {
      await scorer.release();
    }
  });

  it('high scoring rates grow the grid as the TS model does, up to the rate clamp', async () => {
    const s = dc.serialize();
    const state = s.state as { competitions: Record<string, { intercept: number }> };
    // SYN: λ around e^2 ≈ 7–12 (grid ~35 goals); SYN2: e^5 clamps at 50 (grid 108).
    const comps = { ...state.competitions, SYN: { ...state.competitions.SYN!, intercept: 2 }, SYN2: { ...state.competitions.SYN2!, intercept: 5 } };
    const hot = loadModel({ ...s, state: { competitions: comps } });
    const rows = { ...evaluation, X: evaluation.X.slice(0, 2000), matches: evaluation.matches.slice(0, 2000) };
    const got = await scoreBytes(exportOnnx(hot), rows);
    const want = hot.predict(rows);
    let max = 0;
    want.forEach((p, i) => {
      p.forEach((v, k) => {
        max = Math.max(max, Math.abs(v - got[i * 3 + k]!));
      });
    });
    expect(max).toBeLessThan(1e-6);
  });

  it('a hand-loaded model without matches cannot fall back for unseen competitions and says so', () => {
    const s = dc.serialize();
    const state = s.state as { competitions: Record<string, { matches: number }> };
    const zeroed = { ...s, state: { competitions: Object.fromEntries(Object.entries(state.competitions).map(([k, c]) => [k, { ...c, matches: 0 }])) } };
    expect(() => exportOnnx(loadModel(zeroed))).toThrow(/no fitted competition with matches/);
  });
});
