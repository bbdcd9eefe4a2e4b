/** Median pruning (Optuna's MedianPruner) for minimised intermediate values such as a running mean RPS. */

/** When pruning may start; the defaults are Optuna's. */
export interface MedianPruneOptions {
  /** Other trials that must have reported a value at this step before any pruning (5). */
  nStartupTrials?: number;
  /** Steps before this one are never pruned, since early running means are noisy (0). */
  nWarmupSteps?: number;
}

/** Median of a non-empty list (mean of the middle two for even lengths, like numpy's median). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`medianPrune: ${name} must be an integer >= 0, got ${n}`);
}

/**
 * Whether to stop a trial whose intermediate value at `step` (0-based) is worse than the median of the other trials at that step.
 * `others` are the per-step histories of finished (completed, and pruned if the caller wishes) trials; a history shorter than
 * step + 1, or NaN at the step, does not count. Returns true only when step >= nWarmupSteps, at least nStartupTrials others have a
 * value at this step, and value > median (ties survive). A NaN value is pruned once those rules allow pruning, as in Optuna.
 * The caller picks `value`: the current one, or the trial's best so far as Optuna does.
 */
export function medianPrune(step: number, value: number, others: readonly (readonly number[])[], options: MedianPruneOptions = {}): boolean {
  const { nStartupTrials = 5, nWarmupSteps = 0 } = options;
  checkCount('step', step);
  checkCount('nStartupTrials', nStartupTrials);
  checkCount('nWarmupSteps', nWarmupSteps);
  if (step < nWarmupSteps) return false;
  const atStep = others.map((h) => h[step]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
  // With nStartupTrials = 0 and no peers there is no median to compare against, so the trial survives.
  if (atStep.length === 0 || atStep.length < nStartupTrials) return false;
  if (Number.isNaN(value)) return true;
  return value > median(atStep);
}
