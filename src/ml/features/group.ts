/** The contract every feature group follows inside the engine's date-by-date forward pass. */
import type { MatchFact } from '../types.js';

/** A match with a result: the only kind that may update state. */
export type PlayedMatch = MatchFact & { homeGoals: number; awayGoals: number };

/**
 * A feature group owns the state it needs (ratings, windows). For each date the engine first calls write for every
 * match of that date, then update for every played one, so write only ever sees earlier dates. write must not
 * change anything update reads, or same-day matches would see each other.
 */
export interface FeatureGroup {
  /** Names of the values write produces, in order. */
  readonly names: readonly string[];
  /** Writes this group's names.length values for m into out, starting at offset; day is m's date in days since 1970. */
  write(m: MatchFact, day: number, out: Float64Array, offset: number): void;
  /**
   * Like write, but leaves every bit of state as it is: for online lookups of a match the forward pass has not
   * reached yet (a forecast must not change what later matches see). Groups whose write changes no state omit it.
   */
  read?(m: MatchFact, day: number, out: Float64Array, offset: number): void;
  /** Folds a finished match into the state. */
  update(m: PlayedMatch, day: number): void;
}

/** True when both goals are known. */
export function isPlayed(m: MatchFact): m is PlayedMatch {
  return m.homeGoals !== null && m.awayGoals !== null;
}

/** League points of a side scoring `for` and conceding `against`: 3 for a win, 1 for a draw. */
export function pointsOf(goalsFor: number, goalsAgainst: number): number {
  return goalsFor > goalsAgainst ? 3 : goalsFor === goalsAgainst ? 1 : 0;
}
