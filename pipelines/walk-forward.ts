/** Walk-forward plans: which seasons are tested, where each refit starts, and each fold's training and test matches. */
import { UserError } from '../src/errors.js';
import { impliedProbabilities, type MarginMethod } from '../src/ml/margins.js';
import { fitModel, updateModel, type Dataset, type FitOptions, type Model, type ParamValues } from '../src/ml/models/index.js';
import { outcomeOf, type MatchFact, type Probs } from '../src/ml/types.js';
import { selectMatches, trainingMatches, type Universe } from './dataset.js';

/**
 * How often models are refitted. `season`: a full fit at each test season's start, then in-season updates every
 * `update` days (default: the model's own cadence, none for models whose features already move match by match;
 * 'none': no updates). `days`: a full fit every N days, whatever the model (the user's cadence wins).
 */
export type WalkForward = { kind: 'season'; update?: number | 'none' } | { kind: 'days'; days: number };

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
  /** Train each fold on only the N seasons each competition has in the store before the test season (plus the test season's earlier matches). */
  trainSeasons?: number;
}

/** Days between in-season updates for this walk-forward and model cadence; undefined = none. */
export function updateCadence(walk: WalkForward, modelDays: number | undefined): number | undefined {
  if (walk.kind !== 'season' || walk.update === 'none') return undefined;
  return walk.update ?? modelDays;
}

/** How results and reports name a walk-forward once the model's cadence is applied: season, season+7d, 28d. */
export function describeWalkForward(walk: WalkForward, modelDays: number | undefined): string {
  if (walk.kind === 'days') return `${walk.days}d`;
  const days = updateCadence(walk, modelDays);
  return days === undefined ? 'season' : `season+${days}d`;
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

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** [origin, end) windows of `days` days from the first test date until past the last. */
function windows(first: string, last: string, days: number): { origin: string; end: string }[] {
  const out: { origin: string; end: string }[] = [];
  for (let origin = first; origin <= last; origin = addDays(origin, days)) out.push({ origin, end: addDays(origin, days) });
  return out;
}

/** Fold boundaries for one test season over the test matches' dates, each with the origin of its full fit. */
function folds(test: MatchFact[], walk: WalkForward, updateDays: number | undefined): { origin: string; end: string; fitOrigin: string }[] {
  const first = test[0]!.date;
  const last = test[test.length - 1]!.date;
  if (walk.kind === 'days') return windows(first, last, walk.days).map((w) => ({ ...w, fitOrigin: w.origin }));
  if (updateDays === undefined) return [{ origin: first, end: addDays(last, 1), fitOrigin: first }];
  return windows(first, last, updateDays).map((w) => ({ ...w, fitOrigin: first }));
}

/** Test seasons, each with the competitions tested in it (--last-seasons picks per competition). */
export function testSeasons(
  u: Universe,
  options: Pick<WalkForwardSpec, 'competitions' | 'seasons' | 'lastSeasons'>,
): { season: string; competitions: string[] }[] {
  if (options.lastSeasons === undefined) return options.seasons.map((season) => ({ season, competitions: options.competitions }));
  const bySeason = new Map<string, string[]>();
  for (const c of options.competitions) {
    const seasons = [...new Set(u.facts.filter((m) => m.competition === c && outcomeOf(m) !== null).map((m) => m.season))].sort();
    if (seasons.length === 0) throw new UserError(`no finished matches of ${c} in the store`, { hint: 'collect it first' });
    for (const season of seasons.slice(-options.lastSeasons)) bySeason.set(season, [...(bySeason.get(season) ?? []), c]);
  }
  return [...bySeason.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([season, competitions]) => ({ season, competitions }));
}

/**
 * One refit: train on every finished match before `origin`, test on [origin, end) of `season`. A fold whose origin
 * is after its `fitOrigin` is an in-season update of the model fitted at `fitOrigin` (see updateModel).
 */
export interface FoldPlan {
  season: string;
  competitions: ReadonlySet<string>;
  origin: string;
  end: string;
  fitOrigin: string;
}

/** Every fold of an evaluation, in time order; `modelDays` is the model's in-season update cadence (see updateEvery). */
export function planFolds(
  u: Universe,
  options: Pick<WalkForwardSpec, 'competitions' | 'seasons' | 'lastSeasons' | 'walkForward'>,
  modelDays?: number,
): FoldPlan[] {
  const updateDays = updateCadence(options.walkForward, modelDays);
  const plan: FoldPlan[] = [];
  for (const { season, competitions } of testSeasons(u, options)) {
    const test = selectMatches(u, { competitions, finishedOnly: true }).filter((m) => m.season === season);
    if (test.length === 0) {
      throw new UserError(`no finished matches of ${competitions.join(', ')} in season ${season}`, { hint: 'see oracx data report for what the store holds' });
    }
    for (const f of folds(test, options.walkForward, updateDays)) plan.push({ season, competitions: new Set(competitions), ...f });
  }
  return plan.sort((a, b) => a.origin.localeCompare(b.origin));
}

/** Per competition, its seasons with finished matches in date order (cached per universe). */
const seasonLists = new WeakMap<Universe, Map<string, string[]>>();
function competitionSeasons(u: Universe): Map<string, string[]> {
  let lists = seasonLists.get(u);
  if (!lists) {
    const sets = new Map<string, Set<string>>();
    for (const m of u.facts) {
      if (outcomeOf(m) === null) continue;
      const set = sets.get(m.competition) ?? new Set<string>();
      sets.set(m.competition, set.add(m.season));
    }
    lists = new Map([...sets].map(([c, set]) => [c, [...set].sort()]));
    seasonLists.set(u, lists);
  }
  return lists;
}

/**
 * Training matches within `seasons` seasons of `season`: per competition, the last `seasons` seasons it has in the
 * store before `season` (a gap in the archive is skipped, as a user's own archive would be), plus `season` itself.
 */
export function capTrainingSeasons(u: Universe, train: MatchFact[], season: string, seasons: number): MatchFact[] {
  const keep = new Map<string, Set<string>>();
  for (const [competition, list] of competitionSeasons(u)) keep.set(competition, new Set([...list.filter((s) => s < season).slice(-seasons), season]));
  return train.filter((m) => keep.get(m.competition)?.has(m.season) === true);
}

/** A fold's training and test matches; with the bookmaker baseline on, test matches without odds are left out. */
export function foldData(
  u: Universe,
  fold: FoldPlan,
  options: { competitions: readonly string[]; bookmaker: boolean; margin: MarginMethod; trainSeasons?: number },
): { train: MatchFact[]; test: MatchFact[]; excluded: number } {
  let train = trainingMatches(u, { competitions: options.competitions, before: fold.origin, finishedOnly: true });
  if (options.trainSeasons !== undefined) {
    train = capTrainingSeasons(u, train, fold.season, options.trainSeasons);
    if (train.length === 0) {
      throw new UserError(
        `empty training window: no finished matches of ${options.competitions.join(', ')} in the ${options.trainSeasons} season(s) before ${fold.season}`,
        {
          hint: 'raise --train-seasons or collect earlier seasons',
        },
      );
    }
  }
  const all = selectMatches(u, { competitions: [...fold.competitions], from: fold.origin, before: fold.end, finishedOnly: true }).filter(
    (m) => m.season === fold.season,
  );
  const test = options.bookmaker ? all.filter((m) => bookmakerProbs(m, options.margin) !== null) : all;
  return { train, test, excluded: all.length - test.length };
}

/**
 * The model for one fold: a full fit at a walk-forward origin; in-season (fold.origin after fold.fitOrigin) the
 * season's `previous` model brought up to date with the results so far, as the model defines it (updateModel).
 */
export async function foldModel(
  model: string,
  previous: Model | undefined,
  fold: FoldPlan,
  data: Dataset,
  params: ParamValues,
  options: FitOptions,
): Promise<Model> {
  if (previous !== undefined && fold.origin > fold.fitOrigin) return updateModel(model, previous, data, params, options);
  return fitModel(model, data, params, options);
}
