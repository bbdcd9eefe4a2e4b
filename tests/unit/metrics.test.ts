import { describe, expect, it } from 'vitest';
import { accuracy, argmax, brier, classwiseReliability, expectedCalibrationError, logLoss, meanAndStdErr, rps, summarise } from '../../src/ml/metrics.js';
import { mulberry32 } from '../../src/ml/random.js';
import type { Outcome, Probs } from '../../src/ml/types.js';

const U: Probs = [1 / 3, 1 / 3, 1 / 3];

/** Random triple from a flat Dirichlet (normalised exponentials), so every point of the simplex can occur. */
function randomProbs(rng: () => number): Probs {
  const e = [0, 1, 2].map(() => -Math.log(1 - rng()));
  const s = e[0]! + e[1]! + e[2]!;
  return [e[0]! / s, e[1]! / s, e[2]! / s];
}
const randomOutcome = (rng: () => number): Outcome => Math.floor(rng() * 3) as Outcome;

// A small set worked by hand below: confidences 0.75 (bin 7) and 0.45 (bin 4).
const SET: Probs[] = [
  [0.75, 0.15, 0.1],
  [0.75, 0.15, 0.1],
  [0.25, 0.45, 0.3],
  [0.2, 0.35, 0.45],
];
const SET_OUT: Outcome[] = [0, 2, 1, 0];

describe('rps', () => {
  it('matches hand-computed values', () => {
    // Cumulative forecast (P1, P1+P2) vs cumulative outcome (O1, O1+O2), squared gaps summed, divided by r−1 = 2.
    expect(rps([1, 0, 0], 0)).toBe(0); // (1,1) vs (1,1)
    expect(rps([1, 0, 0], 2)).toBe(1); // (1,1) vs (0,0): (1 + 1)/2
    expect(rps(U, 1)).toBeCloseTo(1 / 9, 15); // (1/3,2/3) vs (0,1): (1/9 + 1/9)/2
    expect(rps(U, 0)).toBeCloseTo(5 / 18, 15); // (1/3,2/3) vs (1,1): (4/9 + 1/9)/2
    expect(rps([0.5, 0.3, 0.2], 2)).toBeCloseTo(0.445, 15); // (.5,.8) vs (0,0): (.25 + .64)/2
    expect(rps([0, 1, 0], 0)).toBe(0.5); // (0,1) vs (1,1): (1 + 0)/2
  });

  it('rewards mass near the outcome: a miss by one category costs less than a miss by two', () => {
    // Home wins. (.6,.9) vs (1,1): (.16 + .01)/2 = .085; (.6,.7): (.16 + .09)/2 = .125.
    expect(rps([0.6, 0.3, 0.1], 0)).toBeCloseTo(0.085, 15);
    expect(rps([0.6, 0.1, 0.3], 0)).toBeCloseTo(0.125, 15);
  });

  it('stays in [0, 1] and is symmetric under reversing home and away', () => {
    const rng = mulberry32(1);
    for (let i = 0; i < 2000; i++) {
      const p = randomProbs(rng);
      const o = randomOutcome(rng);
      const r = rps(p, o);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
      expect(rps([p[2], p[1], p[0]], (2 - o) as Outcome)).toBeCloseTo(r, 12);
    }
  });
});

describe('logLoss', () => {
  it('matches hand-computed values', () => {
    expect(logLoss([0.5, 0.3, 0.2], 1)).toBeCloseTo(-Math.log(0.3), 15); // 1.2039728...
    expect(logLoss([0.5, 0.3, 0.2], 1)).toBeCloseTo(1.2039728043259361, 15);
    expect(logLoss(U, 2)).toBeCloseTo(Math.log(3), 15);
    expect(logLoss([1, 0, 0], 0)).toBe(0);
  });

  it('clips a zero probability at eps instead of returning Infinity', () => {
    expect(logLoss([1, 0, 0], 2)).toBeCloseTo(-Math.log(1e-15), 12); // 34.5387...
    expect(logLoss([1, 0, 0], 2, 1e-3)).toBeCloseTo(-Math.log(1e-3), 12);
    expect(() => logLoss([1, 0, 0], 2, 0)).toThrow(RangeError);
    expect(() => logLoss([1, 0, 0], 2, 1)).toThrow(RangeError);
  });

  it('is >= 0 and finite on random forecasts', () => {
    const rng = mulberry32(2);
    for (let i = 0; i < 2000; i++) {
      const l = logLoss(randomProbs(rng), randomOutcome(rng));
      expect(l).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(l)).toBe(true);
    }
  });
});

describe('brier', () => {
  it('matches hand-computed values', () => {
    expect(brier([0.5, 0.3, 0.2], 1)).toBeCloseTo(0.78, 15); // .5² + .7² + .2² = .25 + .49 + .04
    expect(brier([1, 0, 0], 2)).toBe(2); // 1 + 0 + 1
    expect(brier([1, 0, 0], 0)).toBe(0);
    expect(brier(U, 0)).toBeCloseTo(2 / 3, 15); // 4/9 + 1/9 + 1/9
  });

  it('stays in [0, 2] on random forecasts', () => {
    const rng = mulberry32(3);
    for (let i = 0; i < 2000; i++) {
      const b = brier(randomProbs(rng), randomOutcome(rng));
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThanOrEqual(2);
    }
  });
});

describe('argmax and accuracy', () => {
  it('breaks ties towards the lowest index', () => {
    expect(argmax(U)).toBe(0);
    expect(argmax([0.2, 0.4, 0.4])).toBe(1);
    expect(argmax([0.1, 0.2, 0.7])).toBe(2);
    expect(accuracy(U, 0)).toBe(1);
    expect(accuracy(U, 1)).toBe(0);
    expect(accuracy([0.2, 0.4, 0.4], 1)).toBe(1);
  });
});

describe('expectedCalibrationError', () => {
  it('matches a hand-computed value', () => {
    // Bin 7: confidences .75, .75; hits 1 of 2 → |.5 − .75| = .25, weight 2/4.
    // Bin 4: confidences .45 (draw, hit), .45 (away, miss) → |.5 − .45| = .05, weight 2/4.
    // ECE = .5·.25 + .5·.05 = .15.
    expect(expectedCalibrationError(SET, SET_OUT)).toBeCloseTo(0.15, 15);
  });

  it('is 0 for a calibrated forecaster and 1 for a sure forecaster that is always wrong', () => {
    // Uniform forecasts predict home (tie → 0) with confidence 1/3 and are right 1 time in 3.
    expect(expectedCalibrationError([U, U, U], [0, 1, 2])).toBeCloseTo(0, 15);
    expect(
      expectedCalibrationError(
        [
          [1, 0, 0],
          [0, 0, 1],
        ],
        [2, 0],
      ),
    ).toBe(1);
    // Confidence exactly 1 lands in the last bin rather than overflowing.
    expect(expectedCalibrationError([[1, 0, 0]], [0])).toBe(0);
  });

  it('stays in [0, 1] on random sets', () => {
    const rng = mulberry32(4);
    for (let t = 0; t < 50; t++) {
      const n = 1 + Math.floor(rng() * 200);
      const preds = Array.from({ length: n }, () => randomProbs(rng));
      const outs = Array.from({ length: n }, () => randomOutcome(rng));
      const e = expectedCalibrationError(preds, outs, 1 + Math.floor(rng() * 20));
      expect(e).toBeGreaterThanOrEqual(0);
      expect(e).toBeLessThanOrEqual(1);
    }
  });
});

describe('classwiseReliability', () => {
  it('bins each class on its own probability, matching a hand count', () => {
    const [home, draw, away] = classwiseReliability(SET, SET_OUT);
    expect(home).toHaveLength(10);
    // Home: p = .75, .75 (bin 7; outcomes home, away) and .25, .2 (bin 2; outcomes draw, home).
    expect(home[7]).toEqual({ lower: 0.7, upper: 0.8, count: 2, meanPredicted: 0.75, observedFrequency: 0.5 });
    expect(home[2]!.count).toBe(2);
    expect(home[2]!.meanPredicted).toBeCloseTo(0.225, 15);
    expect(home[2]!.observedFrequency).toBe(0.5);
    expect(home[0]).toEqual({ lower: 0, upper: 0.1, count: 0, meanPredicted: null, observedFrequency: null });
    // Draw: .15, .15 (bin 1, no draws), .45 (bin 4, draw), .35 (bin 3, no draw).
    expect(draw[1]).toMatchObject({ count: 2, observedFrequency: 0 });
    expect(draw[1]!.meanPredicted).toBeCloseTo(0.15, 15);
    expect(draw[4]).toMatchObject({ count: 1, meanPredicted: 0.45, observedFrequency: 1 });
    expect(draw[3]).toMatchObject({ count: 1, meanPredicted: 0.35, observedFrequency: 0 });
    // Away: .1, .1 (bin 1; one away win), .3 (bin 3), .45 (bin 4); none of the last two was an away win.
    expect(away[1]).toMatchObject({ count: 2, observedFrequency: 0.5 });
    for (const cls of [home, draw, away]) expect(cls.reduce((s, b) => s + b.count, 0)).toBe(SET.length);
  });

  it('honours the bin count', () => {
    const bins = classwiseReliability(SET, SET_OUT, 4);
    expect(bins[0].map((b) => [b.lower, b.upper])).toEqual([
      [0, 0.25],
      [0.25, 0.5],
      [0.5, 0.75],
      [0.75, 1],
    ]);
  });
});

describe('summarise', () => {
  it('averages the metrics over a hand-worked set', () => {
    const s = summarise(SET, SET_OUT);
    expect(s.n).toBe(4);
    // RPS: .03625 + .68625 + .07625 + .42125 = 1.22 → .305
    expect(s.rps).toBeCloseTo(0.305, 15);
    // Brier: .095 + 1.395 + .455 + .965 = 2.91 → .7275
    expect(s.brier).toBeCloseTo(0.7275, 15);
    // Log loss: −(ln .75 + ln .1 + ln .45 + ln .2)/4
    expect(s.logLoss).toBeCloseTo(-Math.log(0.75 * 0.1 * 0.45 * 0.2) / 4, 14);
    expect(s.accuracy).toBe(0.5); // argmax home ✓, home ✗, draw ✓, away ✗
    expect(s.ece).toBeCloseTo(0.15, 15);
  });

  it('throws a clear RangeError on an empty or mismatched set', () => {
    expect(() => summarise([], [])).toThrow(RangeError);
    expect(() => summarise([], [])).toThrow(/at least one prediction/);
    expect(() => summarise([U], [0, 1])).toThrow(/1 predictions but 2 outcomes/);
  });
});

describe('meanAndStdErr', () => {
  it('matches hand-computed values', () => {
    // Mean 2.5; sample variance (2.25 + .25 + .25 + 2.25)/3 = 5/3; SE = √(5/3 / 4) = √(5/12).
    const r = meanAndStdErr([1, 2, 3, 4]);
    expect(r.n).toBe(4);
    expect(r.mean).toBe(2.5);
    expect(r.stdErr).toBeCloseTo(Math.sqrt(5 / 12), 15);
    expect(meanAndStdErr([7, 7, 7]).stdErr).toBe(0);
    expect(meanAndStdErr([5]).mean).toBe(5);
    expect(meanAndStdErr([5]).stdErr).toBeNaN();
  });

  it('rejects empty and non-finite input', () => {
    expect(() => meanAndStdErr([])).toThrow(RangeError);
    expect(() => meanAndStdErr([1, Number.NaN])).toThrow(RangeError);
    expect(() => meanAndStdErr([1, Infinity])).toThrow(RangeError);
  });
});

describe('input checks', () => {
  const bad = (p: readonly number[]): Probs => p as unknown as Probs;

  it('rejects malformed probability triples in every metric', () => {
    const cases = [
      bad([0.5, 0.5]),
      bad([0.25, 0.25, 0.25, 0.25]),
      bad([Number.NaN, 0.5, 0.5]),
      bad([0.5, 0.3, 0.3]), // sums to 1.1
      bad([0.333, 0.333, 0.333]), // sums to 0.999: outside 1e-6
      bad([-0.1, 0.6, 0.5]),
      bad([1.1, -0.05, -0.05]),
    ];
    for (const p of cases) {
      for (const f of [rps, logLoss, brier, accuracy]) expect(() => f(p, 0), JSON.stringify(p)).toThrow(RangeError);
      expect(() => argmax(p)).toThrow(RangeError);
      expect(() => summarise([p], [0])).toThrow(RangeError);
    }
  });

  it('accepts sums within 1e-6 of 1 (rounded exports)', () => {
    expect(() => rps([0.3333333, 0.3333333, 0.3333333], 0)).not.toThrow();
  });

  it('rejects outcomes other than 0, 1, 2 and bad bin counts', () => {
    for (const o of [3, -1, 1.5, Number.NaN]) {
      expect(() => rps(U, o as Outcome)).toThrow(RangeError);
      expect(() => summarise([U], [o as Outcome])).toThrow(RangeError);
    }
    for (const bins of [0, -1, 2.5, Number.NaN]) {
      expect(() => expectedCalibrationError(SET, SET_OUT, bins)).toThrow(RangeError);
      expect(() => classwiseReliability(SET, SET_OUT, bins)).toThrow(RangeError);
    }
  });
});
