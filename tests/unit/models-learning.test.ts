import { fitTemperature, temper } from '../../src/ml/models/ensemble.js';
import { mulberry32 } from '../../src/ml/random.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { rps } from '../../src/ml/metrics.js';
import { eloOrderedObjective } from '../../src/ml/models/elo-ordered.js';
import { getModel, loadModel, MODEL_NAMES, type Dataset, type Model, type ModelName } from '../../src/ml/models/index.js';
import type { Objective } from '../../src/ml/models/lbfgs.js';
import { logregObjective } from '../../src/ml/models/logreg.js';
import { filterDataset, simulateLeague } from '../../src/ml/models/synthetic.js';
import { outcomeOf, type Outcome, type Probs } from '../../src/ml/types.js';

// Four seasons of a 20-team league: train on the first three, hold out the last (with its promoted teams).
const { data } = simulateLeague({ seed: 7, seasons: 4 });
const train = filterDataset(data, (m) => m.season < '2018');
const test = filterDataset(data, (m) => m.season >= '2018');
const outcomes = test.matches.map((m) => outcomeOf(m) as Outcome);
const meanRps = (preds: readonly Probs[]): number => preds.reduce((s, p, i) => s + rps(p, outcomes[i]!), 0) / preds.length;

function expectValid(probs: readonly Probs[]): void {
  for (const p of probs) {
    for (const v of p) expect(v >= 0 && v <= 1, `probability ${v} in ${JSON.stringify(p)}`).toBe(true);
    expect(Math.abs(p[0] + p[1] + p[2] - 1)).toBeLessThan(1e-9);
  }
}

const fitted = new Map<ModelName, Model>();
const fit = (name: ModelName, d: Dataset = train, seed = 42): Promise<Model> => getModel(name).fit(d, {}, { seed });

beforeAll(async () => {
  for (const name of MODEL_NAMES) fitted.set(name, await fit(name));
});

describe('baselines', () => {
  it('class frequencies beat uniform only slightly on this league (sanity of the synthetic data)', () => {
    const counts = [0, 0, 0];
    for (const m of train.matches) counts[outcomeOf(m)!]! += 1;
    const freq = counts.map((c) => c / train.matches.length) as unknown as Probs;
    expect(meanRps(outcomes.map(() => freq))).toBeLessThan(meanRps(outcomes.map(() => [1 / 3, 1 / 3, 1 / 3] as const)));
  });
});

describe.each(MODEL_NAMES)('%s', (name) => {
  it('beats the uniform and class-frequency baselines on held-out matches', () => {
    const counts = [0, 0, 0];
    for (const m of train.matches) counts[outcomeOf(m)!]! += 1;
    const freq = counts.map((c) => c / train.matches.length) as unknown as Probs;
    const model = meanRps(fitted.get(name)!.predict(test));
    const uniform = meanRps(outcomes.map(() => [1 / 3, 1 / 3, 1 / 3] as const));
    const classFreq = meanRps(outcomes.map(() => freq));
    expect(model).toBeLessThan(uniform - 0.015);
    expect(model).toBeLessThan(classFreq - 0.01);
  });

  it('returns valid probabilities (sum 1 within 1e-9, each in [0, 1]) on train and test data', () => {
    const model = fitted.get(name)!;
    expectValid(model.predict(train));
    expectValid(model.predict(test));
  });

  it('is deterministic: same data, params and seed give byte-identical serialisations', async () => {
    const again = await fit(name);
    expect(JSON.stringify(again.serialize())).toBe(JSON.stringify(fitted.get(name)!.serialize()));
  });

  it('round-trips through JSON: serialize → loadModel → predict gives identical probabilities', () => {
    const model = fitted.get(name)!;
    const restored = loadModel(JSON.parse(JSON.stringify(model.serialize())));
    expect(restored.kind).toBe(name);
    expect(restored.params).toEqual(model.params);
    expect(restored.predict(test)).toEqual(model.predict(test));
  });

  it('does not look at the results of the matches it predicts', () => {
    const model = fitted.get(name)!;
    const blind = { ...test, matches: test.matches.map((m) => ({ ...m, homeGoals: null, awayGoals: null })) };
    expect(model.predict(blind)).toEqual(model.predict(test));
  });

  it('finds features by name, whatever their column order', () => {
    const model = fitted.get(name)!;
    const swapped: Dataset = { ...test, featureNames: [...test.featureNames].reverse(), X: test.X.map((r) => Float64Array.from(r).reverse()) };
    expect(model.predict(swapped)).toEqual(model.predict(test));
  });
});

describe('plain-TS objectives', () => {
  const rows = train.X.slice(0, 60).map((r) => Float64Array.of(r[0]! / 400, r[1]!));
  const y = train.matches.slice(0, 60).map((m) => outcomeOf(m) as Outcome);
  const w = Float64Array.from(y, (_, i) => 0.5 + (i % 3) / 4);

  function checkGradient(f: Objective, x: Float64Array): void {
    const g = new Float64Array(x.length);
    f(x, g);
    const scratch = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const up = Float64Array.from(x);
      const down = Float64Array.from(x);
      up[i]! += 1e-6;
      down[i]! -= 1e-6;
      expect(g[i]).toBeCloseTo((f(up, scratch) - f(down, scratch)) / 2e-6, 6);
    }
  }

  it('logreg gradient matches finite differences', () => {
    checkGradient(logregObjective(rows, y, w, 0.01), Float64Array.of(0.3, -0.1, 0.2, 0.05, 0.1, -0.2, 0.4, -0.3, 0.1));
  });

  it('elo-ordered gradient matches finite differences', () => {
    checkGradient(eloOrderedObjective(rows, y, w, 0.01), Float64Array.of(-0.6, -0.4, 0.8, -0.1));
  });

  it('elo-ordered keeps its cut points ordered and its slope positive for a home-minus-away rating', () => {
    const state = fitted.get('elo-ordered')!.serialize().state as { theta1: number; theta2: number; beta: number[] };
    expect(state.theta2).toBeGreaterThan(state.theta1);
    expect(state.beta[0]).toBeGreaterThan(0);
  });

  it('elo-ordered accepts several features', async () => {
    const model = await getModel('elo-ordered').fit(train, { features: 'elo_diff, noise' }, { seed: 1 });
    expect(model.serialize().featureNames).toEqual(['elo_diff', 'noise']);
    expectValid(model.predict(test));
  });

  it('logreg time decay (halfLifeDays) changes the fit and still learns', async () => {
    const decayed = await getModel('logreg').fit(train, { halfLifeDays: 180 }, { seed: 1 });
    expect(JSON.stringify(decayed.serialize().state)).not.toBe(JSON.stringify(fitted.get('logreg')!.serialize().state));
    expect(meanRps(decayed.predict(test))).toBeLessThan(0.225);
  });

  it('logreg standardises with training statistics and gives zero-variance columns std 1', async () => {
    const constant: Dataset = { ...train, featureNames: [...train.featureNames, 'const'], X: train.X.map((r) => Float64Array.of(...r, 5)) };
    const model = await getModel('logreg').fit(constant, {}, { seed: 1 });
    const state = model.serialize().state as { scaler: { mean: number[]; std: number[] } };
    expect(state.scaler.mean[2]).toBe(5);
    expect(state.scaler.std[2]).toBe(1);
  });
});

describe('ensemble', () => {
  it('averages its members with the given weights', async () => {
    const ens = await getModel('ensemble').fit(train, { members: 'logreg,elo-ordered', combine: 'average', weights: '3,1', calibrate: 'none' }, { seed: 5 });
    const members = (ens.serialize().state as { members: unknown[] }).members.map((m) => loadModel(m));
    const [a, b] = members.map((m) => m.predict(test));
    ens.predict(test).forEach((p, i) => {
      for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(0.75 * a![i]![k]! + 0.25 * b![i]![k]!, 12);
    });
  });

  it('calibrates each member with a temperature fitted on the latest training matches', async () => {
    const ens = await getModel('ensemble').fit(train, { members: 'logreg,elo-ordered', combine: 'average' }, { seed: 5 });
    const state = ens.serialize().state as { members: unknown[]; temperatures: number[] };
    expect(state.temperatures).toHaveLength(2);
    for (const t of state.temperatures) {
      expect(t).toBeGreaterThanOrEqual(0.25);
      expect(t).toBeLessThanOrEqual(4);
    }
    const [a, b] = state.members.map((m) => loadModel(m).predict(test));
    ens.predict(test).forEach((p, i) => {
      const ta = temper(a![i]!, state.temperatures[0]!);
      const tb = temper(b![i]!, state.temperatures[1]!);
      for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(0.5 * ta[k]! + 0.5 * tb[k]!, 12);
    });
    expect(loadModel(ens.serialize()).predict(test)).toEqual(ens.predict(test));
  });
});

describe('temperature calibration', () => {
  it('softens over-confident forecasts (T > 1) and sharpens timid ones (T < 1)', () => {
    const rng = mulberry32(11);
    const truth: [number, number, number][] = [];
    const outcomes: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const h = 0.2 + 0.5 * rng();
      const d = 0.25 * (1 - h);
      const p: [number, number, number] = [h, d, 1 - h - d];
      truth.push(p);
      const u = rng();
      outcomes.push(u < p[0] ? 0 : u < p[0] + p[1] ? 1 : 2);
    }
    const overConfident = truth.map((p) => temper(p, 0.5));
    const timid = truth.map((p) => temper(p, 2));
    expect(fitTemperature(overConfident, outcomes)).toBeGreaterThan(1.6);
    expect(fitTemperature(timid, outcomes)).toBeLessThan(0.65);
    expect(fitTemperature(truth, outcomes)).toBeGreaterThan(0.8);
    expect(fitTemperature(truth, outcomes)).toBeLessThan(1.25);
  });
});
