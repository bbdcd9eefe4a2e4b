/** SQLite ingest fast path: prepared better-sqlite3 statements inside one transaction per chunk. */
import type BetterSqlite3 from 'better-sqlite3';
import {
  aliasKey,
  checkpointParams,
  matchValues,
  oddsValues,
  MATCH_WRITE_COLUMNS,
  ODDS_WRITE_COLUMNS,
  type ChunkResult,
  type ChunkWrite,
  type IngestWriter,
} from './ingest-writer.js';
import { storeError } from './errors.js';

type Statement = BetterSqlite3.Statement;

/** Writes ingest chunks through better-sqlite3 (kysely's per-query compile would dominate here). */
export class SqliteIngestWriter implements IngestWriter {
  /** One writer at a time: SQLite serialises writes, and these are synchronous anyway. */
  readonly concurrency = 1;
  private statements?: Record<string, Statement>;
  private readonly teamIds = new Map<string, number>();
  private readonly competitionIds = new Map<string, number>();

  constructor(
    private readonly raw: BetterSqlite3.Database,
    private readonly display: string,
  ) {}

  private prepare(): Record<string, Statement> {
    if (this.statements) return this.statements;
    const cols = MATCH_WRITE_COLUMNS.join(', ');
    const marks = MATCH_WRITE_COLUMNS.map(() => '?').join(', ');
    const sets = MATCH_WRITE_COLUMNS.slice(5)
      .map((c) => `${c} = ?`)
      .join(', ');
    const db = this.raw;
    this.statements = {
      alias: db.prepare('select team_id from team_aliases where alias = ?').pluck(),
      insertTeam: db.prepare('insert into teams (name) values (?) on conflict (name) do nothing'),
      teamByName: db.prepare('select id from teams where name = ?').pluck(),
      insertAlias: db.prepare('insert into team_aliases (alias, team_id) values (?, ?) on conflict (alias) do nothing'),
      competition: db.prepare('select id from competitions where code = ?').pluck(),
      insertCompetition: db.prepare('insert into competitions (code) values (?) on conflict (code) do nothing'),
      existing: db.prepare(
        'select id, row_hash from matches where competition_id = ? and season = ? and date = ? and home_team_id = ? and away_team_id = ?',
      ),
      insertMatch: db.prepare(`insert into matches (${cols}) values (${marks})`),
      updateMatch: db.prepare(
        `update matches set ${sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') where id = ?`,
      ),
      deleteOdds: db.prepare('delete from odds where match_id = ?'),
      insertOdds: db.prepare(
        `insert into odds (match_id, ${ODDS_WRITE_COLUMNS.join(', ')}) values (?, ${ODDS_WRITE_COLUMNS.map(() => '?').join(', ')})`,
      ),
      supersede: db.prepare('delete from quarantine where source = ? and file_hash <> ?'),
      quarantine: db.prepare(
        'insert into quarantine (run_id, source, file_hash, line, raw, reason) values (?, ?, ?, ?, ?, ?) on conflict (source, file_hash, line) do update set reason = excluded.reason, raw = excluded.raw',
      ),
      checkpoint: db.prepare(
        'update ingest_runs set last_line = ?, rows_read = ?, inserted = ?, updated = ?, unchanged = ?, quarantined = ? where id = ?',
      ),
    };
    return this.statements;
  }

  private teamId(name: string): number {
    const key = aliasKey(name);
    const cached = this.teamIds.get(key);
    if (cached !== undefined) return cached;
    const s = this.prepare();
    let id = s.alias!.get(key) as number | undefined;
    if (id === undefined) {
      s.insertTeam!.run(name);
      id = s.teamByName!.get(name) as number;
      s.insertAlias!.run(key, id);
    }
    this.teamIds.set(key, id);
    return id;
  }

  private competitionId(code: string): number {
    const cached = this.competitionIds.get(code);
    if (cached !== undefined) return cached;
    const s = this.prepare();
    s.insertCompetition!.run(code);
    const id = s.competition!.get(code) as number;
    this.competitionIds.set(code, id);
    return id;
  }

  async writeChunk(chunk: ChunkWrite): Promise<ChunkResult> {
    const s = this.prepare();
    const run = this.raw.transaction((): ChunkResult => {
      const result: ChunkResult = { inserted: 0, updated: 0, unchanged: 0 };
      if (chunk.supersedeQuarantine) s.supersede!.run(chunk.source, chunk.fileHash);
      for (const m of chunk.matches) {
        const r = m.record;
        const ids = { competition: this.competitionId(r.competition), home: this.teamId(r.homeTeam), away: this.teamId(r.awayTeam) };
        const found = s.existing!.get(ids.competition, r.season, r.date, ids.home, ids.away) as
          | { id: number; row_hash: string }
          | undefined;
        if (found && found.row_hash === m.hash) {
          result.unchanged++;
          continue;
        }
        const values = matchValues(m, ids);
        let matchId: number;
        if (found) {
          s.updateMatch!.run(...values.slice(5), found.id);
          s.deleteOdds!.run(found.id);
          matchId = found.id;
          result.updated++;
        } else {
          matchId = Number(s.insertMatch!.run(...values).lastInsertRowid);
          result.inserted++;
        }
        for (const q of r.odds) s.insertOdds!.run(matchId, ...oddsValues(q, chunk.sourceKind));
      }
      for (const b of chunk.bad) s.quarantine!.run(chunk.runId, chunk.source, chunk.fileHash, b.line, b.raw, b.reason);
      s.checkpoint!.run(...checkpointParams(chunk, result));
      return result;
    });
    try {
      return run.immediate();
    } catch (error) {
      // Ids cached during a rolled-back transaction may not exist.
      this.teamIds.clear();
      this.competitionIds.clear();
      throw storeError(error, this.display);
    }
  }
}
