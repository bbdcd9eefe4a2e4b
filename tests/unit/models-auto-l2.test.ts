// l2=auto: logreg and mlp choose their penalty on a chronological hold-out of the training window, never after it.
import { describe, expect, it } from 'vitest';
import { toDataset, type Universe } from '../../pipelines/dataset.js';
import { foldData, planFolds } from '../../pipelines/walk-forward.js';
import { holdOut, MIN_FIT_MATCHES, MIN_VALIDATION_MATCHES, pickIndex, searchPath, TIE_TOLERANCE } from '../../src/ml/models/auto-l2.js';
import { getModel, loadModel, type AutoChoice, type Dataset, type Model } from '../../src/ml/models/index.js';
import { LOGREG_L2_FALLBACK, LOGREG_L2_GRID } from '../../src/ml/models/logreg.js';
import { MLP_L2_FALLBACK, MLP_L2_GRID } from '../../src/ml/models/mlp.js';
import { simulateLeague } from '../../src/ml/models/synthetic.js';
import { mulberry32, normal } from '../../src/ml/random.js';
import type { MatchFact } from '../../src/ml/types.js';

/** data plus k columns of pure noise: features a weak penalty overfits. */
function withJunk(data: Dataset, k: number, seed: number): Dataset {
  const rng = mulberry32(seed);
  return {
    ...data,
    featureNames: [...data.featureNames, ...Array.from({ length: k }, (_, j) => `junk${j}`)],
    X: data.X.map((r) => Float64Array.of(...r, ...Array.from({ length: k }, () => normal(rng)))),
  };
}

// Two seasons, a rating that is mostly noise and eight junk columns; versus many seasons of a sharp rating.
const noisy = withJunk(simulateLeague({ seed: 3, seasons: 2, eloNoise: 400 }).data, 8, 1);
const clean = simulateLeague({ seed: 3, seasons: 12, eloNoise: 10 }).data;
const cleanMedium = simulateLeague({ seed: 3, seasons: 4, eloNoise: 10 }).data;
// Few epochs at a high learning rate: converged enough for l2 to matter, cheap enough for 7 networks per fit.
const MLP_FAST = { epochs: 25, hiddenUnits: 8, lr: 0.02, batchSize: 128 };

const choice = (model: Model): AutoChoice => {
  const auto = model.auto?.l2;
  if (!auto) throw new Error(`${model.kind} has no l2=auto record`);
  return auto;
};

describe('the hold-out', () => {
  it('is the latest quarter of the window by date, with each date on one side', () => {
    const split = holdOut(noisy.matches, 0.25);
    const fitLast = noisy.matches[split.fit[split.fit.length - 1]!]!.date;
    const valFirst = noisy.matches[split.validation[0]!]!.date;
    expect(fitLast < valFirst).toBe(true);
    expect(split.fit.length + split.validation.length).toBe(noisy.matches.length);
    expect(split.validation.length).toBeGreaterThanOrEqual(Math.ceil(noisy.matches.length / 4));
    // Shuffled input rows give the same matches on each side.
    const reversed = [...noisy.matches].reverse();
    const again = holdOut(reversed, 0.25);
    expect(new Set(again.validation.map((i) => reversed[i]!.id))).toEqual(new Set(split.validation.map((i) => noisy.matches[i]!.id)));
  });

  it('breaks ties (within TIE_TOLERANCE) toward the larger l2, the simpler model', () => {
    expect(pickIndex([0.01, 0.1, 1], [1.0, 0.99, 1.0])).toBe(1);
    expect(pickIndex([0.01, 0.1, 1], [0.99, 0.99 + TIE_TOLERANCE / 2, 1.0])).toBe(1);
    expect(pickIndex([0.01, 0.1, 1], [0.99, 0.99 + 2 * TIE_TOLERANCE, 1.0])).toBe(0);
  });

  it('walks the grid from the largest l2 down and stops once the loss has risen twice in a row', async () => {
    const grid = [1e-4, 1e-3, 1e-2, 0.1, 1, 10];
    const losses: Record<number, number> = { 10: 1.1, 1: 1.0, 0.1: 0.99, 0.01: 1.0, 0.001: 1.01, 0.0001: 0.5 };
    const asked: number[] = [];
    const path = await searchPath(grid, async (l2) => {
      asked.push(l2);
      return { logLoss: losses[l2]!, rps: 0.2 };
    });
    expect(asked).toEqual([10, 1, 0.1, 0.01, 0.001]);
    expect(path.grid).toEqual([0.001, 0.01, 0.1, 1, 10]);
    expect(path.valLogLoss).toEqual([1.01, 1.0, 0.99, 1.0, 1.1]);
    // A rise within the tie tolerance does not count, and a new best resets the count.
    const flat = await searchPath(grid, async (l2) => ({ logLoss: l2 === 1e-4 ? 0.9 : 1 + (l2 < 0.1 ? TIE_TOLERANCE / 2 : 0), rps: 0.2 }));
    expect(flat.grid).toEqual(grid);
  });
});

describe('logreg l2=auto', () => {
  it('picks a large l2 on a small noisy window and a small one on a large clean window', async () => {
    const small = choice(await getModel('logreg').fit(noisy, {}, { seed: 1 }));
    const large = choice(await getModel('logreg').fit(clean, {}, { seed: 1 }));
    expect(small.method).toBe('validation');
    expect(large.method).toBe('validation');
    expect(small.best).toBeGreaterThanOrEqual(0.1);
    expect(large.best).toBeLessThanOrEqual(0.001);
    // The candidates tried are the top of the grid (the path stops once the loss has risen twice).
    expect(small.grid).toEqual(LOGREG_L2_GRID.slice(-small.grid!.length));
    expect(large.grid).toEqual([...LOGREG_L2_GRID]);
    // The winner has the lowest hold-out log loss of the grid.
    expect(small.valLogLoss![small.grid!.indexOf(small.best!)]).toBe(Math.min(...small.valLogLoss!));
  });

  it('records the choice in the model: params hold the value used, the state the evidence, and both survive a reload', async () => {
    const model = await getModel('logreg').fit(noisy, {}, { seed: 1 });
    const auto = choice(model);
    expect(model.params.l2).toBe(auto.value);
    // Refit on the whole window: the winner times the share of it the candidates were fitted on (3/4 here).
    expect(auto.value).toBeCloseTo(auto.best! * (auto.fitMatches! / noisy.matches.length), 2);
    expect(auto.fitMatches! + auto.validationMatches!).toBe(noisy.matches.length);
    expect(auto.summary).toMatch(/^logreg l2=auto chose l2=0\.\d+: 0\.1 had the lowest log loss \(\d\.\d{4}\) among \d+ of 11 values/);
    const restored = loadModel(JSON.parse(JSON.stringify(model.serialize())));
    expect(restored.params.l2).toBe(auto.value);
    expect(restored.auto?.l2).toEqual(auto);
  });

  it('is deterministic, and pinning the chosen l2 reproduces the same model', async () => {
    const a = await getModel('logreg').fit(noisy, {}, { seed: 1 });
    const b = await getModel('logreg').fit(noisy, { l2: 'auto' }, { seed: 99 });
    expect(JSON.stringify(b.serialize())).toBe(JSON.stringify(a.serialize()));
    const pinned = await getModel('logreg').fit(noisy, { l2: a.params.l2 as number }, { seed: 1 });
    const { l2Auto: _evidence, ...state } = a.serialize().state as Record<string, unknown>;
    expect(pinned.serialize().state).toEqual(state);
    expect(pinned.predict(noisy)).toEqual(a.predict(noisy));
  });

  it('applies halfLifeDays sample weights in the candidate fits and the hold-out score too', async () => {
    const flat = choice(await getModel('logreg').fit(noisy, {}, { seed: 1 }));
    const decayed = choice(await getModel('logreg').fit(noisy, { halfLifeDays: 60 }, { seed: 1 }));
    expect(decayed.valLogLoss).not.toEqual(flat.valLogLoss);
    // Old matches weigh little, so the fitted share of the weight is well under 3/4.
    expect(decayed.value / decayed.best!).toBeLessThan(0.5);
  });

  it('still takes a pinned l2 (a number, or a string as --param gives it) without choosing or warning', async () => {
    const warnings: string[] = [];
    for (const l2 of [0.01, '0.01']) {
      const model = await getModel('logreg').fit(noisy, { l2: l2 as number }, { seed: 1, onWarning: (w) => warnings.push(w) });
      expect(model.params.l2).toBe(0.01);
      expect(model.auto).toBeUndefined();
      expect(model.serialize().state).not.toHaveProperty('l2Auto');
    }
    expect(warnings).toEqual([]);
  });
});

describe('a window too small to hold matches out', () => {
  // One season of ten teams: 90 matches.
  const tiny = simulateLeague({ seed: 5, seasons: 1, teams: 10 }).data;

  it.each([
    ['logreg', {}, LOGREG_L2_FALLBACK],
    ['mlp', MLP_FAST, MLP_L2_FALLBACK],
  ] as const)('%s falls back to a fixed l2 and warns what it used and why', async (name, params, fallback) => {
    const warnings: string[] = [];
    const model = await getModel(name).fit(tiny, params, { seed: 1, onWarning: (w) => warnings.push(w) });
    expect(model.params.l2).toBe(fallback);
    expect(choice(model)).toMatchObject({ value: fallback, method: 'fallback' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${name} l2=auto used l2=${fallback}`);
    expect(warnings[0]).toContain(`90 training matches are too few`);
    expect(warnings[0]).toContain(`(${MIN_VALIDATION_MATCHES} needed)`);
    expect(warnings[0]).toContain(`(${MIN_FIT_MATCHES} needed)`);
  });
});

describe('mlp l2=auto', () => {
  it('picks a larger l2 on a small noisy window than on a larger clean one, from its own grid', async () => {
    const small = choice(await getModel('mlp').fit(noisy, MLP_FAST, { seed: 1 }));
    const large = choice(await getModel('mlp').fit(cleanMedium, MLP_FAST, { seed: 1 }));
    expect(small.grid).toEqual(MLP_L2_GRID.slice(-small.grid!.length));
    expect(small.best).toBeGreaterThan(large.best!);
    expect(small.best).toBeGreaterThanOrEqual(0.01);
  });

  it('reports only the final fit through onEpoch', async () => {
    const epochs: number[] = [];
    const model = await getModel('mlp').fit(noisy, MLP_FAST, { seed: 1, onEpoch: (log) => epochs.push(log.epoch) });
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(epochs.length).toBe((model.serialize().state as { epochsRun: number }).epochsRun);
  });
});

/** A store-like universe over a dataset, so walk-forward folds can be planned on it. */
function universe(data: Dataset): Universe {
  return { facts: data.matches, featureSet: 'synthetic@1', featureNames: data.featureNames, features: new Map(data.matches.map((m, i) => [m.id, data.X[i]!])) };
}

/** The matches from `from` on with home and away goals swapped: results that contradict every feature. */
function poisoned(data: Dataset, from: string): Dataset {
  const flip = (m: MatchFact): MatchFact => (m.date >= from ? { ...m, homeGoals: m.awayGoals, awayGoals: m.homeGoals } : m);
  return { ...data, matches: data.matches.map(flip) };
}

describe.each([
  ['logreg', {}],
  ['mlp', MLP_FAST],
] as const)('%s l2=auto and the test window', (name, params) => {
  const league = withJunk(simulateLeague({ seed: 11, seasons: 4 }).data, 4, 2);
  const testSeason = '2018-2019';
  const fitFold = async (data: Dataset): Promise<Model> => {
    const u = universe(data);
    const [fold] = planFolds(u, { competitions: ['SYN'], seasons: [testSeason], walkForward: { kind: 'season' } });
    const { train } = foldData(u, fold!, { competitions: ['SYN'], bookmaker: false, margin: 'multiplicative' });
    expect(train.every((m) => m.season < testSeason)).toBe(true);
    return getModel(name).fit(toDataset(u, train), params, { seed: 4 });
  };

  it('never reads it: poisoning the test season changes neither the chosen l2 nor the model', async () => {
    const testStart = league.matches.find((m) => m.season === testSeason)!.date;
    const honest = await fitFold(league);
    const fooled = await fitFold(poisoned(league, testStart));
    expect(JSON.stringify(fooled.serialize())).toBe(JSON.stringify(honest.serialize()));
    // The poison has teeth: the same flip on the hold-out (the latest quarter of the training window) does change the choice.
    const training = league.matches.filter((m) => m.season < testSeason);
    const holdOutStart = training[holdOut(training, 0.25).validation[0]!]!.date;
    const tricked = await fitFold(poisoned(league, holdOutStart));
    expect(choice(tricked).best).not.toBe(choice(honest).best);
  });
});

describe('standardisation inside the model and its ONNX graph', () => {
  // The same information in other units: columns scaled by 100, 0.01, 10, 1… and some shifted by 1500 (Elo-like levels).
  const rescaled: Dataset = { ...noisy, X: noisy.X.map((r) => Float64Array.from(r, (v, j) => v * 10 ** ((j % 4) - 1) * (j === 0 ? 100 : 1) + 1500 * (j % 2))) };
  const maxDiff = (a: readonly (readonly number[])[], b: ArrayLike<number> | readonly (readonly number[])[]): number => {
    const flat = Array.isArray(b) ? (b as readonly (readonly number[])[]).flat() : Array.from(b as ArrayLike<number>);
    return Math.max(...a.flat().map((v, i) => Math.abs(v - flat[i]!)));
  };

  it.each([
    ['logreg', { l2: 0.1 }, 1e-9],
    ['mlp', { ...MLP_FAST, l2: 0.01 }, 1e-5],
  ] as const)('%s: one l2 means the same on any feature units, in TS and in ONNX', async (name, params, tolerance) => {
    const { exportOnnx, OnnxScorer } = await import('../../src/onnx/index.js');
    const original = await getModel(name).fit(noisy, params, { seed: 1 });
    const other = await getModel(name).fit(rescaled, params, { seed: 1 });
    const expected = original.predict(noisy);
    expect(maxDiff(expected, other.predict(rescaled))).toBeLessThan(tolerance);
    const scorer = await OnnxScorer.create(exportOnnx(other, { featureSet: 'synthetic@1' }));
    try {
      expect(maxDiff(expected, await scorer.scoreDataset(rescaled, { batchSize: 4096 }))).toBeLessThan(1e-5);
    } finally {
      await scorer.release();
    }
  });

  it('logreg l2=auto chooses the same l2 on any feature units', async () => {
    const a = choice(await getModel('logreg').fit(noisy, {}, { seed: 1 }));
    const b = choice(await getModel('logreg').fit(rescaled, {}, { seed: 1 }));
    expect(b.value).toBe(a.value);
    b.valLogLoss!.forEach((v, k) => {
      expect(v).toBeCloseTo(a.valLogLoss![k]!, 9);
    });
  });
});
