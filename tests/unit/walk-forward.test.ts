// Walk-forward plans with in-season model updates (issue 11.2) and the training-seasons cap (issue 11.1,
// short-history): sub-folds tile the season, nothing tested is trained on, the user's <N>d wins over the model's cadence.
import { describe, expect, it } from 'vitest';
import { parseWalkForward } from '../../commands/walk-forward.js';
import type { Universe } from '../../pipelines/dataset.js';
import { capTrainingSeasons, describeWalkForward, foldData, foldModel, planFolds, type FoldPlan, type WalkForward } from '../../pipelines/walk-forward.js';
import { fitModel, getModel, updateEvery, updateModel, type Dataset } from '../../src/ml/models/index.js';
import { concatDatasets, simulateLeague } from '../../src/ml/models/synthetic.js';
import type { MatchFact } from '../../src/ml/types.js';

const DAY = 86_400_000;
const daysBetween = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / DAY;

function universe(data: Dataset): Universe {
  return { facts: data.matches, featureSet: 'synthetic', featureNames: data.featureNames, features: new Map(data.matches.map((m, i) => [m.id, data.X[i]!])) };
}

// Two leagues, weekly rounds from 10 August: SYN 2015-16…2018-19, and OTH with a gap (2015-16, 2016-17, 2018-19).
const syn = simulateLeague({ seed: 3, seasons: 4, teams: 10 }).data;
const oth = simulateLeague({ seed: 4, seasons: 4, teams: 10, competition: 'OTH', firstTeamId: 100, firstMatchId: 10_000 }).data;
const othGap: Dataset = {
  ...oth,
  X: oth.X.filter((_, i) => oth.matches[i]!.season !== '2017-2018'),
  matches: oth.matches.filter((m) => m.season !== '2017-2018'),
};
const u = universe(concatDatasets(syn, othGap));
const lastSeason = { competitions: ['SYN'], seasons: ['2018-2019'] };
const plan = (walkForward: WalkForward, modelDays?: number, options: { competitions: string[]; seasons: string[] } = lastSeason) =>
  planFolds(u, { ...options, walkForward }, modelDays);
const data = (fold: FoldPlan, trainSeasons?: number, competitions = ['SYN']) =>
  foldData(u, fold, { competitions, bookmaker: false, margin: 'multiplicative', trainSeasons });
const testSeason = u.facts.filter((m) => m.competition === 'SYN' && m.season === '2018-2019');

describe('--walk-forward values', () => {
  it.each<[string, WalkForward]>([
    ['season', { kind: 'season' }],
    ['season+7d', { kind: 'season', update: 7 }],
    ['season+matchdays:2', { kind: 'season', update: 14 }],
    ['season+none', { kind: 'season', update: 'none' }],
    ['28d', { kind: 'days', days: 28 }],
    ['matchdays:4', { kind: 'days', days: 28 }],
  ])('parses %s', (value, expected) => {
    expect(parseWalkForward(value)).toEqual(expected);
  });

  it.each(['season+', 'season+0d', 'season+season', 'seasons', '0d', 'matchdays:0', 'season+7'])('refuses %j with the valid forms', (value) => {
    expect(() => parseWalkForward(value)).toThrow(`expected season, season+<N>d, season+none, <N>d (e.g. 28d) or matchdays:<N>, got "${value}"`);
  });

  it("names the cadence that applies: the model's under season, the user's otherwise", () => {
    expect(describeWalkForward({ kind: 'season' }, 7)).toBe('season+7d');
    expect(describeWalkForward({ kind: 'season' }, undefined)).toBe('season');
    expect(describeWalkForward({ kind: 'season', update: 14 }, 7)).toBe('season+14d');
    expect(describeWalkForward({ kind: 'season', update: 'none' }, 7)).toBe('season');
    expect(describeWalkForward({ kind: 'days', days: 28 }, 7)).toBe('28d');
  });
});

describe('model update cadences', () => {
  it('dixon-coles and an ensemble with it update every 3 days; feature-driven models do not', () => {
    expect(updateEvery('dixon-coles', {})).toBe(3);
    expect(updateEvery('ensemble', {})).toBe(3); // default members include dixon-coles
    expect(updateEvery('ensemble', { members: 'logreg,elo-ordered' })).toBeUndefined();
    for (const name of ['logreg', 'mlp', 'elo-ordered']) expect(updateEvery(name, {})).toBeUndefined();
  });
});

describe('planFolds with a model update cadence', () => {
  it('splits a season fold into contiguous 7-day sub-folds updating the fit made at the season start', () => {
    const folds = plan({ kind: 'season' }, 7);
    const first = testSeason[0]!.date;
    const last = testSeason.at(-1)!.date;
    expect(folds.length).toBe(Math.floor(daysBetween(first, last) / 7) + 1);
    expect(folds[0]!.origin).toBe(first);
    for (const [i, f] of folds.entries()) {
      expect(daysBetween(f.origin, f.end)).toBe(7);
      expect(f.fitOrigin).toBe(first);
      if (i > 0) expect(f.origin).toBe(folds[i - 1]!.end);
    }
    expect(folds.at(-1)!.end > last).toBe(true);
  });

  it('tests every match of the season exactly once and never trains on a match it tests', () => {
    const folds = plan({ kind: 'season' }, 7);
    const seen = new Map<number, number>();
    for (const f of folds) {
      const { train, test } = data(f);
      const testIds = new Set(test.map((m) => m.id));
      for (const m of test) seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
      expect(train.every((m) => m.date < f.origin && !testIds.has(m.id))).toBe(true);
      expect(test.every((m) => m.date >= f.origin && m.date < f.end)).toBe(true);
      // Updated with results: the season's matches played before this sub-fold are in its training data.
      expect(train.filter((m) => m.season === '2018-2019').length).toBe(testSeason.filter((m) => m.date < f.origin).length);
    }
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(testSeason.map((m) => m.id).sort((a, b) => a - b));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it("lets the user's <N>d win over the model's cadence: every fold a full fit", () => {
    const folds = plan({ kind: 'days', days: 28 }, 7);
    expect(folds.length).toBeGreaterThan(1);
    for (const f of folds) {
      expect(daysBetween(f.origin, f.end)).toBe(28);
      expect(f.fitOrigin).toBe(f.origin);
    }
  });

  it("takes season+<N>d over the model's cadence, and season+none or no cadence as one fold", () => {
    const fortnightly = plan({ kind: 'season', update: 14 }, 7);
    expect(fortnightly.every((f) => daysBetween(f.origin, f.end) === 14 && f.fitOrigin === fortnightly[0]!.origin)).toBe(true);
    expect(plan({ kind: 'season', update: 'none' }, 7)).toHaveLength(1);
    expect(plan({ kind: 'season' }, undefined)).toHaveLength(1);
    // A model without a cadence still follows an explicit season+<N>d (each update a full fit).
    expect(plan({ kind: 'season', update: 14 }, undefined)).toHaveLength(fortnightly.length);
  });

  it('starts every test season afresh, each with its own fit origin', () => {
    const folds = plan({ kind: 'season' }, 7, { competitions: ['SYN'], seasons: ['2017-2018', '2018-2019'] });
    const origins = [...new Set(folds.map((f) => `${f.season} ${f.fitOrigin}`))];
    expect(origins).toEqual(['2017-2018 2017-08-10', '2018-2019 2018-08-10']);
    expect(folds.map((f) => f.origin)).toEqual([...folds.map((f) => f.origin)].sort());
  });
});

describe('foldModel', () => {
  const folds = plan({ kind: 'season' }, 7);
  const at = (f: FoldPlan) => {
    const train = data(f).train;
    return { X: train.map((m) => u.features.get(m.id)!), featureNames: u.featureNames, matches: train };
  };
  const probe = (m: MatchFact[]) => ({ X: m.map((x) => u.features.get(x.id)!), featureNames: u.featureNames, matches: m });

  it('refits dixon-coles on the results so far: the same model as a full fit at that origin', async () => {
    const start = await foldModel('dixon-coles', undefined, folds[0]!, at(folds[0]!), {}, { seed: 0 });
    const updated = await foldModel('dixon-coles', start, folds[5]!, at(folds[5]!), {}, { seed: 5 });
    const full = await fitModel('dixon-coles', at(folds[5]!), {}, { seed: 5 });
    expect(updated.serialize()).toEqual(full.serialize());
    expect(updated.predict(probe(testSeason))).not.toEqual(start.predict(probe(testSeason)));
  });

  it('updates only the ensemble members that need it; the pooling weights stay as fitted', async () => {
    const start = await foldModel('ensemble', undefined, folds[0]!, at(folds[0]!), {}, { seed: 0 });
    const updated = await updateModel('ensemble', start, at(folds[5]!), {}, { seed: 0 });
    type EnsembleState = { members: { kind: string }[]; weights: number[]; combine: string };
    const before = start.serialize().state as EnsembleState;
    const after = updated.serialize().state as EnsembleState;
    expect(after.members.map((m) => m.kind)).toEqual(['dixon-coles', 'elo-ordered', 'logreg']);
    expect(after.members.slice(1)).toEqual(before.members.slice(1));
    expect(after.members[0]).toEqual((await getModel('dixon-coles').fit(at(folds[5]!), {}, { seed: 0 })).serialize());
    expect(after.members[0]).not.toEqual(before.members[0]);
    expect(after.weights).toEqual(before.weights);
    expect(after.combine).toBe('stack');
  });

  it('fits afresh when the season has no model yet (its first sub-folds had nothing to test)', async () => {
    const model = await foldModel('dixon-coles', undefined, folds[3]!, at(folds[3]!), {}, { seed: 3 });
    expect(model.serialize()).toEqual((await fitModel('dixon-coles', at(folds[3]!), {}, { seed: 3 })).serialize());
  });
});

describe('--train-seasons', () => {
  const seasonsOf = (matches: MatchFact[], competition: string) =>
    [...new Set(matches.filter((m) => m.competition === competition).map((m) => m.season))].sort();

  it('trains on the N seasons before the test season per competition, plus the test season so far', () => {
    const fold = plan({ kind: 'season' }, 7)[4]!;
    const capped = data(fold, 2, ['SYN', 'OTH']).train;
    expect(seasonsOf(capped, 'SYN')).toEqual(['2016-2017', '2017-2018', '2018-2019']);
    // OTH has no 2017-18 in the store: its two seasons before 2018-19 are the ones it has.
    expect(seasonsOf(capped, 'OTH')).toEqual(['2015-2016', '2016-2017', '2018-2019']);
    expect(capped.every((m) => m.date < fold.origin)).toBe(true);
    const all = data(fold, undefined, ['SYN', 'OTH']).train;
    expect(capped).toEqual(all.filter((m) => capped.includes(m)));
    expect(seasonsOf(all, 'SYN')).toEqual(['2015-2016', '2016-2017', '2017-2018', '2018-2019']);
  });

  it('with one season and the first fold of the season: exactly the previous season', () => {
    const fold = plan({ kind: 'season' }, 7)[0]!;
    const capped = data(fold, 1).train;
    expect(seasonsOf(capped, 'SYN')).toEqual(['2017-2018']);
    expect(capped).toHaveLength(u.facts.filter((m) => m.competition === 'SYN' && m.season === '2017-2018').length);
  });

  it('keeps the cap a pure filter, and refuses a window it leaves empty', () => {
    expect(capTrainingSeasons(u, [], '2018-2019', 1)).toEqual([]);
    const first = plan({ kind: 'season' }, undefined, { competitions: ['SYN'], seasons: ['2015-2016'] });
    // No season before 2015-16 and no match before its first origin: nothing to train on, with or without the cap.
    expect(() => data(first[0]!, 2)).toThrow(/empty training window/);
  });
});
