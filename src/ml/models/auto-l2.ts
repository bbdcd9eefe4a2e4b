/**
 * l2=auto: the latest matches of the training window (never anything after it) are held out, candidates are fitted on
 * the rest, and the lowest hold-out log loss wins. A window too small for a trustworthy hold-out falls back to a fixed
 * value and says so. Shared by logreg and mlp.
 */
import { logLoss, rps } from '../metrics.js';
import type { MatchFact, Outcome, Probs } from '../types.js';
import { chronological } from './numeric.js';
import type { AutoChoice, FitOptions } from './types.js';

/** Fewest hold-out matches whose mean log loss can tell neighbouring l2 values apart. */
export const MIN_VALIDATION_MATCHES = 100;
/** Fewest matches worth fitting a candidate on. */
export const MIN_FIT_MATCHES = 200;
/** Hold-out losses closer than this to the best count as a tie, won by the larger l2 (the simpler model). */
export const TIE_TOLERANCE = 1e-4;

/** Candidate split of a training window: row indices, both parts in chronological order. */
export interface HoldOut {
  fit: number[];
  validation: number[];
}

/**
 * The latest `fraction` of matches (rounded up, then extended back so one date's matches stay on one side) as the
 * hold-out, the rest to fit on.
 */
export function holdOut(matches: readonly MatchFact[], fraction: number): HoldOut {
  const order = chronological(matches);
  let cut = order.length - Math.ceil(order.length * fraction);
  while (cut > 0 && cut < order.length && matches[order[cut - 1]!]!.date === matches[order[cut]!]!.date) cut--;
  return { fit: order.slice(0, cut), validation: order.slice(cut) };
}

/** Why a split is too small for l2=auto, or null when it will do. */
export function tooSmall(split: HoldOut, fraction: number): string | null {
  const fit = split.fit.length;
  const validation = split.validation.length;
  if (validation >= MIN_VALIDATION_MATCHES && fit >= MIN_FIT_MATCHES) return null;
  return (
    `${fit + validation} training matches are too few to choose it on the latest ${Math.round(fraction * 100)}%: ` +
    `that holds out ${validation} (${MIN_VALIDATION_MATCHES} needed) and leaves ${fit} to fit on (${MIN_FIT_MATCHES} needed)`
  );
}

/** Mean log loss and RPS of predictions, weighted by w (all 1 when absent). */
export function holdOutScores(preds: readonly Probs[], y: readonly Outcome[], w?: Float64Array): { logLoss: number; rps: number } {
  let total = 0;
  let ll = 0;
  let r = 0;
  preds.forEach((p, i) => {
    const wi = w ? w[i]! : 1;
    total += wi;
    ll += wi * logLoss(p, y[i]!);
    r += wi * rps(p, y[i]!);
  });
  return { logLoss: ll / total, rps: r / total };
}

/** Index of the winner: the lowest loss, and among losses within TIE_TOLERANCE of it the largest grid value. */
export function pickIndex(grid: readonly number[], losses: readonly number[]): number {
  const min = Math.min(...losses);
  let best = 0;
  losses.forEach((loss, k) => {
    if (loss <= min + TIE_TOLERANCE && grid[k]! >= grid[best]!) best = k;
  });
  return best;
}

/** Hold-out scores of the candidates a search tried, in increasing l2 order. */
export interface PathScores {
  grid: number[];
  valLogLoss: number[];
  valRps: number[];
}

/**
 * Scores candidates from the largest l2 down and stops once two in a row score worse than the best so far by more
 * than TIE_TOLERANCE: along a penalty path the hold-out loss falls to a minimum and rises after it, and the smallest
 * penalties are the slowest fits. `grid` must be increasing.
 */
export async function searchPath(grid: readonly number[], score: (l2: number) => Promise<{ logLoss: number; rps: number }>): Promise<PathScores> {
  const tried: { l2: number; logLoss: number; rps: number }[] = [];
  let best = Infinity;
  let rises = 0;
  for (let k = grid.length - 1; k >= 0 && rises < 2; k--) {
    const s = await score(grid[k]!);
    tried.push({ l2: grid[k]!, ...s });
    if (s.logLoss < best) best = s.logLoss;
    rises = s.logLoss > best + TIE_TOLERANCE ? rises + 1 : 0;
  }
  tried.reverse();
  return { grid: tried.map((t) => t.l2), valLogLoss: tried.map((t) => t.logLoss), valRps: tried.map((t) => t.rps) };
}

/** A value as people read it: three significant digits. */
export function round3(v: number): number {
  return Number(v.toPrecision(3));
}

/** The record of a fall-back, after telling the caller through onWarning. */
export function fallBack(model: string, value: number, why: string, options: FitOptions): AutoChoice {
  const summary = `${model} l2=auto used l2=${value}: ${why}; pin l2 to choose another value`;
  options.onWarning?.(summary);
  return { value, method: 'fallback', summary };
}

/** The record of a hold-out choice; `value` is what the final fit uses, `how` says how it relates to the winner. */
export function chosen(
  model: string,
  input: PathScores & { candidates: readonly number[]; value: number; fitMatches: number; validation: readonly MatchFact[]; how: string },
): AutoChoice {
  const { grid, value, validation, candidates } = input;
  const best = pickIndex(grid, input.valLogLoss);
  const from = validation[0]!.date;
  const skipped = candidates.length - grid.length;
  const tried = skipped > 0 ? `${grid.length} of ${candidates.length} values (smaller ones skipped once the loss had risen twice)` : `${grid.length} values`;
  const summary =
    `${model} l2=auto chose l2=${value}: ${grid[best]} had the lowest log loss (${input.valLogLoss[best]!.toFixed(4)}) ` +
    `among ${tried} from ${grid[0]} to ${grid[grid.length - 1]} on the latest ${validation.length} training matches (from ${from}), ` +
    `fitted on the ${input.fitMatches} before them; ${input.how}`;
  return {
    value,
    method: 'validation',
    summary,
    grid: [...grid],
    valLogLoss: input.valLogLoss,
    valRps: input.valRps,
    best: grid[best]!,
    fitMatches: input.fitMatches,
    validationMatches: validation.length,
    validationFrom: from,
  };
}
