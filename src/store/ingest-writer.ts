/** The contract for bulk ingest writes, and the row layout both dialects share. */
import type { MatchRecord, OddsQuote } from '../ingest/football-data/types.js';
import { MATCH_STAT_COLUMNS } from './schema.js';

export interface Counters {
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}

export interface MatchWrite {
  record: MatchRecord;
  /** Canonical content hash (see hashMatch): equal hash ⇒ nothing to update. */
  hash: string;
  /**
   * Only its own natural key may be updated: the row never takes over a rescheduled match (see planChunk). Set for
   * an unplayed row whose pairing already had an unplayed row earlier in the same file.
   */
  exactKeyOnly?: boolean;
}

export interface BadRowWrite {
  line: number;
  raw: string;
  reason: string;
}

/** One chunk of one file: written in one transaction together with the run's checkpoint. */
export interface ChunkWrite {
  runId: number;
  source: string;
  sourceKind: string;
  fileHash: string;
  matches: MatchWrite[];
  bad: BadRowWrite[];
  /** First chunk of a run: drop quarantine rows left by older versions of this source. */
  supersedeQuarantine: boolean;
  /** Last line covered by this chunk and the run's counters before it. */
  lastLine: number;
  rowsRead: number;
  before: Counters;
}

export interface ChunkResult {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** Writes chunks atomically: matches, odds, quarantine rows and the run checkpoint commit together. */
export interface IngestWriter {
  /** How many files may be written at once (PostgreSQL overlaps one file's parsing with another's writes). */
  readonly concurrency: number;
  writeChunk(chunk: ChunkWrite): Promise<ChunkResult>;
}

/** Match columns written by ingest, in the order `matchValues` produces. */
export const MATCH_WRITE_COLUMNS = [
  'competition_id',
  'season',
  'date',
  'home_team_id',
  'away_team_id',
  'kickoff_time',
  'status',
  'fthg',
  'ftag',
  'ftr',
  'hthg',
  'htag',
  'htr',
  'referee',
  'attendance',
  ...MATCH_STAT_COLUMNS,
  'row_hash',
] as const;

const STAT_FIELDS = [
  'homeShots',
  'awayShots',
  'homeShotsOnTarget',
  'awayShotsOnTarget',
  'homeWoodwork',
  'awayWoodwork',
  'homeCorners',
  'awayCorners',
  'homeFouls',
  'awayFouls',
  'homeFreeKicksConceded',
  'awayFreeKicksConceded',
  'homeOffsides',
  'awayOffsides',
  'homeYellow',
  'awayYellow',
  'homeRed',
  'awayRed',
  'homeBookingPoints',
  'awayBookingPoints',
] as const;

export type SqlValue = string | number | null;

/** A row's competition and teams as store ids. */
export interface KeyIds {
  competition: number;
  home: number;
  away: number;
}

/** Values for MATCH_WRITE_COLUMNS, in order. */
export function matchValues(m: MatchWrite, ids: KeyIds): SqlValue[] {
  const r = m.record;
  const values: SqlValue[] = [
    ids.competition,
    r.season,
    r.date,
    ids.home,
    ids.away,
    r.time,
    r.status,
    r.fthg,
    r.ftag,
    r.ftr,
    r.hthg,
    r.htag,
    r.htr,
    r.referee,
    r.attendance,
  ];
  for (const field of STAT_FIELDS) values.push(r.stats[field]);
  values.push(m.hash);
  return values;
}

/** Odds columns written by ingest (after match_id), in the order `oddsValues` produces. */
export const ODDS_WRITE_COLUMNS = ['bookmaker', 'market', 'line', 'kind', 'home', 'draw', 'away', 'over', 'under', 'source'] as const;

/** Values for ODDS_WRITE_COLUMNS, in order. */
export function oddsValues(q: OddsQuote, source: string): SqlValue[] {
  return [q.bookmaker, q.market, q.line, q.kind, q.home, q.draw, q.away, q.over, q.under, source];
}

/** Parameters of the checkpoint update, in the order both writers' SQL uses:
 * last_line, rows_read, inserted, updated, unchanged, quarantined, then the run id. */
export function checkpointParams(chunk: ChunkWrite, result: ChunkResult): number[] {
  const c = chunk.before;
  return [
    chunk.lastLine,
    chunk.rowsRead,
    c.inserted + result.inserted,
    c.updated + result.updated,
    c.unchanged + result.unchanged,
    c.quarantined + chunk.bad.length,
    chunk.runId,
  ];
}

/** Case-folded key under which a team name is looked up in team_aliases. */
export function aliasKey(name: string): string {
  return name.toLowerCase();
}
