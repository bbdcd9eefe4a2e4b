/** Parzen estimators for TPE: truncated-Gaussian mixtures on an interval and smoothed categorical distributions. */
import { normal, type Rng } from '../random.js';

/** A mixture of Gaussians truncated to [low, high]; weights sum to 1. */
export interface TruncatedMixture {
  readonly low: number;
  readonly high: number;
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  readonly weights: readonly number[];
  /** log of each component's mass inside [low, high], cached because every density evaluation needs it. */
  readonly logMass: readonly number[];
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough, since each component keeps well over 10% of its mass in range.
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * (1 + erf(z / Math.SQRT2));
}

/** Optuna's default observation weights: flat below 25, else a linear ramp that down-weights the oldest trials. */
export function observationWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = n - 25;
  // numpy.linspace(1/n, 1, ramp) including both ends (a single point is just 1/n).
  const head = Array.from({ length: ramp }, (_, i) => (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1)));
  return [...head, ...Array.from({ length: 25 }, () => 1)];
}

function normalise(weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/**
 * Parzen mixture over observations (in trial order, inside [low, high]) plus a prior component at the centre with sd = high - low.
 * Bandwidths follow Optuna: the larger gap to a sorted neighbour (the outermost use their inner gap), clipped to [range/min(100, 1+k), range].
 */
export function buildMixture(observations: readonly number[], low: number, high: number, priorWeight: number): TruncatedMixture {
  const range = high - low;
  const mus = [...observations, (low + high) / 2];
  const k = mus.length;
  const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]! || a - b);
  const sorted = [low, ...order.map((i) => mus[i]!), high];
  const sigmas = new Array<number>(k).fill(range);
  for (let r = 0; r < k; r++) {
    let sigma = Math.max(sorted[r + 1]! - sorted[r]!, sorted[r + 2]! - sorted[r + 1]!);
    // Ignoring the endpoints keeps a lone observation near a bound from getting a huge bandwidth from the empty edge.
    if (k >= 2 && r === 0) sigma = sorted[2]! - sorted[1]!;
    if (k >= 2 && r === k - 1) sigma = sorted[k]! - sorted[k - 1]!;
    sigmas[order[r]!] = sigma;
  }
  const minSigma = range / Math.min(100, 1 + k);
  for (let i = 0; i < k; i++) sigmas[i] = Math.min(range, Math.max(minSigma, sigmas[i]!));
  sigmas[k - 1] = range;
  const weights = normalise([...observationWeights(observations.length), priorWeight]);
  const logMass = mus.map((mu, i) => Math.log(normalCdf((high - mu) / sigmas[i]!) - normalCdf((low - mu) / sigmas[i]!)));
  return { low, high, mus, sigmas, weights, logMass };
}

/** log density of the truncated mixture at x (log-sum-exp, so far tails do not underflow to -Infinity too early). */
export function mixtureLogPdf(mix: TruncatedMixture, x: number): number {
  const terms = mix.mus.map((mu, i) => {
    const z = (x - mu) / mix.sigmas[i]!;
    return Math.log(mix.weights[i]!) - 0.5 * z * z - Math.log(mix.sigmas[i]!) - LOG_SQRT_2PI - mix.logMass[i]!;
  });
  const top = Math.max(...terms);
  if (top === -Infinity) return -Infinity;
  return top + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - top), 0));
}

/** Index drawn with probability proportional to weights (which sum to 1). */
export function pickIndex(weights: readonly number[], rng: Rng): number {
  const u = rng();
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    if (u < acc) return i;
  }
  // Rounding can leave the cumulative sum a hair below 1.
  return weights.length - 1;
}

/** One draw from the truncated mixture: choose a component, then rejection-sample its Gaussian inside [low, high]. */
export function sampleMixture(mix: TruncatedMixture, rng: Rng): number {
  const i = pickIndex(mix.weights, rng);
  const mu = mix.mus[i]!;
  // Acceptance is at least ~19% (mu lies in range, sd <= range), so 100 tries fail with probability < 1e-9.
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = normal(rng, mu, mix.sigmas[i]!);
    if (x >= mix.low && x <= mix.high) return x;
  }
  return mu;
}

/**
 * Smoothed categorical distribution as in Optuna: each observation is a kernel putting 1 on its choice plus priorWeight/K on every
 * choice (K = kernels incl. the prior), the prior kernel is uniform, and kernels mix with the observation weights and priorWeight.
 */
export function categoricalProbs(observed: readonly number[], k: number, priorWeight: number): number[] {
  const nKernels = observed.length + 1;
  const smoothing = priorWeight / nKernels;
  const mix = normalise([...observationWeights(observed.length), priorWeight]);
  const probs = new Array<number>(k).fill(mix[observed.length]! / k);
  observed.forEach((c, i) => {
    // The kernel's row is (smoothing everywhere, +1 at c), normalised to sum to 1.
    const rowSum = 1 + k * smoothing;
    for (let j = 0; j < k; j++) probs[j]! += (mix[i]! * (smoothing + (j === c ? 1 : 0))) / rowSum;
  });
  return probs;
}
