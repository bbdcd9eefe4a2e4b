// The default ensemble: a log pool of its members with weights learnt on a chronological hold-out (issue 11, §3).
import { describe, expect, it } from 'vitest';
import { logLoss } from '../../src/ml/metrics.js';
import { fitLogPool, poolProbs } from '../../src/ml/models/log-pool.js';
import { getModel, loadModel, type Dataset, type Model, type ModelName } from '../../src/ml/models/index.js';
import { choosePool, fitEnsemble } from '../../src/ml/models/ensemble.js';
import { filterDataset, simulateLeague } from '../../src/ml/models/synthetic.js';
import { mulberry32 } from '../../src/ml/random.js';
import { outcomeOf, type Outcome, type Probs } from '../../src/ml/types.js';

const { data } = simulateLeague({ seed: 11, seasons: 6 });
const train = filterDataset(data, (m) => m.season < '2018');
const test = filterDataset(data, (m) => m.season >= '2018');
const outcomes = (d: Dataset) => d.matches.map((m) => outcomeOf(m) as Outcome);
const meanLogLoss = (preds: Probs[], ys: Outcome[]) => preds.reduce((s, p, i) => s + logLoss(p, ys[i]!), 0) / preds.length;

describe('fitLogPool', () => {
  /** Forecasts of n matches drawn from `truth`, by members that are sharp, blurred, or noise. */
  function members(n: number, seed: number): { preds: Probs[][]; ys: number[] } {
    const rnd = mulberry32(seed);
    const truth: Probs[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = 0.2 + 0.5 * rnd();
      const d = 0.15 + 0.15 * rnd();
      const p: Probs = [a, d, Math.max(0.05, 1 - a - d)];
      const s = p[0] + p[1] + p[2];
      const q: Probs = [p[0] / s, p[1] / s, p[2] / s];
      truth.push(q);
      const u = rnd();
      ys.push(u < q[0] ? 0 : u < q[0] + q[1] ? 1 : 2);
    }
    const blur = (p: Probs): Probs => [(p[0] + 1 / 3) / 2, (p[1] + 1 / 3) / 2, (p[2] + 1 / 3) / 2];
    const noise: Probs[] = truth.map(() => {
      const v = [rnd() + 0.1, rnd() + 0.1, rnd() + 0.1];
      const s = v[0]! + v[1]! + v[2]!;
      return [v[0]! / s, v[1]! / s, v[2]! / s];
    });
    return { preds: [truth.map(blur), noise, truth], ys };
  }

  it('fits its hold-out better than equal weights, and weighs the informative member most and noise least', () => {
    const { preds, ys } = members(3000, 1);
    const pool = fitLogPool(preds, ys);
    expect(pool.weights.every((w) => w >= 0)).toBe(true);
    const loss = (weights: number[]) =>
      meanLogLoss(
        ys.map((_, i) =>
          poolProbs(
            preds.map((p) => p[i]!),
            { weights },
          ),
        ),
        ys as Outcome[],
      );
    // Equal weights carry no ridge penalty, so the fit can only do better than them on its own data.
    expect(loss(pool.weights)).toBeLessThan(loss([1 / 3, 1 / 3, 1 / 3]));
    const [blurred, noise, sharp] = pool.weights as [number, number, number];
    expect(sharp).toBeGreaterThan(blurred);
    expect(blurred).toBeGreaterThan(noise);
  });

  it('pools to proper probabilities and rejects ragged inputs', () => {
    const p = poolProbs(
      [
        [0.5, 0.3, 0.2],
        [0, 0.5, 0.5],
      ],
      { weights: [1, 0.5] },
    );
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 14);
    expect(p.every((v) => v > 0)).toBe(true);
    expect(() => fitLogPool([[[0.3, 0.3, 0.4]], []], [0])).toThrow(RangeError);
  });
});

describe('choosePool', () => {
  /** Three folds of matches whose home-win chance is a + b, where one forecaster sees a and another b. */
  function twoSignals(seed: number): { halfA: Probs[][]; halfB: Probs[][]; truth: Probs[][]; noise: Probs[][]; ys: number[][] } {
    const rnd = mulberry32(seed);
    const out = { halfA: [] as Probs[][], halfB: [] as Probs[][], truth: [] as Probs[][], noise: [] as Probs[][], ys: [] as number[][] };
    const probs = (h: number): Probs => [h, 0.25, 0.75 - h];
    for (let f = 0; f < 3; f++) {
      const [a, b, t, z, y] = [[], [], [], [], []] as [Probs[], Probs[], Probs[], Probs[], number[]];
      for (let i = 0; i < 2000; i++) {
        const sa = (rnd() - 0.5) * 0.5;
        const sb = (rnd() - 0.5) * 0.5;
        const h = 0.375 + sa / 2 + sb / 2;
        a.push(probs(0.375 + sa / 4));
        b.push(probs(0.375 + sb / 4));
        t.push(probs(h));
        z.push(probs(0.2 + 0.35 * rnd()));
        const u = rnd();
        y.push(u < h ? 0 : u < h + 0.25 ? 1 : 2);
      }
      out.halfA.push(a);
      out.halfB.push(b);
      out.truth.push(t);
      out.noise.push(z);
      out.ys.push(y);
    }
    return out;
  }

  it('pools members that each know part of the story', () => {
    const d = twoSignals(5);
    const pool = choosePool([d.halfA, d.halfB], d.ys);
    expect(pool.weights.every((w) => w > 0.3)).toBe(true);
    expect(pool.reason).toMatch(
      /^out of fold over 3 inner seasons, the pool's log loss was -0\.\d{4} ± 0\.\d{4} against the best member alone, better by more than one standard error$/,
    );
  });

  it('is the best member alone when pooling does not beat it out of fold', () => {
    const d = twoSignals(6);
    expect(choosePool([d.noise, d.truth], d.ys).weights).toEqual([0, 1]);
  });

  it('stays with its anchor unless the pool beats it by more than one standard error out of fold', () => {
    const d = twoSignals(8);
    // The anchor is noise: the pool beats it clearly, and leans on the truth.
    const [noise, truth] = choosePool([d.noise, d.truth], d.ys, 0).weights as [number, number];
    expect(truth).toBeGreaterThan(0.9);
    expect(noise).toBeLessThan(0.1);
    // Two forecasters that differ only by chance (the same half signal, one of them slightly blurred): the anchor stays.
    const first = <T>(folds: T[][]) => folds.map((fold) => fold.slice(0, 200));
    const blur = first(d.halfA).map((fold) => fold.map((p): Probs => [0.98 * p[0] + 0.02 / 3, 0.98 * p[1] + 0.02 / 3, 0.98 * p[2] + 0.02 / 3]));
    expect(choosePool([blur, first(d.halfA)], first(d.ys), 0).weights).toEqual([1, 0]);
    // Pooling the two halves beats either clearly: the pool, whichever the anchor.
    expect(choosePool([d.halfA, d.halfB], d.ys, 1).weights.every((w) => w > 0.3)).toBe(true);
  });

  it('with a single inner fold, no pool: the anchor alone, or without one the best member alone', () => {
    const d = twoSignals(5);
    const one = (x: Probs[][]) => [x.flat()];
    const ys = [d.ys.flat()];
    // Pooling the halves would pay here (see above), but one inner season is too little evidence to learn it from.
    expect(choosePool([one(d.halfA), one(d.halfB)], ys, 1).weights).toEqual([0, 1]);
    expect(choosePool([one(d.noise), one(d.truth)], ys).weights).toEqual([0, 1]);
  });
});

describe('ensemble, combine=stack (the default)', () => {
  it('learns non-negative pool weights and predicts as the pool of its refitted members; round-trips', async () => {
    const ens = await getModel('ensemble').fit(train, { members: 'logreg,elo-ordered' }, { seed: 3 });
    const state = ens.serialize().state as { combine: string; weights: number[]; members: unknown[] };
    expect(state.combine).toBe('stack');
    expect(state.weights).toHaveLength(2);
    expect(state.weights.every((w) => w >= 0)).toBe(true);
    const memberPreds = state.members.map((m) => loadModel(m).predict(test));
    ens.predict(test).forEach((p, i) => {
      const q = poolProbs(
        memberPreds.map((mp) => mp[i]!),
        { weights: state.weights },
      );
      for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(q[k]!, 12);
    });
    expect(loadModel(ens.serialize()).predict(test)).toEqual(ens.predict(test));
  });

  it('forecasting one season ahead, stays within 0.005 log loss per season of its best member (simulated league)', async () => {
    const names: ModelName[] = ['logreg', 'elo-ordered', 'dixon-coles'];
    const seasons = [...new Set(data.matches.map((m) => m.season))];
    const totals = new Map<string, number>();
    for (const season of seasons.slice(2)) {
      const before = filterDataset(data, (m) => m.season < season);
      const during = filterDataset(data, (m) => m.season === season);
      const ys = outcomes(during);
      const add = (name: string, m: Model) => totals.set(name, (totals.get(name) ?? 0) + meanLogLoss(m.predict(during), ys));
      for (const name of names) add(name, await getModel(name).fit(before, {}, { seed: 3 }));
      add('ensemble', await getModel('ensemble').fit(before, {}, { seed: 3 }));
    }
    // Four seasons of 380 matches: too few for "never worse" to be more than luck either way (the real-data figures
    // are bench/quality's); a pool that leaned on a bad member would be off by far more than this.
    const best = Math.min(...names.map((n) => totals.get(n)!));
    expect(totals.get('ensemble')! / 4).toBeLessThanOrEqual(best / 4 + 0.005);
  }, 120_000);

  it('with too short a history for a season-ahead inner fold (two seasons), is its anchor alone; anchor=best: the geometric mean', async () => {
    const seasons = [...new Set(train.matches.map((m) => m.season))];
    const two = filterDataset(train, (m) => m.season <= seasons[1]!);
    const notes: string[] = [];
    const ens = await getModel('ensemble').fit(two, { members: 'elo-ordered,logreg' }, { seed: 3, onInfo: (m) => notes.push(m) });
    expect(ens.serialize().state).toMatchObject({ combine: 'stack', weights: [0, 1] });
    expect(notes).toEqual(['ensemble: logreg alone: the training window has too few seasons to learn a pool from (4 needed)']);
    const blind = await getModel('ensemble').fit(two, { members: 'elo-ordered,logreg', anchor: 'best' }, { seed: 3 });
    expect(blind.serialize().state).toMatchObject({ combine: 'stack', weights: [0.5, 0.5] });
    // A third season gives one inner fold (members fitted on the first two): enough to rank members, not to pool.
    const three = filterDataset(train, (m) => m.season <= seasons[2]!);
    const said: string[] = [];
    const learnt = (
      await getModel('ensemble').fit(three, { members: 'elo-ordered,logreg', anchor: 'best' }, { seed: 3, onInfo: (m) => said.push(m) })
    ).serialize().state as { weights: number[] };
    expect([...learnt.weights].sort()).toEqual([0, 1]);
    expect(said).toEqual([expect.stringMatching(/^ensemble: (elo-ordered|logreg) alone: one inner season is too little evidence for a pool \(two needed\)$/)]);
  });

  it('names the member that failed to fit; refuses fixed weights', async () => {
    const failing = (name: ModelName, d: Dataset) =>
      name === 'elo-ordered' ? Promise.reject(new Error('no elo_diff column')) : getModel(name).fit(d, {}, { seed: 1 });
    await expect(fitEnsemble(train, { members: 'logreg,elo-ordered' }, { seed: 1 }, failing)).rejects.toThrow(
      'ensemble member elo-ordered failed to fit: no elo_diff column',
    );
    await expect(getModel('ensemble').fit(train, { weights: '1,2,3' }, { seed: 1 })).rejects.toThrow(/apply to combine=average; combine=stack learns its own/);
    await expect(getModel('ensemble').fit(train, { members: 'elo-ordered,dixon-coles', anchor: 'logreg' }, { seed: 1 })).rejects.toThrow(
      "ensemble: anchor 'logreg' must be auto, best or one of the members (elo-ordered, dixon-coles)",
    );
  });
});
