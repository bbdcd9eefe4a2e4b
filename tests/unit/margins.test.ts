import { describe, expect, it } from 'vitest';
import { impliedProbabilities, MARGIN_METHODS, overround, shinInsiderShare, type MarginMethod } from '../../src/ml/margins.js';
import type { Prices } from '../../src/ml/types.js';
import { mulberry32 } from '../../src/ml/random.js';

const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

/** Realistic true probabilities: flat Dirichlet, redrawn until every outcome has at least 5%. */
function randomTruth(rng: () => number, n = 3): number[] {
  for (;;) {
    const e = Array.from({ length: n }, () => -Math.log(1 - rng()));
    const s = sum(e);
    const p = e.map((x) => x / s);
    if (Math.min(...p) >= 0.05) return p;
  }
}

/** Prices a bookmaker facing insider share z would set, in Shin's model: π_i = √(z p_i + (1−z) p_i²) · Σ_j √(z p_j + (1−z) p_j²). */
function shinPrices(p: readonly number[], z: number): number[] {
  const roots = p.map((x) => Math.sqrt(z * x + (1 - z) * x * x));
  const s = sum(roots);
  return roots.map((r) => 1 / (r * s));
}

describe('overround', () => {
  it('is Σ 1/o − 1', () => {
    // 1/1.8 + 1/3.6 + 1/4.5 = 10/18 + 5/18 + 4/18 = 19/18
    expect(overround([1.8, 3.6, 4.5])).toBeCloseTo(1 / 18, 15);
    expect(overround([2, 4, 4])).toBe(0);
    // 2/2.1 − 1: a book under 100%, as best-of-market prices can give
    expect(overround([2.1, 4.2, 4.2])).toBeCloseTo(2 / 2.1 - 1, 15);
  });
});

describe('impliedProbabilities: hand-worked values', () => {
  it('multiplicative and additive on a 105.6% book', () => {
    // π = 10/18, 5/18, 4/18; Σ = 19/18.
    const mult = impliedProbabilities([1.8, 3.6, 4.5], 'multiplicative');
    [10 / 19, 5 / 19, 4 / 19].forEach((v, i) => {
      expect(mult[i]).toBeCloseTo(v, 15);
    });
    // Overround 1/18 split equally: 1/54 each → 29/54, 14/54, 11/54.
    const add = impliedProbabilities([1.8, 3.6, 4.5], 'additive');
    [29 / 54, 14 / 54, 11 / 54].forEach((v, i) => {
      expect(add[i]).toBeCloseTo(v, 15);
    });
  });

  it('power recovers an exponent of 2', () => {
    // π = 2/3, 2/3, 1/3: (2/3)² + (2/3)² + (1/3)² = 4/9 + 4/9 + 1/9 = 1, so k = 2.
    const p3 = impliedProbabilities([1.5, 1.5, 3], 'power');
    [4 / 9, 4 / 9, 1 / 9].forEach((v, i) => {
      expect(p3[i]).toBeCloseTo(v, 12);
    });
    // Two-way: π = .6, .8 and .36 + .64 = 1.
    const p2 = impliedProbabilities([1 / 0.6, 1 / 0.8], 'power');
    expect(p2[0]).toBeCloseTo(0.36, 12);
    expect(p2[1]).toBeCloseTo(0.64, 12);
  });

  it('shin recovers the truth from prices built with a known insider share', () => {
    // p = (.5, .3, .2), z = .02: z p + (1−z) p² = .255, .0942, .0432; roots .504975, .306920, .207846; S = 1.019741;
    // π = S · root = .514944, .312979, .211949; Σπ = S² = 1.039873.
    const prices = shinPrices([0.5, 0.3, 0.2], 0.02);
    expect(1 / prices[0]!).toBeCloseTo(0.514944, 6);
    expect(overround(prices)).toBeCloseTo(0.039873, 6);
    const p = impliedProbabilities(prices, 'shin');
    [0.5, 0.3, 0.2].forEach((v, i) => {
      expect(p[i]).toBeCloseTo(v, 12);
    });
    expect(shinInsiderShare(prices)).toBeCloseTo(0.02, 12);
  });

  it('shin equals additive on two-way markets (a known property of the model)', () => {
    for (const prices of [
      [1.5, 2.5],
      [1.2, 4.4],
      [1.9, 1.9],
      [1.05, 9],
    ]) {
      const s = impliedProbabilities(prices, 'shin');
      const a = impliedProbabilities(prices, 'additive');
      s.forEach((v, i) => {
        expect(v).toBeCloseTo(a[i]!, 12);
      });
    }
  });

  it('shifts probability from long shots to the favourite relative to multiplicative (favourite–longshot bias)', () => {
    // Favourite 1.8, long shot 4.5: multiplicative gives .5263 / .2105.
    const mult = impliedProbabilities([1.8, 3.6, 4.5], 'multiplicative');
    for (const method of ['power', 'shin', 'additive'] as const) {
      const p = impliedProbabilities([1.8, 3.6, 4.5], method);
      expect(p[0], method).toBeGreaterThan(mult[0]);
      expect(p[2], method).toBeLessThan(mult[2]);
    }
    // Power on (1.5, 1.5, 3): long shot 1/9 ≈ .111 against multiplicative .2.
    expect(impliedProbabilities([1.5, 1.5, 3], 'power')[2]).toBeLessThan(impliedProbabilities([1.5, 1.5, 3], 'multiplicative')[2]);
  });

  it('additive clamps a long shot that the equal share would push negative, then renormalises', () => {
    // π = .9091, .1667, .02; share = (Σπ − 1)/3 = .0319 > .02, so the long shot would go negative.
    const p = impliedProbabilities([1.1, 6, 50], 'additive');
    expect(p[2]).toBe(0);
    expect(sum(p)).toBeCloseTo(1, 12);
    const share = (1 / 1.1 + 1 / 6 + 1 / 50 - 1) / 3;
    const kept = [1 / 1.1 - share, 1 / 6 - share];
    expect(p[0]).toBeCloseTo(kept[0]! / sum(kept), 12);
  });
});

describe('impliedProbabilities: properties on random books (seeded)', () => {
  const rng = mulberry32(20240601);
  const books: number[][] = [];
  for (let i = 0; i < 500; i++) {
    const truth = randomTruth(rng);
    const margin = rng() * 0.12; // 0–12%, the range of real 1x2 books
    books.push(truth.map((p) => 1 / (p * (1 + margin))));
    books.push(shinPrices(truth, rng() * 0.08));
  }

  it.each(MARGIN_METHODS)('%s returns values in (0, 1) summing to 1', (method: MarginMethod) => {
    for (const prices of books) {
      const p = impliedProbabilities(prices, method);
      expect(p).toHaveLength(3);
      for (const v of p) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThan(1);
      }
      expect(Math.abs(sum(p) - 1)).toBeLessThan(1e-9);
    }
  });

  it.each(MARGIN_METHODS)('%s returns the input when there is no margin', (method: MarginMethod) => {
    const r = mulberry32(7);
    for (let i = 0; i < 300; i++) {
      const truth = randomTruth(r, 2 + (i % 4));
      const p = impliedProbabilities(
        truth.map((x) => 1 / x),
        method,
      );
      truth.forEach((v, k) => {
        expect(Math.abs(p[k]! - v)).toBeLessThan(1e-9);
      });
    }
    expect(impliedProbabilities([2, 4, 4], method)).toEqual([0.5, 0.25, 0.25]);
  });

  it('power and shin give the longest shot less than multiplicative does', () => {
    for (const prices of books) {
      const mult = impliedProbabilities(prices, 'multiplicative');
      const longest = prices.indexOf(Math.max(...prices));
      if (overround(prices) < 1e-6) continue;
      for (const method of ['power', 'shin'] as const) {
        expect(impliedProbabilities(prices, method)[longest]!).toBeLessThanOrEqual(mult[longest]! + 1e-12);
      }
    }
  });

  it('shin round-trips probabilities and insider share on random books', () => {
    const r = mulberry32(99);
    for (let i = 0; i < 300; i++) {
      const n = 2 + (i % 4);
      const truth = randomTruth(r, n);
      const z = 0.001 + r() * 0.1;
      const prices = shinPrices(truth, z);
      const p = impliedProbabilities(prices, 'shin');
      truth.forEach((v, k) => {
        expect(Math.abs(p[k]! - v)).toBeLessThan(1e-9);
      });
      expect(Math.abs(shinInsiderShare(prices) - z)).toBeLessThan(1e-9);
    }
  });

  it('keeps the Probs type for 1x2 prices and handles n-way markets', () => {
    const prices: Prices = [2.2, 3.3, 3.4];
    const p = impliedProbabilities(prices, 'shin');
    expect(p).toHaveLength(3);
    const five = impliedProbabilities([2.5, 4, 6, 8, 12], 'power');
    expect(five).toHaveLength(5);
    expect(Math.abs(sum(five) - 1)).toBeLessThan(1e-9);
  });
});

describe('books under 100% and extreme margins', () => {
  it('multiplicative, additive and power handle a negative margin; shin refuses it', () => {
    const prices = [2.1, 4.2, 4.2];
    for (const method of ['multiplicative', 'additive', 'power'] as const) {
      const p = impliedProbabilities(prices, method);
      expect(Math.abs(sum(p) - 1)).toBeLessThan(1e-9);
      expect(p[1]).toBeCloseTo(p[2]!, 12);
    }
    // π ∝ 2:1:1 → multiplicative .5, .25, .25; power with k < 1 flattens towards the long shots.
    expect(impliedProbabilities(prices, 'multiplicative')[0]).toBeCloseTo(0.5, 15);
    expect(impliedProbabilities(prices, 'power')[0]).toBeLessThan(0.5);
    expect(() => impliedProbabilities(prices, 'shin')).toThrow(RangeError);
    expect(() => shinInsiderShare(prices)).toThrow(/at least 100%/);
  });

  it('shin refuses a margin that needs an insider share above 0.4', () => {
    expect(() => impliedProbabilities([1.01, 1.01, 1.01], 'shin')).toThrow(/insider share would exceed/);
  });
});

describe('input checks', () => {
  const bad: unknown[][] = [[], [2], [1, 3, 4], [0.9, 3, 4], [2, Number.NaN, 3], [2, Infinity, 3], [2, -3, 4], [2, '3', 4]];

  it.each(MARGIN_METHODS)('%s rejects bad prices with RangeError', (method: MarginMethod) => {
    for (const prices of bad) expect(() => impliedProbabilities(prices as number[], method), JSON.stringify(prices)).toThrow(RangeError);
  });

  it('overround and shinInsiderShare reject bad prices; an unknown method is a RangeError', () => {
    for (const prices of bad) {
      expect(() => overround(prices as number[])).toThrow(RangeError);
      expect(() => shinInsiderShare(prices as number[])).toThrow(RangeError);
    }
    expect(() => impliedProbabilities([2, 3, 4], 'odds-ratio' as MarginMethod)).toThrow(/unknown method/);
    expect(() => impliedProbabilities([2, 4, 4], 'odds-ratio' as MarginMethod)).toThrow(RangeError);
  });
});
