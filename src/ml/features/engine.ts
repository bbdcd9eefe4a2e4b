/** The point-in-time feature engine: one forward pass, date by date, so a match only ever sees earlier dates. */
import type { MatchFact } from '../types.js';
import { featureNames, validateDefinition, type FeatureSetDefinition } from './definition.js';
import { EloGroup } from './elo.js';
import { FormGroup } from './form.js';
import { isPlayed, type FeatureGroup } from './group.js';
import { H2hGroup } from './h2h.js';
import { MarketGroup } from './market.js';
import { PiGroup } from './pi.js';
import { RestGroup } from './rest.js';
import { ShotRatingsGroup } from './shot-ratings.js';

/** Feature vectors keyed by match id, every vector in `names` order. */
export interface FeatureMatrix {
  names: string[];
  values: Map<number, Float64Array>;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Fresh groups for def, in GROUP_ORDER (the order featureNames lists their names in). */
export function createGroups(def: FeatureSetDefinition): FeatureGroup[] {
  const g = def.groups;
  const groups: FeatureGroup[] = [];
  if (g.elo) groups.push(new EloGroup(g.elo));
  if (g.pi) groups.push(new PiGroup(g.pi));
  if (g.form) groups.push(new FormGroup(g.form));
  if (g.rest) groups.push(new RestGroup(g.rest));
  if (g.h2h) groups.push(new H2hGroup(g.h2h));
  if (g.shotRatings) groups.push(new ShotRatingsGroup(g.shotRatings));
  if (g.market) groups.push(new MarketGroup(g.market));
  return groups;
}

/** Dates already converted: lookups of coming matches name few dates, over and over. */
const DAYS = new Map<string, number>();

/** ISO yyyy-mm-dd → whole days since 1970-01-01 (UTC); throws RangeError for anything else, e.g. 2023-02-30. */
export function dayNumber(date: string): number {
  const known = DAYS.get(date);
  if (known !== undefined) return known;
  const m = ISO_DATE.exec(date);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    // Date.UTC rolls 02-30 over into March; a round trip catches it.
    if (back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d) {
      if (DAYS.size >= 16_384) DAYS.clear();
      DAYS.set(date, ms / MS_PER_DAY);
      return ms / MS_PER_DAY;
    }
  }
  throw new RangeError(`not an ISO yyyy-mm-dd date: ${JSON.stringify(date)}`);
}

/**
 * The state of a feature set's groups and the forward pass over it, one date at a time: every match of the date gets
 * its vector written from the state first, then the played ones update it. computeFeatures runs it over a whole data
 * set; the online feature state (online.ts) keeps one alive and reads coming matches from it.
 */
export class FeatureState {
  readonly names: string[];
  private readonly groups: FeatureGroup[];
  private readonly scratch: Float64Array;

  constructor(def: FeatureSetDefinition) {
    validateDefinition(def);
    this.names = featureNames(def);
    this.groups = createGroups(def);
    this.scratch = new Float64Array(this.names.length);
  }

  /**
   * Processes one date: `matches` (all of that date, sorted with compareMatches) are written, then the played ones
   * update the state. `sink` receives each match's vector (a fresh array); without it the vectors are discarded.
   */
  step(matches: readonly MatchFact[], day: number, sink?: (m: MatchFact, vector: Float64Array) => void): void {
    for (const m of matches) {
      const out = sink ? new Float64Array(this.names.length) : this.scratch;
      let offset = 0;
      for (const g of this.groups) {
        g.write(m, day, out, offset);
        offset += g.names.length;
      }
      if (sink) {
        assertFinite(out, this.names, m.id);
        sink(m, out);
      }
    }
    for (const m of matches) if (isPlayed(m)) for (const g of this.groups) g.update(m, day);
  }

  /** The vector m would get if its date were processed next, leaving the state exactly as it is. */
  read(m: MatchFact, day: number, out: Float64Array = new Float64Array(this.names.length)): Float64Array {
    let offset = 0;
    for (const g of this.groups) {
      if (g.read) g.read(m, day, out, offset);
      else g.write(m, day, out, offset);
      offset += g.names.length;
    }
    assertFinite(out, this.names, m.id);
    return out;
  }
}

/** Throws unless matches can go through the forward pass: unique ids, two teams, both goals or none, ISO dates. */
export function checkMatches(matches: readonly MatchFact[], where: string): Map<string, number> {
  const seen = new Set<number>();
  // Keyed by date string: a data set has far fewer dates than matches, and parsing dominates the set-up cost.
  const days = new Map<string, number>();
  for (const m of matches) {
    if (seen.has(m.id)) throw new Error(`${where}: duplicate match id ${m.id}`);
    seen.add(m.id);
    if (m.homeTeam === m.awayTeam) throw new RangeError(`${where}: match ${m.id} has team ${m.homeTeam} on both sides`);
    if ((m.homeGoals === null) !== (m.awayGoals === null)) throw new RangeError(`${where}: match ${m.id} has only one side's goals`);
    if (days.has(m.date)) continue;
    try {
      days.set(m.date, dayNumber(m.date));
    } catch (error) {
      throw new RangeError(`${where}: match ${m.id}: ${(error as Error).message}`, { cause: error });
    }
  }
  return days;
}

/** Calls visit(matches of one date, its day number) for each date in order; `sorted` must be sorted with compareMatches. */
export function forEachDate(sorted: readonly MatchFact[], days: ReadonlyMap<string, number>, visit: (same: readonly MatchFact[], day: number) => void): void {
  let start = 0;
  while (start < sorted.length) {
    const date = sorted[start]!.date;
    let end = start;
    while (end < sorted.length && sorted[end]!.date === date) end++;
    visit(sorted.slice(start, end), days.get(date) ?? dayNumber(date));
    start = end;
  }
}

/**
 * Features for every match, using only matches on strictly earlier dates. For each date, every match of that date
 * is featurised from the state first, then the played ones update it; unplayed matches get features but leave the
 * state alone. Input order does not matter: a copy is sorted by (date, kickoff, id).
 */
export function computeFeatures(matches: readonly MatchFact[], def: FeatureSetDefinition): FeatureMatrix {
  const state = new FeatureState(def);
  const days = checkMatches(matches, 'computeFeatures');
  const values = new Map<number, Float64Array>();
  forEachDate([...matches].sort(compareMatches), days, (same, day) => state.step(same, day, (m, v) => values.set(m.id, v)));
  return { names: state.names, values };
}

/** Orders by date, then kickoff (unknown kickoff first), then id: a total order, so runs are reproducible. */
export function compareMatches(a: MatchFact, b: MatchFact): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  const ka = a.kickoff ?? '';
  const kb = b.kickoff ?? '';
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.id - b.id;
}

/** Guards the "never NaN" promise where it is cheapest to explain: at the match and feature that broke it. */
function assertFinite(out: Float64Array, names: readonly string[], id: number): void {
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new Error(`features: internal error, ${names[i]} of match ${id} is ${out[i]}`);
  }
}
