/** PostgreSQL ingest fast path: array (unnest) statements for matches, COPY for odds, one transaction per chunk. */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
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
  type SqlValue,
} from './ingest-writer.js';
import { planChunk, planRows } from './ingest-plan.js';
import { lookUpStored } from './postgres-lookup.js';
import { finishedKey, finishedPayload, finishingWrites, type Finishing } from './finished-events.js';

const MATCH_PG_TYPES: Record<(typeof MATCH_WRITE_COLUMNS)[number], string> = Object.fromEntries(MATCH_WRITE_COLUMNS.map((c) => [c, 'int'])) as Record<
  (typeof MATCH_WRITE_COLUMNS)[number],
  string
>;
Object.assign(MATCH_PG_TYPES, {
  competition_id: 'bigint',
  home_team_id: 'bigint',
  away_team_id: 'bigint',
  season: 'text',
  date: 'date',
  kickoff_time: 'text',
  status: 'text',
  ftr: 'text',
  htr: 'text',
  referee: 'text',
  row_hash: 'text',
});

/** A match changed between a chunk's lookup and its update; the chunk is retried (SQLSTATE 40001, like a serialization failure). */
class ConcurrentUpdate extends Error {
  readonly code = '40001';
  constructor(count: number) {
    super(`${count} match(es) changed by another writer during the chunk`);
  }
}

/** Transposes rows into one array per column, as unnest() wants them. */
function columns(rows: SqlValue[][], width: number): SqlValue[][] {
  const out: SqlValue[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let i = 0; i < width; i++) out[i]!.push(row[i] ?? null);
  return out;
}

/** COPY text-format field: \N for null, backslash escapes for the characters COPY treats specially. */
function copyField(value: SqlValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (ch) => (ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\\\'));
}

interface Ids {
  teams: Map<string, number>;
  competitions: Map<string, number>;
}

/** Writes ingest chunks through pg with set-based statements (no per-row round trips). */
export class PostgresIngestWriter implements IngestWriter {
  readonly concurrency = 2;
  private readonly teamIds = new Map<string, number>();
  private readonly competitionIds = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly schema?: string,
  ) {}

  async writeChunk(chunk: ChunkWrite): Promise<ChunkResult> {
    // Two files written at once can race for the same match keys (overlapping inputs), update the same match, or,
    // rarely, deadlock: the loser's transaction rolls back whole, and a retry sees the winner's rows as they are now.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(chunk);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= 3 || (code !== '23505' && code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }

  private async attempt(chunk: ChunkWrite): Promise<ChunkResult> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const ids: Ids = { teams: new Map(), competitions: new Map() };
      const result = await this.write(client, chunk, ids);
      await client.query('commit');
      // Only committed ids are shared: another file's chunk may be writing concurrently.
      for (const [k, v] of ids.teams) this.teamIds.set(k, v);
      for (const [k, v] of ids.competitions) this.competitionIds.set(k, v);
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Ids of the chunk's competitions and teams, creating missing ones (inserted in sorted order, so concurrent chunks cannot deadlock). */
  private async resolveIds(client: PoolClient, chunk: ChunkWrite, ids: Ids): Promise<void> {
    for (const m of chunk.matches) {
      const c = this.competitionIds.get(m.record.competition);
      if (c !== undefined) ids.competitions.set(m.record.competition, c);
      for (const name of [m.record.homeTeam, m.record.awayTeam]) {
        const t = this.teamIds.get(aliasKey(name));
        if (t !== undefined) ids.teams.set(aliasKey(name), t);
      }
    }
    const codes = [...new Set(chunk.matches.map((m) => m.record.competition))].filter((c) => !ids.competitions.has(c)).sort();
    if (codes.length > 0) {
      await client.query('insert into competitions (code) select unnest($1::text[]) on conflict (code) do nothing', [codes]);
      const { rows } = await client.query<{ id: number; code: string }>('select id, code from competitions where code = any($1::text[])', [codes]);
      for (const row of rows) ids.competitions.set(row.code, Number(row.id));
    }
    const names = new Map<string, string>();
    for (const m of chunk.matches) {
      for (const name of [m.record.homeTeam, m.record.awayTeam]) {
        const key = aliasKey(name);
        if (!ids.teams.has(key) && !names.has(key)) names.set(key, name);
      }
    }
    if (names.size === 0) return;
    const keys = [...names.keys()];
    const known = await client.query<{ alias: string; team_id: number }>('select alias, team_id from team_aliases where alias = any($1::text[])', [keys]);
    for (const row of known.rows) {
      ids.teams.set(row.alias, Number(row.team_id));
      names.delete(row.alias);
    }
    if (names.size === 0) return;
    const fresh = [...names.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const newKeys = fresh.map(([k]) => k);
    const newNames = fresh.map(([, n]) => n);
    await client.query('insert into teams (name) select unnest($1::text[]) on conflict (name) do nothing', [newNames]);
    await client.query(
      `insert into team_aliases (alias, team_id)
       select k.alias, t.id from unnest($1::text[], $2::text[]) as k(alias, name) join teams t on t.name = k.name
       on conflict (alias) do nothing`,
      [newKeys, newNames],
    );
    const { rows } = await client.query<{ alias: string; team_id: number }>('select alias, team_id from team_aliases where alias = any($1::text[])', [newKeys]);
    for (const row of rows) ids.teams.set(row.alias, Number(row.team_id));
  }

  private async write(client: PoolClient, chunk: ChunkWrite, ids: Ids): Promise<ChunkResult> {
    const result: ChunkResult = { inserted: 0, updated: 0, unchanged: 0 };
    if (chunk.supersedeQuarantine) {
      await client.query('delete from quarantine where source = $1 and file_hash <> $2', [chunk.source, chunk.fileHash]);
    }
    if (chunk.matches.length > 0) {
      await this.resolveIds(client, chunk, ids);
      const keyIds: KeyIds[] = chunk.matches.map((m) => ({
        competition: ids.competitions.get(m.record.competition)!,
        home: ids.teams.get(aliasKey(m.record.homeTeam))!,
        away: ids.teams.get(aliasKey(m.record.awayTeam))!,
      }));
      const rows = chunk.matches.map((m, i) => matchValues(m, keyIds[i]!));
      const planned = planRows(chunk.matches, keyIds);
      const stored = await lookUpStored(client, planned, keyIds);
      const plan = planChunk(planned, stored);
      result.inserted = plan.inserted;
      result.updated = plan.updated;
      result.unchanged = plan.unchanged;

      // Chunk row whose values (and odds) each written match gets → its id.
      const matchIds = new Map<number, number>();
      // Updates first: a match moving to a new date frees its old key, which a later row may insert on.
      const updates = plan.writes.flatMap((w) => (w.id === null ? [] : [w]));
      if (updates.length > 0) {
        const updCols = ['date', ...MATCH_WRITE_COLUMNS.slice(5)] as const;
        const params = [
          updates.map((w) => w.id),
          updates.map((w) => w.previousHash),
          ...columns(
            updates.map((w) => [rows[w.row]![2]!, ...rows[w.row]!.slice(5)]),
            updCols.length,
          ),
        ];
        const unnest = ['$1::bigint[]', '$2::text[]', ...updCols.map((c, n) => `$${n + 3}::${MATCH_PG_TYPES[c]}[]`)].join(', ');
        const updated = await client.query(
          `update matches m set ${updCols.map((c) => `${c} = u.${c}`).join(', ')}, updated_at = now()
           from unnest(${unnest}) as u(id, previous_hash, ${updCols.join(', ')})
           where m.id = u.id and m.row_hash = u.previous_hash`,
          params,
        );
        // Another writer changed one of these matches since the lookup: roll back and plan again.
        if (updated.rowCount !== updates.length) throw new ConcurrentUpdate(updates.length - (updated.rowCount ?? 0));
        const ids = updates.map((w) => w.id);
        await client.query('delete from odds where match_id = any($1::bigint[])', [ids]);
        for (const w of updates) matchIds.set(w.row, w.id);
        // After the guarded update: each match was still as looked up, so "not finished before" holds.
        await this.emitFinished(client, chunk, keyIds, finishingWrites(plan, stored, chunk.matches));
      }
      const inserts = plan.writes.filter((w) => w.id === null).map((w) => w.row);
      if (inserts.length > 0) {
        const cols = MATCH_WRITE_COLUMNS.join(', ');
        const params = columns(
          inserts.map((i) => rows[i]!),
          MATCH_WRITE_COLUMNS.length,
        );
        const unnest = MATCH_WRITE_COLUMNS.map((c, n) => `$${n + 1}::${MATCH_PG_TYPES[c]}[]`).join(', ');
        const inserted = await client.query<{ id: number; k: string }>(
          `insert into matches (${cols}) select * from unnest(${unnest})
           returning id, concat_ws('|', competition_id, season, date, home_team_id, away_team_id) as k`,
          params,
        );
        const byKey = new Map(inserted.rows.map((row) => [row.k, Number(row.id)]));
        for (const i of inserts) matchIds.set(i, byKey.get(rows[i]!.slice(0, 5).join('|'))!);
      }
      await this.copyOdds(client, chunk, matchIds);
    }
    if (chunk.bad.length > 0) {
      await client.query(
        `insert into quarantine (run_id, source, file_hash, line, raw, reason)
         select $1, $2, $3, b.line, b.raw, b.reason from unnest($4::int[], $5::text[], $6::text[]) as b(line, raw, reason)
         on conflict (source, file_hash, line) do update set reason = excluded.reason, raw = excluded.raw`,
        [
          chunk.runId,
          chunk.source,
          chunk.fileHash,
          chunk.bad.map((b) => b.line),
          // biome-ignore lint/suspicious/noControlCharactersInRegex: PostgreSQL text cannot hold NUL, so it is removed
          chunk.bad.map((b) => b.raw.replace(/\u0000/g, '')),
          chunk.bad.map((b) => b.reason),
        ],
      );
    }
    await client.query(
      'update ingest_runs set last_line = $1, rows_read = $2, inserted = $3, updated = $4, unchanged = $5, quarantined = $6 where id = $7',
      checkpointParams(chunk, result),
    );
    return result;
  }

  /** One match_finished event per finishing write, in the chunk's transaction; an event already there is kept. */
  private async emitFinished(client: PoolClient, chunk: ChunkWrite, keyIds: KeyIds[], finishing: Finishing[]): Promise<void> {
    if (finishing.length === 0) return;
    const teamIds = [...new Set(finishing.flatMap((f) => [keyIds[f.row]!.home, keyIds[f.row]!.away]))];
    const names = await client.query<{ id: number; name: string }>('select id, name from teams where id = any($1::bigint[])', [teamIds]);
    const name = new Map(names.rows.map((r) => [Number(r.id), r.name]));
    await client.query(
      `insert into events (type, match_id, dedupe_key, payload)
       select 'match_finished', e.match_id, e.dedupe_key, e.payload from unnest($1::bigint[], $2::text[], $3::text[]) as e(match_id, dedupe_key, payload)
       on conflict (dedupe_key) do nothing`,
      [
        finishing.map((f) => f.id),
        finishing.map((f) => finishedKey(f.id)),
        finishing.map((f) => finishedPayload(f.id, chunk.matches[f.row]!, name.get(keyIds[f.row]!.home)!, name.get(keyIds[f.row]!.away)!, chunk.source)),
      ],
    );
  }

  private async copyOdds(client: PoolClient, chunk: ChunkWrite, matchIds: Map<number, number>): Promise<void> {
    if (matchIds.size === 0) return;
    const sourceKind = chunk.sourceKind;
    // Serialised lazily in ~64 KB pieces: the server parses and indexes one piece while the next is built,
    // instead of waiting for one big string (the build alone was ~20% of a PostgreSQL collect).
    function* pieces(): Generator<string> {
      let buffer = '';
      for (const [index, matchId] of matchIds) {
        for (const q of chunk.matches[index]!.record.odds) {
          buffer += `${matchId}\t${oddsValues(q, sourceKind).map(copyField).join('\t')}\n`;
          if (buffer.length >= 65536) {
            yield buffer;
            buffer = '';
          }
        }
      }
      if (buffer !== '') yield buffer;
    }
    const table = this.schema ? `"${this.schema}".odds` : 'odds';
    const stream = client.query(copyFrom(`copy ${table} (match_id, ${ODDS_WRITE_COLUMNS.join(', ')}) from stdin`));
    await pipeline(Readable.from(pieces()), stream);
  }
}
