/**
 * Several forecasters scored on the same matches: each one's figures, and its paired RPS difference to the
 * bookmaker and to the best model with a Diebold–Mariano test (see paired.ts). Pure: evaluate builds the input.
 */
import { rps, summarise, type MetricSummary } from '../metrics.js';
import type { Outcome, Probs } from '../types.js';
import { defaultLag, dieboldMariano, type PairedTest } from './paired.js';

/** One scored match; forecasters give their probabilities in the same order. */
export interface ScoredMatch {
  matchId: number;
  date: string;
  outcome: Outcome;
}

export interface Forecaster {
  name: string;
  /** Models compete for "best"; baselines (bookmaker, naive, elo) are shown against the same references. */
  kind: 'model' | 'baseline';
  probs: readonly Probs[];
}

export interface ComparisonRow extends MetricSummary {
  name: string;
  kind: 'model' | 'baseline';
  /** RPS(this) − RPS(bookmaker), per match; null without a bookmaker row. */
  vsBookmaker: PairedTest | null;
  /** RPS(this) − RPS(best model), per match (all zeros for the best model itself). */
  vsBest: PairedTest;
}

export interface Comparison {
  /** The loss the differences are taken on. */
  metric: 'rps';
  /** Matches every row is scored on. */
  n: number;
  /** Newey–West lag of every test. */
  lag: number;
  /** The model with the lowest mean RPS (the first listed on a tie). */
  best: string;
  method: string;
  rows: ComparisonRow[];
}

export const COMPARISON_METHOD =
  'd_i = RPS(row)_i − RPS(reference)_i on the same matches in kick-off order; mean ± Newey–West (Bartlett) standard error ' +
  'with lag floor(n^(1/3)); Diebold–Mariano statistic with the Harvey–Leybourne–Newbold correction; two-sided p-value ' +
  'from Student t with n − 1 df. Negative: lower RPS than the reference (better).';

/** Indices of matches in kick-off order (date, then match id): the order the HAC variance assumes. */
function timeOrder(matches: readonly ScoredMatch[]): number[] {
  return matches.map((_, i) => i).sort((a, b) => matches[a]!.date.localeCompare(matches[b]!.date) || matches[a]!.matchId - matches[b]!.matchId);
}

/** Paired RPS test of forecaster a against b on the same matches (a − b, in kick-off order). */
export function pairedRps(matches: readonly ScoredMatch[], a: readonly Probs[], b: readonly Probs[], options: { lag?: number } = {}): PairedTest {
  if (a.length !== matches.length || b.length !== matches.length) {
    throw new RangeError(`pairedRps: ${matches.length} matches but ${a.length} and ${b.length} forecasts`);
  }
  const d = timeOrder(matches).map((i) => rps(a[i]!, matches[i]!.outcome) - rps(b[i]!, matches[i]!.outcome));
  return dieboldMariano(d, options);
}

/** Figures and paired tests of every forecaster against the bookmaker (when named) and the best model. */
export function compareForecasts(
  matches: readonly ScoredMatch[],
  forecasters: readonly Forecaster[],
  options: { bookmaker?: string; lag?: number } = {},
): Comparison {
  if (matches.length < 2) throw new RangeError(`compareForecasts: needs at least 2 matches in common, got ${matches.length}`);
  if (forecasters.length === 0) throw new RangeError('compareForecasts: needs at least one forecaster');
  const names = new Set<string>();
  for (const f of forecasters) {
    if (names.has(f.name)) throw new RangeError(`compareForecasts: "${f.name}" is listed twice`);
    names.add(f.name);
    if (f.probs.length !== matches.length) throw new RangeError(`compareForecasts: ${f.name} has ${f.probs.length} forecasts for ${matches.length} matches`);
  }
  const order = timeOrder(matches);
  const outcomes = matches.map((m) => m.outcome);
  const losses = new Map(forecasters.map((f) => [f.name, order.map((i) => rps(f.probs[i]!, outcomes[i]!))]));
  const summaries = new Map(forecasters.map((f) => [f.name, summarise(f.probs, outcomes)]));
  const candidates = forecasters.some((f) => f.kind === 'model') ? forecasters.filter((f) => f.kind === 'model') : forecasters;
  const best = candidates.reduce((b, f) => (summaries.get(f.name)!.rps < summaries.get(b.name)!.rps ? f : b));
  const lag = options.lag ?? defaultLag(matches.length);
  const against = (name: string, ref: string): PairedTest => {
    const a = losses.get(name)!;
    const b = losses.get(ref)!;
    return dieboldMariano(
      a.map((v, i) => v - b[i]!),
      { lag },
    );
  };
  const bookmaker = options.bookmaker !== undefined && names.has(options.bookmaker) ? options.bookmaker : undefined;
  return {
    metric: 'rps',
    n: matches.length,
    lag,
    best: best.name,
    method: COMPARISON_METHOD,
    rows: forecasters.map((f) => ({
      name: f.name,
      kind: f.kind,
      ...summaries.get(f.name)!,
      vsBookmaker: bookmaker === undefined ? null : against(f.name, bookmaker),
      vsBest: against(f.name, best.name),
    })),
  };
}

/** "+0.0037 ± 0.0021 (p = 0.081)": a paired difference as the report and the CLI print it; `note` joins the parentheses. */
export function describePaired(t: PairedTest, note?: string): string {
  const sign = t.meanDiff > 0 ? '+' : t.meanDiff < 0 ? '-' : '';
  return `${sign}${Math.abs(t.meanDiff).toFixed(4)} ± ${t.stdErr.toFixed(4)} (p ${formatP(t.pValue)}${note ? `; ${note}` : ''})`;
}

/** A p-value with 3 decimals, or "< 0.001". */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`;
}
