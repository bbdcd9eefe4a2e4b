/** Shapes produced by the football-data.co.uk parser and consumed by the collect pipeline. */

export type Market = '1x2' | 'ou' | 'ah';
export type OddsKind = 'pre' | 'closing';

/** One bookmaker's prices for one market at one moment (pre-match snapshot or closing). */
export interface OddsQuote {
  /** Column prefix as football-data writes it: B365, PS, Avg, Max, Bb (BetBrain), BFE, 1XB … */
  bookmaker: string;
  market: Market;
  /** 0 for 1x2, 2.5 for over/under 2.5, the home handicap for Asian handicap. */
  line: number;
  kind: OddsKind;
  /** 1x2 home / AH home price. */
  home: number | null;
  draw: number | null;
  /** 1x2 away / AH away price. */
  away: number | null;
  over: number | null;
  under: number | null;
}

/** Match statistics carried by the files; every field is null when the column is absent or empty. */
export interface MatchStats {
  homeShots: number | null;
  awayShots: number | null;
  homeShotsOnTarget: number | null;
  awayShotsOnTarget: number | null;
  homeWoodwork: number | null;
  awayWoodwork: number | null;
  homeCorners: number | null;
  awayCorners: number | null;
  homeFouls: number | null;
  awayFouls: number | null;
  homeFreeKicksConceded: number | null;
  awayFreeKicksConceded: number | null;
  homeOffsides: number | null;
  awayOffsides: number | null;
  homeYellow: number | null;
  awayYellow: number | null;
  homeRed: number | null;
  awayRed: number | null;
  homeBookingPoints: number | null;
  awayBookingPoints: number | null;
}

export type MatchStatus = 'scheduled' | 'live' | 'finished';
export type Result = 'H' | 'D' | 'A';

/** A validated, normalised match row. */
export interface MatchRecord {
  /** Division code, e.g. E0. */
  competition: string;
  /** Season label "YYYY-YYYY", e.g. "2019-2020". */
  season: string;
  /** Kick-off date, ISO yyyy-mm-dd. */
  date: string;
  /** Kick-off time HH:MM (UK time) when the file has it. */
  time: string | null;
  homeTeam: string;
  awayTeam: string;
  status: MatchStatus;
  fthg: number | null;
  ftag: number | null;
  ftr: Result | null;
  hthg: number | null;
  htag: number | null;
  htr: Result | null;
  referee: string | null;
  attendance: number | null;
  stats: MatchStats;
  odds: OddsQuote[];
}

/** One data line of a file, either a valid match or a row to quarantine. */
export type ParsedRow = { kind: 'match'; line: number; raw: string; record: MatchRecord } | { kind: 'bad'; line: number; raw: string; reason: string };
