// Paired comparisons (issue 11.4): Newey–West variance, the HLN-corrected Diebold–Mariano test and Student's t.
//
// Reference numbers were computed once with numpy 2.4 / scipy 1.17 (.venv-mlflow/bin/python) and are hard-coded:
//   e = d - d.mean(); g_k = (e[k:] * e[:n-k]).sum() / n
//   lrv = g_0 + 2 * sum((1 - k/(L+1)) * g_k for k in 1..L); se = sqrt(lrv / n)
//   stat = d.mean() / se * sqrt((n-1)/n); p = 2 * scipy.stats.t.sf(abs(stat), n-1)
// and scipy.stats.t.sf / scipy.special.betainc / scipy.special.gammaln for the special functions.
import { describe, expect, it } from 'vitest';
import { meanAndStdErr } from '../../src/ml/metrics.js';
import {
  defaultLag,
  dieboldMariano,
  logGamma,
  neweyWestVariance,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTwoSidedP,
} from '../../src/ml/evaluation/paired.js';
import { mulberry32, normal } from '../../src/ml/random.js';

const D = [0.1, -0.05, 0.02, 0.07, -0.01, 0.03, 0.04, -0.02, 0.05, 0.0];
// Blocks of three: a pattern like matches of one round sharing conditions.
const D2 = [0.012, 0.015, 0.011, -0.004, -0.006, -0.003, 0.02, 0.018, 0.022, 0.001, -0.002, 0.0, 0.009, 0.013, 0.01, -0.011, -0.008, -0.012, 0.005, 0.004];

describe('Diebold–Mariano with Newey–West variance', () => {
  it.each([
    // [series, lag, long-run variance, stdErr, statistic, pValue] from the Python reference above.
    [D, 2, 0.00032859999999999986, 0.005732364259186605, 3.80640776974245, 0.0041760815302341325],
    [D, 0, 0.0018010000000000005, 0.013420134127496642, 1.6258940222106417, 0.13841679116520844],
    [D, 5, 0.0002671666666666662, 0.005168816756924801, 4.221414083973738, 0.0022347748904135577],
    [D2, 2, 0.00016000466666666664, 0.0028284683723409977, 1.6196021093453943, 0.12179719553835398],
    [D2, 0, 0.00010210999999999998, 0.0022595353504647805, 2.0274050331267954, 0.05688330764317579],
  ])('matches the numpy/scipy reference (case %#)', (d, lag, lrv, se, stat, p) => {
    expect(neweyWestVariance(d, lag)).toBeCloseTo(lrv, 15);
    const r = dieboldMariano(d, { lag });
    expect(r.n).toBe(d.length);
    expect(r.lag).toBe(lag);
    expect(r.meanDiff).toBeCloseTo(d.reduce((s, v) => s + v, 0) / d.length, 15);
    expect(r.stdErr).toBeCloseTo(se, 14);
    expect(r.statistic).toBeCloseTo(stat, 11);
    expect(r.pValue).toBeCloseTo(p, 12);
  });

  it('with lag 0 is exactly the paired t-test (scipy.stats.ttest_1samp gives 1.6258940222106417, p 0.13841679116520844)', () => {
    const r = dieboldMariano(D, { lag: 0 });
    const iid = meanAndStdErr(D);
    expect(r.statistic).toBeCloseTo(iid.mean / iid.stdErr, 12);
  });

  it('uses floor(n^(1/3)) as the default lag', () => {
    expect([2, 7, 8, 26, 27, 380, 1000, 1140].map(defaultLag)).toEqual([1, 1, 2, 2, 3, 7, 10, 10]);
    expect(dieboldMariano(D).lag).toBe(2);
  });

  it('calls a tiny difference noise and a large one significant', () => {
    const rng = mulberry32(11);
    const noise = Array.from({ length: 380 }, () => normal(rng, 0, 0.1));
    const tiny = dieboldMariano(noise.map((e) => e + 0.0005));
    const large = dieboldMariano(noise.map((e) => e + 0.03));
    expect(tiny.pValue).toBeGreaterThan(0.2);
    expect(large.pValue).toBeLessThan(1e-6);
    // The HAC standard error does not depend on the shift.
    expect(large.stdErr).toBeCloseTo(tiny.stdErr, 14);
    expect(tiny.stdErr).toBeGreaterThan(0.003);
    expect(tiny.stdErr).toBeLessThan(0.007);
  });

  it('widens the standard error when neighbouring differences move together (matches of one round)', () => {
    const rng = mulberry32(5);
    // 38 rounds of 10 matches: a shared round effect plus match noise.
    const d = Array.from({ length: 38 }, () => normal(rng, 0, 0.05)).flatMap((round) => Array.from({ length: 10 }, () => round + normal(rng, 0, 0.05)));
    const hac = dieboldMariano(d);
    expect(hac.stdErr).toBeGreaterThan(1.5 * meanAndStdErr(d).stdErr);
  });

  it('is antisymmetric: swapping the two forecasters flips the sign, not the p-value', () => {
    const ab = dieboldMariano(D2);
    const ba = dieboldMariano(D2.map((v) => -v));
    expect(ba.meanDiff).toBeCloseTo(-ab.meanDiff, 15);
    expect(ba.statistic).toBeCloseTo(-ab.statistic, 12);
    expect(ba.pValue).toBeCloseTo(ab.pValue, 14);
  });

  it('handles constant differentials: identical forecasts (p = 1) and a difference that never varies (p = 0)', () => {
    expect(dieboldMariano([0, 0, 0, 0])).toEqual({ n: 4, meanDiff: 0, stdErr: 0, lag: 1, statistic: 0, pValue: 1 });
    const constant = dieboldMariano([0.01, 0.01, 0.01]);
    expect(constant.statistic).toBe(Infinity);
    expect(constant.pValue).toBe(0);
  });

  it('rejects too short series, non-finite values and impossible lags', () => {
    expect(() => dieboldMariano([0.1])).toThrow(/at least 2 paired values, got 1/);
    expect(() => dieboldMariano([0.1, Number.NaN])).toThrow(/d\[1\] must be finite/);
    expect(() => dieboldMariano([0.1, 0.2], { lag: 2 })).toThrow(/lag must be an integer in 0\.\.1/);
    expect(() => neweyWestVariance([0.1, 0.2, 0.3], -1)).toThrow(RangeError);
    expect(() => dieboldMariano([0.1, 0.2, 0.3], { lag: 1.5 })).toThrow(RangeError);
  });
});

describe('Student t and the incomplete beta', () => {
  it.each([
    // [t, df, scipy 2 * t.sf(t, df)]
    [2.0, 10, 0.07338803477074037],
    [0.5, 3, 0.651447964848151],
    [1.0, 1, 0.5000000000000001],
    [3.5, 379, 0.0005206145132279535],
    [1.96, 1e5, 0.04999856319430168],
    [10.0, 5, 0.00017094757574296363],
    [0.001, 50, 0.9992060947755017],
  ])('two-sided p of t = %d with %d df', (t, df, p) => {
    // Relative to 1e-9: ln Γ(df/2) ≈ 5e5 for 1e5 df leaves ~1e-10 of cancellation in ln B, far below what a p-value needs.
    expect(studentTwoSidedP(t, df) / p).toBeCloseTo(1, 9);
    expect(studentTwoSidedP(-t, df) / p).toBeCloseTo(1, 9);
    expect(studentTCdf(-t, df) / (p / 2)).toBeCloseTo(1, 9);
    expect(studentTCdf(t, df)).toBeCloseTo(1 - p / 2, 10);
  });

  it('keeps relative precision far in the tail (scipy: 4.3040725386550846e-138 for t = 40, 379 df)', () => {
    expect(studentTwoSidedP(40, 379) / 4.3040725386550846e-138).toBeCloseTo(1, 9);
    expect(studentTwoSidedP(Infinity, 10)).toBe(0);
    expect(studentTwoSidedP(0, 10)).toBe(1);
  });

  it.each([
    [0.3, 2.5, 0.5, 0.018927124071945658],
    [0.9, 190, 0.5, 2.5594510303241364e-10],
    [0.5, 1, 1, 0.5],
    [0.2, 0.5, 3.0, 0.733430296619931],
  ])('I_%d(%d, %d) matches scipy.special.betainc', (x, a, b, expected) => {
    expect(regularizedIncompleteBeta(x, a, b) / expected).toBeCloseTo(1, 11);
  });

  it('ln Γ matches scipy.special.gammaln', () => {
    const cases: [number, number][] = [
      [0.5, 0.5723649429247],
      [1, 0],
      [2.5, 0.2846828704729192],
      [10, 12.801827480081469],
      [100.5, 361.43554046777757],
      [5000, 37582.62631568535],
    ];
    for (const [x, expected] of cases) expect(logGamma(x)).toBeCloseTo(expected, Math.max(0, 13 - Math.ceil(Math.log10(Math.abs(expected) + 1))));
  });

  it('rejects arguments outside the domain', () => {
    expect(() => studentTwoSidedP(1, 0)).toThrow(RangeError);
    expect(() => studentTwoSidedP(Number.NaN, 3)).toThrow(RangeError);
    expect(() => regularizedIncompleteBeta(1.5, 1, 1)).toThrow(RangeError);
    expect(() => logGamma(0)).toThrow(RangeError);
  });
});
