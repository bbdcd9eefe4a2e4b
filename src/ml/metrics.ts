/** Scoring rules and calibration for 1x2 forecasts: pure reference implementations with strict input checks. */
import type { Outcome, Probs } from './types.js';

/** How far a probability triple may sum from 1 and still count as a distribution (float rounding, 3-dp exports). */
export const PROB_SUM_TOLERANCE = 1e-6;

/** Throws RangeError unless p is three finite probabilities in [0, 1] summing to 1 within PROB_SUM_TOLERANCE. */
export function assertProbs(p: readonly number[], where = 'probs'): asserts p is Probs {
  if (!Array.isArray(p) || p.length !== 3) throw new RangeError(`${where}: expected 3 probabilities, got ${describe(p)}`);
  let sum = 0;
  for (const v of p) {
    // typeof guards values smuggled in from JSON; !(v >= 0) also rejects NaN.
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`${where}: each probability must be in [0, 1], got ${describe(p)}`);
    sum += v;
  }
  if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE)
    throw new RangeError(`${where}: probabilities must sum to 1 (±${PROB_SUM_TOLERANCE}), got sum ${sum} for ${describe(p)}`);
}

/** Throws RangeError unless o is 0 (home), 1 (draw) or 2 (away). */
export function assertOutcome(o: number, where = 'outcome'): asserts o is Outcome {
  if (o !== 0 && o !== 1 && o !== 2) throw new RangeError(`${where}: expected 0, 1 or 2, got ${describe(o)}`);
}

function describe(x: unknown): string {
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

/** Ranked probability score for ordered home/draw/away: mean squared gap of cumulative distributions, in [0, 1]. */
export function rps(p: Probs, outcome: Outcome): number {
  assertProbs(p, 'rps');
  assertOutcome(outcome, 'rps');
  // RPS respects the order home < draw < away: predicting a draw when away wins costs less than predicting home.
  const cumP1 = p[0];
  const cumP2 = p[0] + p[1];
  const cumO1 = outcome === 0 ? 1 : 0;
  const cumO2 = outcome === 2 ? 0 : 1;
  // Divide by r - 1 = 2 so the score stays in [0, 1] (cumP2 can exceed 1 by rounding, hence the clamp).
  return Math.min(1, ((cumP1 - cumO1) ** 2 + (cumP2 - cumO2) ** 2) / 2);
}

/** Negative natural log of the probability given to the outcome, clipped below at eps so a confident miss stays finite. */
export function logLoss(p: Probs, outcome: Outcome, eps = 1e-15): number {
  assertProbs(p, 'logLoss');
  assertOutcome(outcome, 'logLoss');
  if (!(eps > 0 && eps < 1)) throw new RangeError(`logLoss: eps must be in (0, 1), got ${eps}`);
  // Only the lower clip matters: -ln(1) = 0 already, so a sure hit scores exactly 0.
  // `0 -` rather than unary minus: −ln(1) would be −0, which prints as "-0" and fails Object.is(0) checks.
  return 0 - Math.log(Math.min(1, Math.max(eps, p[outcome])));
}

/** Multi-class Brier score Σ_k (p_k − o_k)², in [0, 2]. */
export function brier(p: Probs, outcome: Outcome): number {
  assertProbs(p, 'brier');
  assertOutcome(outcome, 'brier');
  let s = 0;
  for (let k = 0; k < 3; k++) s += ((p[k] as number) - (k === outcome ? 1 : 0)) ** 2;
  // The sum tolerance could push s a hair above 2; clamp so the documented range holds.
  return Math.min(2, s);
}

/** The most probable outcome; ties go to the lowest index (home before draw before away) so results are deterministic. */
export function argmax(p: Probs): Outcome {
  assertProbs(p, 'argmax');
  let best: Outcome = 0;
  if (p[1] > p[best]) best = 1;
  if (p[2] > p[best]) best = 2;
  return best;
}

/** 1 if the argmax of p is the outcome, else 0 (average it for accuracy). */
export function accuracy(p: Probs, outcome: Outcome): number {
  assertOutcome(outcome, 'accuracy');
  return argmax(p) === outcome ? 1 : 0;
}

function assertPaired(preds: readonly Probs[], outcomes: readonly Outcome[], where: string): void {
  if (!Array.isArray(preds) || !Array.isArray(outcomes)) throw new RangeError(`${where}: preds and outcomes must be arrays`);
  if (preds.length !== outcomes.length) throw new RangeError(`${where}: ${preds.length} predictions but ${outcomes.length} outcomes`);
  if (preds.length === 0) throw new RangeError(`${where}: needs at least one prediction, got none`);
  preds.forEach((p, i) => {
    assertProbs(p, `${where}: preds[${i}]`);
  });
  outcomes.forEach((o, i) => {
    assertOutcome(o, `${where}: outcomes[${i}]`);
  });
}

function assertBins(bins: number, where: string): void {
  if (!Number.isSafeInteger(bins) || bins < 1) throw new RangeError(`${where}: bins must be a positive integer, got ${bins}`);
}

/** Equal-width bin index of a value in [0, 1]; 1 itself falls in the last bin. */
function binOf(v: number, bins: number): number {
  return Math.min(bins - 1, Math.floor(v * bins));
}

/** Top-label expected calibration error: Σ_b (n_b / N) |accuracy_b − mean confidence_b|, binned on max probability; in [0, 1]. */
export function expectedCalibrationError(preds: readonly Probs[], outcomes: readonly Outcome[], bins = 10): number {
  assertPaired(preds, outcomes, 'expectedCalibrationError');
  assertBins(bins, 'expectedCalibrationError');
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const hitSum = new Array<number>(bins).fill(0);
  preds.forEach((p, i) => {
    const top = argmax(p);
    const conf = p[top];
    const b = binOf(conf, bins);
    count[b]! += 1;
    confSum[b]! += conf;
    if (top === outcomes[i]) hitSum[b]! += 1;
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const n = count[b]!;
    // Weighting by n_b / N makes |acc − conf| sums of per-sample gaps, so empty bins simply contribute nothing.
    if (n > 0) ece += (n / preds.length) * Math.abs(hitSum[b]! / n - confSum[b]! / n);
  }
  return ece;
}

/** One bin of a reliability diagram; mean and frequency are null when the bin is empty (no NaN in JSON output). */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number | null;
  observedFrequency: number | null;
}

/** Per-class reliability bins (indexed by Outcome): for class k, bin on p_k and record how often k happened. */
export function classwiseReliability(preds: readonly Probs[], outcomes: readonly Outcome[], bins = 10): [ReliabilityBin[], ReliabilityBin[], ReliabilityBin[]] {
  assertPaired(preds, outcomes, 'classwiseReliability');
  assertBins(bins, 'classwiseReliability');
  const perClass = ([0, 1, 2] as const).map((k) => {
    const count = new Array<number>(bins).fill(0);
    const predSum = new Array<number>(bins).fill(0);
    const hitSum = new Array<number>(bins).fill(0);
    preds.forEach((p, i) => {
      const b = binOf(p[k], bins);
      count[b]! += 1;
      predSum[b]! += p[k];
      if (outcomes[i] === k) hitSum[b]! += 1;
    });
    // Every bin is returned, even empty ones, so diagrams for different models line up bin for bin.
    return count.map(
      (n, b): ReliabilityBin => ({
        lower: b / bins,
        upper: (b + 1) / bins,
        count: n,
        meanPredicted: n > 0 ? predSum[b]! / n : null,
        observedFrequency: n > 0 ? hitSum[b]! / n : null,
      }),
    );
  });
  return [perClass[0]!, perClass[1]!, perClass[2]!];
}

/** Mean scores of a set of forecasts, plus top-label ECE (10 bins). */
export interface MetricSummary {
  n: number;
  rps: number;
  logLoss: number;
  brier: number;
  accuracy: number;
  ece: number;
}

/** Mean RPS, log loss, Brier, accuracy and ECE over paired predictions and outcomes; throws RangeError when empty. */
export function summarise(preds: readonly Probs[], outcomes: readonly Outcome[]): MetricSummary {
  assertPaired(preds, outcomes, 'summarise');
  let r = 0;
  let l = 0;
  let b = 0;
  let a = 0;
  preds.forEach((p, i) => {
    const o = outcomes[i] as Outcome;
    r += rps(p, o);
    l += logLoss(p, o);
    b += brier(p, o);
    a += accuracy(p, o);
  });
  const n = preds.length;
  return { n, rps: r / n, logLoss: l / n, brier: b / n, accuracy: a / n, ece: expectedCalibrationError(preds, outcomes) };
}

/** Mean and standard error of the mean (sample sd / √n); stdErr is NaN for a single value, where it is undefined. */
export function meanAndStdErr(values: readonly number[]): { n: number; mean: number; stdErr: number } {
  if (!Array.isArray(values) || values.length === 0) throw new RangeError('meanAndStdErr: needs at least one value, got none');
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`meanAndStdErr: values[${i}] must be finite, got ${describe(v)}`);
  });
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { n, mean, stdErr: Number.NaN };
  // Two-pass variance with the n − 1 (Bessel) denominator: unbiased, and stable when values sit far from 0.
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { n, mean, stdErr: Math.sqrt(variance / n) };
}
