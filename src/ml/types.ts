/** Shared shapes of the ML layer: matches as models see them, outcomes, probabilities. */

/** 0 = home win, 1 = draw, 2 = away win (the order of every probability triple). */
export type Outcome = 0 | 1 | 2;

/** [P(home), P(draw), P(away)], summing to 1. */
export type Probs = readonly [number, number, number];

/** Decimal 1x2 prices [home, draw, away]. */
export type Prices = readonly [number, number, number];

/** A match as the ML layer sees it, loaded from the store. Team ids are the store's team ids. */
export interface MatchFact {
  id: number;
  competition: string;
  season: string;
  /** ISO yyyy-mm-dd. */
  date: string;
  /** HH:MM or null. */
  kickoff: string | null;
  homeTeam: number;
  awayTeam: number;
  /** null for matches not played yet. */
  homeGoals: number | null;
  awayGoals: number | null;
  homeShots: number | null;
  awayShots: number | null;
  homeShotsOnTarget: number | null;
  awayShotsOnTarget: number | null;
  /** Pre-match 1x2 prices (market average where present, else Pinnacle, else Bet365), or null. */
  preOdds: Prices | null;
  /** Closing 1x2 prices (same preference), or null. */
  closingOdds: Prices | null;
  /** Best available pre-match prices (market maximum), for the betting simulation only. */
  bestPreOdds?: Prices | null;
  /** The store's status (scheduled, live, finished), when loaded from it. */
  status?: string;
}

/** The outcome of a finished match. */
export function outcomeOf(m: Pick<MatchFact, 'homeGoals' | 'awayGoals'>): Outcome | null {
  if (m.homeGoals === null || m.awayGoals === null) return null;
  return m.homeGoals > m.awayGoals ? 0 : m.homeGoals === m.awayGoals ? 1 : 2;
}
