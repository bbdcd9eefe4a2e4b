/** Bookmaker margin removal: turn decimal prices (1x2 or any n-way market) into probabilities that sum to 1. */
import type { Prices, Probs } from './types.js';

/** The margin-removal methods, in the order reports list them. */
export const MARGIN_METHODS = ['multiplicative', 'additive', 'power', 'shin'] as const;

/** One of MARGIN_METHODS. */
export type MarginMethod = (typeof MARGIN_METHODS)[number];

/** Shin's insider share z is searched in [0, SHIN_MAX_Z]; real football books sit far below (z ≈ 0.01–0.05). */
export const SHIN_MAX_Z = 0.4;

// A book within this of 100% has no margin to remove; every method then returns the normalised 1/price,
// which also keeps float noise (Σ 1/o = 1 − 1e-16) away from methods that need a strictly positive margin.
const NO_MARGIN = 1e-12;

/** Throws RangeError unless prices are at least two finite decimal prices, each > 1. */
export function assertPrices(prices: readonly number[], where = 'prices'): void {
  if (!Array.isArray(prices) || prices.length < 2) throw new RangeError(`${where}: expected at least 2 prices, got ${JSON.stringify(prices)}`);
  for (const o of prices) {
    // A decimal price of 1 or less pays back no more than the stake: it is a typo or a void, not a market price.
    if (typeof o !== 'number' || !Number.isFinite(o) || o <= 1)
      throw new RangeError(`${where}: each decimal price must be finite and > 1, got ${JSON.stringify(prices)}`);
  }
}

/** The bookmaker's margin Σ 1/o − 1 (0.05 = a 105% book); negative when the prices come from different books. */
export function overround(prices: readonly number[]): number {
  assertPrices(prices, 'overround');
  return prices.reduce((s, o) => s + 1 / o, 0) - 1;
}

/** Probabilities implied by prices with the margin removed by method; sums to 1 within 1e-9, order kept. */
export function impliedProbabilities(prices: Prices, method: MarginMethod): Probs;
export function impliedProbabilities(prices: readonly number[], method: MarginMethod): number[];
export function impliedProbabilities(prices: readonly number[], method: MarginMethod): readonly number[] {
  // Checked up front so a bad method fails even on a margin-free book, which returns before the switch.
  if (!(MARGIN_METHODS as readonly string[]).includes(method)) {
    throw new RangeError(`impliedProbabilities: unknown method ${JSON.stringify(method)}; expected one of ${MARGIN_METHODS.join(', ')}`);
  }
  assertPrices(prices, `impliedProbabilities(${method})`);
  const pi = prices.map((o) => 1 / o);
  const book = sum(pi);
  if (Math.abs(book - 1) <= NO_MARGIN) return normalise(pi);
  switch (method) {
    case 'multiplicative':
      return normalise(pi);
    case 'additive':
      return additive(pi, book);
    case 'power':
      return power(pi, book);
    case 'shin':
      return normalise(solveShin(pi, book).probs);
  }
}

/** Shin's estimated share of insider money z for these prices (0 for a book with no margin). */
export function shinInsiderShare(prices: readonly number[]): number {
  assertPrices(prices, 'shinInsiderShare');
  const pi = prices.map((o) => 1 / o);
  const book = sum(pi);
  return Math.abs(book - 1) <= NO_MARGIN ? 0 : solveShin(pi, book).z;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}

function normalise(xs: readonly number[]): number[] {
  const s = sum(xs);
  return xs.map((x) => x / s);
}

/**
 * Additive: take an equal share (book − 1)/n off every outcome. With a big margin and a long shot that share can
 * exceed the long shot's 1/o; such outcomes are clamped to 0 and the rest renormalised, so additive (alone among
 * the methods) can return 0 — callers scoring log loss on it should expect the eps clip to bite.
 */
function additive(pi: readonly number[], book: number): number[] {
  const share = (book - 1) / pi.length;
  const raw = pi.map((x) => x - share);
  return raw.some((x) => x < 0) ? normalise(raw.map((x) => Math.max(0, x))) : normalise(raw);
}

/**
 * Power: p_i = π_i^k with k solving Σ π_i^k = 1. Since every π_i < 1, Σ π_i^k falls strictly as k grows, so the
 * root is unique; bisection is used over Newton because it cannot overshoot and converges in a bounded number of steps.
 */
function power(pi: readonly number[], book: number): number[] {
  const excess = (k: number): number => sum(pi.map((x) => x ** k)) - 1;
  // A positive margin needs k > 1; a negative one (prices from several books) needs k in (0, 1), where Σ π^0 = n > 1.
  let lo = book > 1 ? 1 : 0;
  let hi = book > 1 ? 2 : 1;
  while (excess(hi) > 0) {
    lo = hi;
    hi *= 2;
    // Only a price within a hair of 1 can need such a k; report it rather than loop forever.
    if (hi > 1e9) throw new RangeError(`impliedProbabilities(power): no exponent found for 1/prices ${JSON.stringify(pi)}`);
  }
  const k = bisect(excess, lo, hi);
  return normalise(pi.map((x) => x ** k));
}

/**
 * Shin (1993), in the closed form of Jullien & Salanié (1994) used by Štrumbelj (2014):
 * p_i(z) = (√(z² + 4(1 − z) π_i² / Σπ) − z) / (2(1 − z)); z is the share of insider money and solves Σ p_i(z) = 1.
 * At z = 0 the sum is √Σπ (> 1 for a positive margin) and it falls as z grows, so bisection on [0, SHIN_MAX_Z] finds it.
 */
function solveShin(pi: readonly number[], book: number): { z: number; probs: number[] } {
  // The model explains a margin by insiders; a book under 100% would need negative insider money, which means nothing.
  if (book < 1)
    throw new RangeError(
      `impliedProbabilities(shin): needs a book of at least 100%, got ${(book * 100).toFixed(4)}% — use another method for best-of-market prices`,
    );
  const probsAt = (z: number): number[] => pi.map((x) => (Math.sqrt(z * z + (4 * (1 - z) * x * x) / book) - z) / (2 * (1 - z)));
  const excess = (z: number): number => sum(probsAt(z)) - 1;
  if (excess(SHIN_MAX_Z) > 0)
    throw new RangeError(`impliedProbabilities(shin): margin too large, insider share would exceed ${SHIN_MAX_Z} for 1/prices ${JSON.stringify(pi)}`);
  const z = bisect(excess, 0, SHIN_MAX_Z);
  return { z, probs: probsAt(z) };
}

/** Root of a decreasing f on [lo, hi] with f(lo) ≥ 0 ≥ f(hi), to the last representable bit. */
function bisect(f: (x: number) => number, lo: number, hi: number): number {
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    // When mid can no longer move, lo and hi are adjacent doubles: that is full precision.
    if (mid === lo || mid === hi) break;
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
