/** Numeric building blocks shared by the plain-TS models: stable logistic functions, weights, probability clean-up. */
import type { MatchFact, Outcome, Probs } from '../types.js';
import { outcomeOf } from '../types.js';

/** Logistic function, stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Clamp tiny negatives (and NaN-free rounding) and renormalise to a triple that sums to 1 within 1e-15. */
export function finishProbs(h: number, d: number, a: number, where: string): Probs {
  // biome-ignore-start lint/complexity/useMathMinMax: NaN must become 0 here; Math.max would keep it
  const ph = h > 0 ? h : 0;
  const pd = d > 0 ? d : 0;
  const pa = a > 0 ? a : 0;
  // biome-ignore-end lint/complexity/useMathMinMax: NaN must become 0 here; Math.max would keep it
  const s = ph + pd + pa;
  // NaN inputs fall through the `> 0` tests as 0; refuse rather than invent a distribution from nothing.
  if (!(s > 0 && Number.isFinite(s)) || Number.isNaN(h) || Number.isNaN(d) || Number.isNaN(a)) {
    throw new RangeError(`${where}: cannot form probabilities from [${h}, ${d}, ${a}]`);
  }
  return [ph / s, pd / s, pa / s];
}

const MS_PER_DAY = 86_400_000;

/** Whole days from ISO date `from` to ISO date `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(to) - Date.parse(from)) / MS_PER_DAY);
}

/** Latest ISO date among matches (ISO dates sort as strings). */
export function lastDate(matches: readonly Pick<MatchFact, 'date'>[]): string {
  let last = '';
  for (const m of matches) if (m.date > last) last = m.date;
  return last;
}

/** Time-decay weights 0.5^(days before the last match / halfLifeDays); all 1 when halfLifeDays is 0. */
export function halfLifeWeights(matches: readonly Pick<MatchFact, 'date'>[], halfLifeDays: number): Float64Array {
  const w = new Float64Array(matches.length).fill(1);
  if (halfLifeDays <= 0) return w;
  const last = lastDate(matches);
  matches.forEach((m, i) => {
    w[i] = 0.5 ** (daysBetween(m.date, last) / halfLifeDays);
  });
  return w;
}

/** Indices of matches in chronological order (date, kickoff, id), so a tail of it is the latest matches. */
export function chronological(matches: readonly MatchFact[]): number[] {
  const key = (i: number): string => {
    const m = matches[i]!;
    return `${m.date} ${m.kickoff ?? '99:99'}`;
  };
  return matches.map((_, i) => i).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : matches[a]!.id - matches[b]!.id));
}

/** Outcomes of training matches; a match without a result is an error because fitting on it would be a silent leak or a bug. */
export function trainingOutcomes(model: string, matches: readonly MatchFact[]): Outcome[] {
  if (matches.length === 0) throw new RangeError(`${model}: cannot fit on an empty dataset`);
  return matches.map((m) => {
    const o = outcomeOf(m);
    if (o === null) throw new RangeError(`${model}: training match ${m.id} (${m.date}) has no result; fit only on finished matches`);
    return o;
  });
}

/** Column means and standard deviations; a zero-variance or single-row column gets std 1 so it standardises to 0. */
export interface Scaler {
  mean: number[];
  std: number[];
}

/** Fit a Scaler on the rows (training data only, so no test statistics leak in). */
export function fitScaler(rows: readonly Float64Array[], width: number): Scaler {
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  const n = rows.length;
  for (const r of rows) for (let j = 0; j < width; j++) mean[j]! += r[j]!;
  for (let j = 0; j < width; j++) mean[j]! /= n;
  for (const r of rows) for (let j = 0; j < width; j++) std[j]! += (r[j]! - mean[j]!) ** 2;
  for (let j = 0; j < width; j++) {
    const s = Math.sqrt(std[j]! / n);
    // Relative threshold: a constant column of large values still shows rounding-level spread.
    std[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? s : 1;
  }
  return { mean, std };
}

/** Standardised copies of the rows. */
export function applyScaler(rows: readonly Float64Array[], scaler: Scaler): Float64Array[] {
  return rows.map((r) => Float64Array.from(scaler.mean, (m, j) => (r[j]! - m) / scaler.std[j]!));
}

/** Pick `names` out of the dataset's columns by name (so column order may differ between fit and predict). */
export function selectColumns(model: string, X: readonly Float64Array[], featureNames: readonly string[], names: readonly string[]): Float64Array[] {
  const idx = names.map((n) => featureNames.indexOf(n));
  const missing = names.filter((_, k) => idx[k]! < 0);
  if (missing.length > 0) {
    throw new RangeError(
      `${model}: feature(s) ${missing.map((m) => `'${m}'`).join(', ')} not in the dataset; available: ${featureNames.join(', ') || '(none)'}`,
    );
  }
  if (X.length > 0 && X[0]!.length !== featureNames.length) {
    throw new RangeError(`${model}: feature rows have ${X[0]!.length} columns but featureNames lists ${featureNames.length}`);
  }
  return X.map((r) => Float64Array.from(idx, (j) => r[j]!));
}

/** A hint naming columns with NaN/Inf values, for divergence messages (the usual cause). */
export function nonFiniteHint(X: readonly Float64Array[], names: readonly string[]): string {
  const bad = names.filter((_, j) => X.some((r) => !Number.isFinite(r[j]!)));
  return bad.length > 0 ? `Non-finite feature values in: ${bad.join(', ')}` : '';
}

/** Mix a seed with a salt into a new 32-bit seed, so derived seeds (members, layers) do not collide. */
export function deriveSeed(seed: number, salt: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
