// Several forecasters on the same matches (issue 11.4): rows, the best model, references, and how --models params
// are shared out between models.
import { describe, expect, it } from 'vitest';
import { checkModelList, paramsPerModel } from '../../commands/evaluate-models.js';
import { commonMatches } from '../../pipelines/compare.js';
import type { Prediction } from '../../pipelines/evaluate.js';
import { UsageError } from '../../src/errors.js';
import { compareForecasts, describePaired, pairedRps, type Forecaster, type ScoredMatch } from '../../src/ml/evaluation/comparison.js';
import { dieboldMariano } from '../../src/ml/evaluation/paired.js';
import { rps } from '../../src/ml/metrics.js';
import { mulberry32 } from '../../src/ml/random.js';
import type { Outcome, Probs } from '../../src/ml/types.js';

/** A season-like set: 10 matches a day, outcomes drawn from `truth`, dates out of order in the input. */
function season(n: number, seed: number) {
  const rng = mulberry32(seed);
  const truth: Probs[] = Array.from({ length: n }, () => {
    const h = 0.25 + 0.35 * rng();
    const d = 0.22 + 0.08 * rng();
    return [h, d, 1 - h - d];
  });
  const matches: ScoredMatch[] = truth.map((p, i) => {
    const u = rng();
    const outcome: Outcome = u < p[0] ? 0 : u < p[0] + p[1] ? 1 : 2;
    return {
      matchId: 1000 + i,
      date: `2020-${String(1 + Math.floor(i / 100)).padStart(2, '0')}-${String(1 + (Math.floor(i / 10) % 10)).padStart(2, '0')}`,
      outcome,
    };
  });
  return { truth, matches };
}

const blend = (a: Probs, w: number): Probs => [w * a[0] + (1 - w) / 3, w * a[1] + (1 - w) / 3, w * a[2] + (1 - w) / 3];

describe('compareForecasts', () => {
  const { truth, matches } = season(400, 3);
  const forecasters: Forecaster[] = [
    { name: 'sharp', kind: 'model', probs: truth.map((p) => blend(p, 0.95)) },
    { name: 'vague', kind: 'model', probs: truth.map((p) => blend(p, 0.3)) },
    { name: 'bookmaker', kind: 'baseline', probs: truth },
    { name: 'naive', kind: 'baseline', probs: truth.map((): Probs => [1 / 3, 1 / 3, 1 / 3]) },
  ];

  it('scores every row on the same matches, picks the best model and tests each row against both references', () => {
    const c = compareForecasts(matches, forecasters, { bookmaker: 'bookmaker' });
    expect(c).toMatchObject({ metric: 'rps', n: 400, lag: 7, best: 'sharp' });
    expect(c.rows.map((r) => [r.name, r.kind, r.n])).toEqual([
      ['sharp', 'model', 400],
      ['vague', 'model', 400],
      ['bookmaker', 'baseline', 400],
      ['naive', 'baseline', 400],
    ]);
    const row = (name: string) => c.rows.find((r) => r.name === name)!;
    // The reference against itself: no difference at all.
    expect(row('sharp').vsBest).toEqual({ n: 400, meanDiff: 0, stdErr: 0, lag: 7, statistic: 0, pValue: 1 });
    expect(row('bookmaker').vsBookmaker!.meanDiff).toBe(0);
    // Δ is the difference of the mean RPS figures, and the worse forecaster is clearly worse.
    expect(row('vague').vsBest.meanDiff).toBeCloseTo(row('vague').rps - row('sharp').rps, 14);
    expect(row('vague').vsBest.pValue).toBeLessThan(0.01);
    expect(row('bookmaker').vsBest.meanDiff).toBeLessThan(0);
    // Shrinking 5% toward uniform costs almost nothing: not distinguishable from the truth on 400 matches.
    expect(row('sharp').vsBookmaker!.pValue).toBeGreaterThan(0.05);
  });

  it('tests the differences in kick-off order whatever order the matches come in', () => {
    const c = compareForecasts(matches, forecasters, { bookmaker: 'bookmaker' });
    const order = matches.map((_, i) => i).reverse();
    const shuffled = compareForecasts(
      order.map((i) => matches[i]!),
      forecasters.map((f) => ({ ...f, probs: order.map((i) => f.probs[i]!) })),
      { bookmaker: 'bookmaker' },
    );
    expect(shuffled.rows).toEqual(
      c.rows.map((r) => expect.objectContaining({ name: r.name, vsBest: expect.objectContaining({ stdErr: expect.closeTo(r.vsBest.stdErr, 14) }) })),
    );
    // pairedRps sorts the same way: the same test as Diebold–Mariano on date-ordered differences.
    const d = matches.map((m, i) => rps(forecasters[1]!.probs[i]!, m.outcome) - rps(truth[i]!, m.outcome));
    expect(pairedRps(matches, forecasters[1]!.probs, truth).stdErr).toBeCloseTo(dieboldMariano(d).stdErr, 14);
  });

  it('has no bookmaker column without a bookmaker row, and lets a baseline-only comparison pick among all rows', () => {
    const c = compareForecasts(matches, forecasters.slice(0, 2));
    expect(c.rows.every((r) => r.vsBookmaker === null)).toBe(true);
    expect(compareForecasts(matches, forecasters.slice(2)).best).toBe('bookmaker');
  });

  it('rejects mismatched input', () => {
    expect(() => compareForecasts(matches.slice(0, 1), forecasters)).toThrow(/at least 2 matches in common/);
    expect(() => compareForecasts(matches, [forecasters[0]!, forecasters[0]!])).toThrow(/"sharp" is listed twice/);
    expect(() => compareForecasts(matches.slice(1), forecasters)).toThrow(/sharp has 400 forecasts for 399 matches/);
  });

  it('prints a difference with its standard error and p-value', () => {
    expect(describePaired({ n: 380, meanDiff: 0.00366, stdErr: 0.00304, lag: 7, statistic: 1.2, pValue: 0.2292 })).toBe('+0.0037 ± 0.0030 (p = 0.229)');
    expect(describePaired({ n: 380, meanDiff: -0.0323, stdErr: 0.0073, lag: 7, statistic: -4.4, pValue: 1.2e-5 }, 'DM')).toBe(
      '-0.0323 ± 0.0073 (p < 0.001; DM)',
    );
  });
});

describe('commonMatches', () => {
  const pred = (matchId: number): Prediction => {
    const p: Probs = [0.5, 0.3, 0.2];
    return { matchId, competition: 'E0', season: '2019-2020', date: '2020-01-01', outcome: 0, model: p, bookmaker: p, bestPrices: null, naive: p, elo: p };
  };
  it("keeps the matches every model scored, in the first model's order, and counts the others", () => {
    const { common, excluded } = commonMatches([[3, 1, 2, 5].map(pred), [1, 2, 3, 4].map(pred), [2, 3, 1, 6].map(pred)]);
    expect(common.map((p) => p.matchId)).toEqual([3, 1, 2]);
    expect(excluded).toBe(3);
    expect(commonMatches([[1, 2].map(pred), [2, 1].map(pred)])).toMatchObject({ excluded: 0 });
    expect(commonMatches([])).toEqual({ common: [], excluded: 0 });
  });
});

describe('evaluate --models: model list and params', () => {
  it('refuses unknown and repeated models, and --model or --run next to --models, as usage errors', () => {
    expect(() => checkModelList(['logreg', 'xgboost'], {})).toThrow(
      new UsageError("unknown model 'xgboost' in --models; valid models: logreg, mlp, dixon-coles, elo-ordered, ensemble"),
    );
    expect(() => checkModelList(['logreg', 'elo-ordered', 'logreg'], {})).toThrow(/--models lists logreg twice/);
    expect(() => checkModelList(['logreg'], { model: 'mlp' })).toThrow(/--model and --models cannot be combined/);
    expect(() => checkModelList(['logreg'], { run: 3 })).toThrow(/--run .* cannot be combined with --models/);
    expect(() => checkModelList(['logreg', 'elo-ordered', 'dixon-coles', 'ensemble', 'mlp'], {})).not.toThrow();
  });

  it('gives a plain name to every model that has it, and model.name to one model, which wins', () => {
    expect(paramsPerModel(['logreg', 'elo-ordered', 'dixon-coles'], { l2: 0.5, maxGoals: 12, 'logreg.l2': 2, 'elo-ordered.features': 'elo_diff' })).toEqual([
      { name: 'logreg', params: { l2: 2 } },
      { name: 'elo-ordered', params: { l2: 0.5, features: 'elo_diff' } },
      { name: 'dixon-coles', params: { l2: 0.5, maxGoals: 12 } },
    ]);
    expect(paramsPerModel(['logreg'], {})).toEqual([{ name: 'logreg', params: {} }]);
  });

  it('refuses a name no listed model has, and a prefix naming a model not listed', () => {
    expect(() => paramsPerModel(['logreg', 'elo-ordered'], { depth: 3 })).toThrow(UsageError);
    expect(() => paramsPerModel(['logreg', 'elo-ordered'], { depth: 3 })).toThrow(/unknown parameter 'depth': no model of --models has it/);
    expect(() => paramsPerModel(['logreg', 'elo-ordered'], { maxGoals: 12 })).toThrow(/'maxGoals'/);
    expect(() => paramsPerModel(['logreg'], { 'dixon-coles.xi': 0.001 })).toThrow(/parameter dixon-coles\.xi: dixon-coles is not one of --models \(logreg\)/);
    expect(() => paramsPerModel(['logreg'], { 'logreg.xi': 0.001 })).toThrow(/logreg has no parameter 'xi'/);
  });
});
