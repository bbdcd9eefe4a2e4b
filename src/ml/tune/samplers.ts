/** Hyperparameter samplers: uniform random and an independent Tree-structured Parzen Estimator (Optuna-like), pure and seeded. */
import type { ParamValues } from '../models/types.js';
import { randomInt, type Rng } from '../random.js';
import { buildMixture, categoricalProbs, mixtureLogPdf, pickIndex, sampleMixture } from './parzen.js';
import { inDimension, type CategoricalDimension, type Dimension, type NumericDimension } from './space.js';

/** A finished trial: its params and the objective value to MINIMISE (NaN counts as the worst value). */
export interface CompletedTrial {
  params: ParamValues;
  value: number;
}

/**
 * A trial stopped early (pruned or failed). Only its params are used: it always joins the "bad" group, as in Optuna where pruned
 * trials rank after every completed one. lastValue (its last intermediate value) is accepted for the record but not used.
 */
export interface PrunedTrial {
  params: ParamValues;
  lastValue?: number;
}

/** TPE settings; the defaults are Optuna's. */
export interface TpeOptions {
  /** Completed trials sampled at random before TPE starts (10). */
  nStartup?: number;
  /** Size of the "good" group for n trials (min(ceil(0.1 n), 25)). */
  gamma?: (n: number) => number;
  /** Candidates drawn from l(x) per dimension; the one with the largest l(x)/g(x) wins (24). */
  nCandidates?: number;
  /** Weight of the prior component against weight 1 per observation (1). */
  priorWeight?: number;
  /** Pruned or failed trials: they count towards gamma's n and always join the bad group. */
  pruned?: readonly PrunedTrial[];
}

/** Optuna's default gamma: the best 10% of trials, at most 25, form the good group. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

// Bounds in the space where sampling is uniform: log for log dims, and half a step wider for ints so each integer gets equal width.
function interval(dim: NumericDimension): [number, number] {
  const lo = dim.type === 'int' ? dim.min - 0.5 : dim.min;
  const hi = dim.type === 'int' ? dim.max + 0.5 : dim.max;
  return dim.log ? [Math.log(lo), Math.log(hi)] : [lo, hi];
}

// Back from the sampling space, clamped because exp(log(x)) and the int half-steps can land a hair outside.
function fromInterval(dim: NumericDimension, x: number): number {
  const raw = dim.log ? Math.exp(x) : x;
  const v = dim.type === 'int' ? Math.round(raw) : raw;
  return Math.min(dim.max, Math.max(dim.min, v));
}

function randomValue(dim: Dimension, rng: Rng): number | string {
  if (dim.type === 'categorical') return dim.choices[randomInt(dim.choices.length, rng)]!;
  if (dim.type === 'int' && !dim.log) return dim.min + randomInt(dim.max - dim.min + 1, rng);
  const [lo, hi] = interval(dim);
  return fromInterval(dim, lo + rng() * (hi - lo));
}

/** Independent uniform draw per dimension: log-uniform for log dims, every integer equally likely for linear ints. */
export function randomSample(dims: readonly Dimension[], rng: Rng): ParamValues {
  const out: ParamValues = {};
  for (const dim of dims) out[dim.name] = randomValue(dim, rng);
  return out;
}

function checkOptions(options: TpeOptions): Required<Omit<TpeOptions, 'pruned'>> {
  const { nStartup = 10, gamma = defaultGamma, nCandidates = 24, priorWeight = 1 } = options;
  if (!Number.isSafeInteger(nStartup) || nStartup < 0) throw new RangeError(`tpe: nStartup must be an integer >= 0, got ${nStartup}`);
  if (!Number.isSafeInteger(nCandidates) || nCandidates < 1) throw new RangeError(`tpe: nCandidates must be an integer >= 1, got ${nCandidates}`);
  // The prior is what keeps l(x) defined when the good group has no observation of a dimension.
  if (!Number.isFinite(priorWeight) || priorWeight <= 0) throw new RangeError(`tpe: priorWeight must be finite and > 0, got ${priorWeight}`);
  return { nStartup, gamma, nCandidates, priorWeight };
}

// Split completed trials into the gamma(n) lowest values (good) and the rest plus pruned (bad), each kept in trial order.
function split(completed: readonly CompletedTrial[], pruned: readonly PrunedTrial[], gamma: (n: number) => number): [ParamValues[], ParamValues[]] {
  const n = completed.length + pruned.length;
  const g = gamma(n);
  if (!Number.isFinite(g)) throw new RangeError(`tpe: gamma(${n}) must be finite, got ${g}`);
  const nGood = Math.min(completed.length, Math.max(0, Math.floor(g)));
  const key = (t: CompletedTrial): number => (Number.isNaN(t.value) ? Infinity : t.value);
  const ranked = completed.map((_, i) => i).sort((a, b) => key(completed[a]!) - key(completed[b]!) || a - b);
  const isGood = new Set(ranked.slice(0, nGood));
  const good = completed.filter((_, i) => isGood.has(i)).map((t) => t.params);
  const bad = [...completed.filter((_, i) => !isGood.has(i)).map((t) => t.params), ...pruned.map((t) => t.params)];
  return [good, bad];
}

// Observations of one dimension, skipping trials that lack it or fall outside (e.g. after the space was narrowed).
function observed(dim: Dimension, group: readonly ParamValues[]): (number | string)[] {
  const out: (number | string)[] = [];
  for (const params of group) {
    const v = params[dim.name];
    if (inDimension(dim, v)) out.push(v as number | string);
  }
  return out;
}

function tpeNumeric(
  dim: NumericDimension,
  good: readonly ParamValues[],
  bad: readonly ParamValues[],
  rng: Rng,
  o: Required<Omit<TpeOptions, 'pruned'>>,
): number {
  const [lo, hi] = interval(dim);
  const toSpace = (v: number | string): number => (dim.log ? Math.log(v as number) : (v as number));
  const l = buildMixture(observed(dim, good).map(toSpace), lo, hi, o.priorWeight);
  const g = buildMixture(observed(dim, bad).map(toSpace), lo, hi, o.priorWeight);
  let best = Number.NaN;
  let bestScore = -Infinity;
  for (let c = 0; c < o.nCandidates; c++) {
    const x = sampleMixture(l, rng);
    const score = mixtureLogPdf(l, x) - mixtureLogPdf(g, x);
    // The first candidate always counts, so a -Infinity/NaN score can never leave the result undefined.
    if (c === 0 || score > bestScore) {
      best = x;
      bestScore = score;
    }
  }
  return fromInterval(dim, best);
}

function tpeCategorical(
  dim: CategoricalDimension,
  good: readonly ParamValues[],
  bad: readonly ParamValues[],
  rng: Rng,
  o: Required<Omit<TpeOptions, 'pruned'>>,
): string {
  const index = (v: number | string): number => dim.choices.indexOf(v as string);
  const k = dim.choices.length;
  const l = categoricalProbs(observed(dim, good).map(index), k, o.priorWeight);
  const g = categoricalProbs(observed(dim, bad).map(index), k, o.priorWeight);
  let best = 0;
  let bestScore = -Infinity;
  for (let c = 0; c < o.nCandidates; c++) {
    const i = pickIndex(l, rng);
    const score = Math.log(l[i]!) - Math.log(g[i]!);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return dim.choices[best]!;
}

/**
 * Independent TPE (Bergstra et al. 2011) with Optuna's defaults: random until nStartup completed trials, then per dimension draw
 * nCandidates from the good-group density l and keep the one maximising l/g. Same inputs and rng state give the same output.
 */
export function tpeSample(dims: readonly Dimension[], completed: readonly CompletedTrial[], rng: Rng, options: TpeOptions = {}): ParamValues {
  const o = checkOptions(options);
  if (completed.length < o.nStartup) return randomSample(dims, rng);
  const [good, bad] = split(completed, options.pruned ?? [], o.gamma);
  const out: ParamValues = {};
  for (const dim of dims) {
    if (dim.type === 'categorical') out[dim.name] = dim.choices.length === 1 ? dim.choices[0]! : tpeCategorical(dim, good, bad, rng, o);
    // A single-point range has nothing to model, and its zero width would make every bandwidth zero.
    else out[dim.name] = dim.min === dim.max ? dim.min : tpeNumeric(dim, good, bad, rng, o);
  }
  return out;
}
