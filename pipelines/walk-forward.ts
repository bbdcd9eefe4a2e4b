/** Walk-forward plans: which seasons are tested, where each refit starts, and each fold's training and test matches. */
import { UserError } from '../src/errors.js';
import { impliedProbabilities, type MarginMethod } from '../src/ml/margins.js';
import { outcomeOf, type MatchFact, type Probs } from '../src/ml/types.js';
import { selectMatches, trainingMatches, type Universe } from './dataset.js';

export type WalkForward = { kind: 'season' } | { kind: 'days'; days: number };

/** Which model, on which features, tested on which seasons, refitted how often: shared by evaluate and tune. */
export interface WalkForwardSpec {
  model: string;
  featureSet: string;
  competitions: string[];
  /** Test seasons for every competition… */
  seasons: string[];
  /** …or, instead, the last N seasons each competition has in the store. */
  lastSeasons?: number;
  walkForward: WalkForward;
}

/** Bookmaker probabilities: closing prices where present, else pre-match, margin removed. */
export function bookmakerProbs(m: MatchFact, method: MarginMethod): Probs | null {
  const prices = m.closingOdds ?? m.preOdds;
  if (!prices) return null;
  try {
    return impliedProbabilities(prices, method);
  } catch {
    return null; // e.g. a sub-100% book from mixed sources under Shin: treat as no usable odds
  }
}

/** Fold boundaries for one test season: [origin, end) pairs over the test matches' dates. */
function folds(test: MatchFact[], walk: WalkForward): { origin: string; end: string }[] {
  const first = test[0]!.date;
  const last = test[test.length - 1]!.date;
  const after = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  if (walk.kind === 'season') return [{ origin: first, end: after(last) }];
  const out: { origin: string; end: string }[] = [];
  let origin = first;
  while (origin <= last) {
    const end = new Date(Date.parse(`${origin}T00:00:00Z`) + walk.days * 86_400_000).toISOString().slice(0, 10);
    out.push({ origin, end });
    origin = end;
  }
  return out;
}

/** Test seasons, each with the competitions tested in it (--last-seasons picks per competition). */
export function testSeasons(u: Universe, options: Pick<WalkForwardSpec, 'competitions' | 'seasons' | 'lastSeasons'>): { season: string; competitions: string[] }[] {
  if (options.lastSeasons === undefined) return options.seasons.map((season) => ({ season, competitions: options.competitions }));
  const bySeason = new Map<string, string[]>();
  for (const c of options.competitions) {
    const seasons = [...new Set(u.facts.filter((m) => m.competition === c && outcomeOf(m) !== null).map((m) => m.season))].sort();
    if (seasons.length === 0) throw new UserError(`no finished matches of ${c} in the store`, { hint: 'collect it first' });
    for (const season of seasons.slice(-options.lastSeasons)) bySeason.set(season, [...(bySeason.get(season) ?? []), c]);
  }
  return [...bySeason.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([season, competitions]) => ({ season, competitions }));
}

/** One refit: train on every finished match before `origin`, test on [origin, end) of `season`. */
export interface FoldPlan {
  season: string;
  competitions: ReadonlySet<string>;
  origin: string;
  end: string;
}

/** Every fold of an evaluation, in time order. */
export function planFolds(u: Universe, options: Pick<WalkForwardSpec, 'competitions' | 'seasons' | 'lastSeasons' | 'walkForward'>): FoldPlan[] {
  const plan: FoldPlan[] = [];
  for (const { season, competitions } of testSeasons(u, options)) {
    const test = selectMatches(u, { competitions, finishedOnly: true }).filter((m) => m.season === season);
    if (test.length === 0) {
      throw new UserError(`no finished matches of ${competitions.join(', ')} in season ${season}`, { hint: 'see oracx data report for what the store holds' });
    }
    for (const f of folds(test, options.walkForward)) plan.push({ season, competitions: new Set(competitions), ...f });
  }
  return plan.sort((a, b) => a.origin.localeCompare(b.origin));
}

/** A fold's training and test matches; with the bookmaker baseline on, test matches without odds are left out. */
export function foldData(
  u: Universe,
  fold: FoldPlan,
  options: { competitions: readonly string[]; bookmaker: boolean; margin: MarginMethod },
): { train: MatchFact[]; test: MatchFact[]; excluded: number } {
  const train = trainingMatches(u, { competitions: options.competitions, before: fold.origin, finishedOnly: true });
  const all = selectMatches(u, { competitions: [...fold.competitions], from: fold.origin, before: fold.end, finishedOnly: true }).filter(
    (m) => m.season === fold.season,
  );
  const test = options.bookmaker ? all.filter((m) => bookmakerProbs(m, options.margin) !== null) : all;
  return { train, test, excluded: all.length - test.length };
}
