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
  type KeyIds,
} from './ingest-writer.js';
import { storeError } from './errors.js';
import { planChunk, planRows, type PlanRow, type StoredMatch } from './ingest-plan.js';
import { finishedKey, finishedPayload, finishingWrites } from './finished-events.js';

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
    // The date too: a rescheduled match moves to its new date.
    const sets = ['date', ...MATCH_WRITE_COLUMNS.slice(5)].map((c) => `${c} = ?`).join(', ');
    const db = this.raw;
    this.statements = {
      alias: db.prepare('select team_id from team_aliases where alias = ?').pluck(),
      insertTeam: db.prepare('insert into teams (name) values (?) on conflict (name) do nothing'),
      teamByName: db.prepare('select id from teams where name = ?').pluck(),
      insertAlias: db.prepare('insert into team_aliases (alias, team_id) values (?, ?) on conflict (alias) do nothing'),
      competition: db.prepare('select id from competitions where code = ?').pluck(),
      insertCompetition: db.prepare('insert into competitions (code) values (?) on conflict (code) do nothing'),
      existing: db.prepare(
        'select id, status, row_hash from matches where competition_id = ? and season = ? and date = ? and home_team_id = ? and away_team_id = ?',
      ),
      hasUnplayed: db.prepare("select 1 from matches where competition_id = ? and season = ? and status = 'scheduled' limit 1").pluck(),
      pairing: db.prepare('select id, date, status, row_hash from matches where competition_id = ? and season = ? and home_team_id = ? and away_team_id = ?'),
      insertMatch: db.prepare(`insert into matches (${cols}) values (${marks})`),
      updateMatch: db.prepare(`update matches set ${sets}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') where id = ?`),
      deleteOdds: db.prepare('delete from odds where match_id = ?'),
      insertOdds: db.prepare(`insert into odds (match_id, ${ODDS_WRITE_COLUMNS.join(', ')}) values (?, ${ODDS_WRITE_COLUMNS.map(() => '?').join(', ')})`),
      supersede: db.prepare('delete from quarantine where source = ? and file_hash <> ?'),
      quarantine: db.prepare(
        'insert into quarantine (run_id, source, file_hash, line, raw, reason) values (?, ?, ?, ?, ?, ?) on conflict (source, file_hash, line) do update set reason = excluded.reason, raw = excluded.raw',
      ),
      teamName: db.prepare('select name from teams where id = ?').pluck(),
      finished: db.prepare("insert into events (type, match_id, dedupe_key, payload) values ('match_finished', ?, ?, ?) on conflict (dedupe_key) do nothing"),
      checkpoint: db.prepare('update ingest_runs set last_line = ?, rows_read = ?, inserted = ?, updated = ?, unchanged = ?, quarantined = ? where id = ?'),
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

  /** The stored matches planChunk needs: each row's natural key, and the whole pairing of rows that might move one. */
  private lookUp(rows: readonly PlanRow[], ids: readonly KeyIds[]): Map<string, StoredMatch[]> {
    const s = this.prepare();
    const stored = new Map<string, StoredMatch[]>();
    const add = (pairing: string, m: StoredMatch) => {
      const list = stored.get(pairing);
      if (!list) stored.set(pairing, [m]);
      else if (!list.some((x) => x.id === m.id)) list.push(m);
    };
    // Whether a competition's season holds unplayed matches at all: when not, a played row has nothing to move.
    const unplayedIn = new Map<string, boolean>();
    const whole = new Set<string>();
    rows.forEach(({ pairing, write }, i) => {
      const r = write.record;
      const { competition, home, away } = ids[i]!;
      const found = s.existing!.get(competition, r.season, r.date, home, away) as { id: number; status: string; row_hash: string } | undefined;
      if (found) {
        add(pairing, { id: found.id, date: r.date, status: found.status, hash: found.row_hash });
        return;
      }
      if (whole.has(pairing)) return;
      const season = `${competition}|${r.season}`;
      let unplayed = unplayedIn.get(season);
      if (unplayed === undefined) {
        unplayed = s.hasUnplayed!.get(competition, r.season) !== undefined;
        unplayedIn.set(season, unplayed);
      }
      if (!unplayed && r.status !== 'scheduled') return;
      whole.add(pairing);
      const matches = s.pairing!.all(competition, r.season, home, away) as (StoredMatch & { row_hash: string })[];
      for (const m of matches) add(pairing, { id: m.id, date: m.date, status: m.status, hash: m.row_hash });
    });
    return stored;
  }

  async writeChunk(chunk: ChunkWrite): Promise<ChunkResult> {
    const s = this.prepare();
    const run = this.raw.transaction((): ChunkResult => {
      if (chunk.supersedeQuarantine) s.supersede!.run(chunk.source, chunk.fileHash);
      const ids: KeyIds[] = chunk.matches.map((m) => ({
        competition: this.competitionId(m.record.competition),
        home: this.teamId(m.record.homeTeam),
        away: this.teamId(m.record.awayTeam),
      }));
      const rows = planRows(chunk.matches, ids);
      const stored = this.lookUp(rows, ids);
      const plan = planChunk(rows, stored);
      // Decided against the rows as they were before this chunk, and committed with it: a resumed chunk finds them finished.
      for (const f of finishingWrites(plan, stored, chunk.matches)) {
        const { home, away } = ids[f.row]!;
        const payload = finishedPayload(f.id, chunk.matches[f.row]!, s.teamName!.get(home) as string, s.teamName!.get(away) as string, chunk.source);
        s.finished!.run(f.id, finishedKey(f.id), payload);
      }
      // Updates first: a match moving to a new date frees its old key, which a later row may insert on.
      const writes = [...plan.writes.filter((w) => w.id !== null), ...plan.writes.filter((w) => w.id === null)];
      for (const w of writes) {
        const m = chunk.matches[w.row]!;
        const values = matchValues(m, ids[w.row]!);
        let matchId: number;
        if (w.id !== null) {
          s.updateMatch!.run(m.record.date, ...values.slice(5), w.id);
          s.deleteOdds!.run(w.id);
          matchId = w.id;
        } else {
          matchId = Number(s.insertMatch!.run(...values).lastInsertRowid);
        }
        for (const q of m.record.odds) s.insertOdds!.run(matchId, ...oddsValues(q, chunk.sourceKind));
      }
      const result: ChunkResult = { inserted: plan.inserted, updated: plan.updated, unchanged: plan.unchanged };
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
