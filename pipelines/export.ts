/**
 * `export`: a table of the store as Parquet or CSV for DuckDB, pandas or Spark. Rows are read from the store in
 * pages (keyset on ids, so memory stays flat), appended to an in-memory DuckDB table, and written with DuckDB's
 * COPY with typed columns (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMPTZ; every column nullable) to a temporary name
 * renamed at the end, so an interrupted export never leaves a partial file under the name asked for.
 */
import { rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { Interrupted, UsageError, UserError } from '../src/errors.js';
import type { Store } from '../src/store/connect.js';
import { MATCH_STAT_COLUMNS, type Database } from '../src/store/schema.js';
import { tempNameFor } from '../src/store/backup/format.js';

/** How a column is typed in the export. */
export type ExportType = 'integer' | 'double' | 'text' | 'date' | 'timestamp';

interface Filters {
  competition?: string[];
  season?: string[];
  from?: string;
  to?: string;
}

interface ExportSpec {
  columns: readonly (readonly [string, ExportType])[];
  /** Whether --competition/--season/--from/--to apply. */
  filtered: boolean;
  /** One page of rows after the keyset cursor `after` (an id), with the cursor for the next page. */
  page(db: Kysely<Database>, filters: Filters, after: number, limit: number): Promise<{ rows: Record<string, unknown>[]; next: number | null }>;
}

const col = (c: string): RawBuilder<unknown> => sql.raw(c);

function matchWhere(alias: string, f: Filters, dateColumn = `${alias}.date`, competition = 'c.code', season = `${alias}.season`): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`1 = 1`];
  if (f.competition?.length) parts.push(sql`${col(competition)} in (${sql.join(f.competition)})`);
  if (f.season?.length) parts.push(sql`${col(season)} in (${sql.join(f.season)})`);
  if (f.from) parts.push(sql`${col(dateColumn)} >= ${f.from}`);
  if (f.to) parts.push(sql`${col(dateColumn)} <= ${f.to}`);
  return sql.join(parts, sql` and `);
}

/** Pages of a plain table by its id. */
function byId(table: string, columns: readonly (readonly [string, ExportType])[], where?: (f: Filters) => RawBuilder<unknown>): ExportSpec {
  return {
    columns,
    filtered: where !== undefined,
    async page(db, filters, after, limit) {
      const cond = where ? where(filters) : sql`1 = 1`;
      const { rows } = await sql<
        Record<string, unknown>
      >`select ${sql.join(columns.map(([c]) => sql.ref(c)))} from ${sql.table(table)} where id > ${after} and ${cond} order by id limit ${limit}`.execute(db);
      return { rows, next: rows.length < limit ? null : Number(rows[rows.length - 1]!.id) };
    },
  };
}

const MATCH_COLUMNS: (readonly [string, ExportType])[] = [
  ['id', 'integer'],
  ['competition', 'text'],
  ['season', 'text'],
  ['date', 'date'],
  ['kickoff_time', 'text'],
  ['home_team', 'text'],
  ['away_team', 'text'],
  ['home_team_id', 'integer'],
  ['away_team_id', 'integer'],
  ['status', 'text'],
  ['fthg', 'integer'],
  ['ftag', 'integer'],
  ['ftr', 'text'],
  ['hthg', 'integer'],
  ['htag', 'integer'],
  ['htr', 'text'],
  ['referee', 'text'],
  ['attendance', 'integer'],
  ...MATCH_STAT_COLUMNS.map((c) => [c, 'integer'] as const),
  ['created_at', 'timestamp'],
  ['updated_at', 'timestamp'],
];

const MATCHES_FROM = sql`from matches m join competitions c on c.id = m.competition_id join teams h on h.id = m.home_team_id join teams a on a.id = m.away_team_id`;

/** What `export` can write, by name. */
export const EXPORTS: Record<string, ExportSpec> = {
  matches: {
    columns: MATCH_COLUMNS,
    filtered: true,
    async page(db, filters, after, limit) {
      const select = MATCH_COLUMNS.map(([c]) =>
        c === 'competition'
          ? sql.raw('c.code as competition')
          : c === 'home_team'
            ? sql.raw('h.name as home_team')
            : c === 'away_team'
              ? sql.raw('a.name as away_team')
              : sql.raw(`m.${c}`),
      );
      const { rows } = await sql<
        Record<string, unknown>
      >`select ${sql.join(select)} ${MATCHES_FROM} where m.id > ${after} and ${matchWhere('m', filters)} order by m.id limit ${limit}`.execute(db);
      return { rows, next: rows.length < limit ? null : Number(rows[rows.length - 1]!.id) };
    },
  },
  odds: {
    columns: [
      ['match_id', 'integer'],
      ['competition', 'text'],
      ['season', 'text'],
      ['date', 'date'],
      ['home_team', 'text'],
      ['away_team', 'text'],
      ['bookmaker', 'text'],
      ['market', 'text'],
      ['kind', 'text'],
      ['line', 'double'],
      ['home', 'double'],
      ['draw', 'double'],
      ['away', 'double'],
      ['over', 'double'],
      ['under', 'double'],
      ['source', 'text'],
    ],
    filtered: true,
    async page(db, filters, after, limit) {
      // Keyset over matches: a page is the odds of the next matches (about 50 quotes each).
      const ids = (
        await sql<{
          id: number;
        }>`select m.id ${MATCHES_FROM} where m.id > ${after} and ${matchWhere('m', filters)} order by m.id limit ${Math.max(1, Math.floor(limit / 50))}`.execute(
          db,
        )
      ).rows.map((r) => Number(r.id));
      if (ids.length === 0) return { rows: [], next: null };
      const { rows } = await sql<Record<string, unknown>>`
        select o.match_id, c.code as competition, m.season, m.date, h.name as home_team, a.name as away_team, o.bookmaker, o.market, o.kind, o.line,
               o.home, o.draw, o.away, o.over, o.under, o.source
        from odds o join matches m on m.id = o.match_id join competitions c on c.id = m.competition_id join teams h on h.id = m.home_team_id join teams a on a.id = m.away_team_id
        where o.match_id >= ${ids[0]!} and o.match_id <= ${ids[ids.length - 1]!} and ${matchWhere('m', filters)}
        order by o.match_id, o.market, o.kind, o.bookmaker, o.line`.execute(db);
      return { rows, next: ids[ids.length - 1]! };
    },
  },
  teams: byId('teams', [
    ['id', 'integer'],
    ['name', 'text'],
  ]),
  competitions: byId('competitions', [
    ['id', 'integer'],
    ['code', 'text'],
    ['name', 'text'],
  ]),
  predictions: byId(
    'predictions',
    [
      ['id', 'integer'],
      ['match_id', 'integer'],
      ['competition', 'text'],
      ['season', 'text'],
      ['date', 'date'],
      ['home_team_id', 'integer'],
      ['away_team_id', 'integer'],
      ['model_name', 'text'],
      ['model_version', 'integer'],
      ['model_alias', 'text'],
      ['model_run', 'text'],
      ['model_uri', 'text'],
      ['variant', 'text'],
      ['feature_set', 'text'],
      ['inputs_hash', 'text'],
      ['p_home', 'double'],
      ['p_draw', 'double'],
      ['p_away', 'double'],
      ['source', 'text'],
      ['created_at', 'timestamp'],
    ],
    (f) => matchWhere('predictions', f, 'date', 'competition', 'season'),
  ),
  training_runs: byId('training_runs', [
    ['id', 'integer'],
    ['model', 'text'],
    ['feature_set', 'text'],
    ['params', 'text'],
    ['seed', 'integer'],
    ['competitions', 'text'],
    ['train_from', 'date'],
    ['train_until', 'date'],
    ['n_matches', 'integer'],
    ['data_hash', 'text'],
    ['code_version', 'text'],
    ['status', 'text'],
    ['metrics', 'text'],
    ['started_at', 'timestamp'],
    ['finished_at', 'timestamp'],
  ]),
  tune_trials: byId('tune_trials', [
    ['id', 'integer'],
    ['study_id', 'integer'],
    ['number', 'integer'],
    ['status', 'text'],
    ['params', 'text'],
    ['value', 'double'],
    ['started_at', 'timestamp'],
    ['finished_at', 'timestamp'],
  ]),
};

export interface ExportOptions extends Filters {
  table: string;
  format: 'parquet' | 'csv';
  out: string;
  cwd: string;
  signal?: AbortSignal;
  /** Rows read from the store per query. */
  pageSize?: number;
}

export interface ExportResult {
  table: string;
  format: 'parquet' | 'csv';
  file: string;
  rows: number;
  columns: { name: string; type: ExportType }[];
}

const DUCK: Record<ExportType, string> = { integer: 'BIGINT', double: 'DOUBLE', text: 'VARCHAR', date: 'VARCHAR', timestamp: 'VARCHAR' };
const CAST: Record<ExportType, string> = { integer: '', double: '', text: '', date: 'DATE', timestamp: 'TIMESTAMPTZ' };
const q = (name: string) => `"${name}"`;

/** Writes one table of the store to a Parquet or CSV file. */
export async function exportTable(store: Store, options: ExportOptions): Promise<ExportResult> {
  const spec = EXPORTS[options.table];
  if (!spec) throw new UsageError(`cannot export "${options.table}"`, { hint: `tables: ${Object.keys(EXPORTS).join(', ')}` });
  const filtering = options.competition?.length || options.season?.length || options.from || options.to;
  if (filtering && !spec.filtered)
    throw new UsageError(`--competition, --season, --from and --to do not apply to ${options.table}`, { hint: 'they filter matches, odds and predictions' });
  const file = path.resolve(options.cwd, options.out);
  if (!existsSync(path.dirname(file))) throw new UserError(`cannot write ${file}: folder ${path.dirname(file)} does not exist`);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  const temp = tempNameFor(file, 'partial');
  let rows = 0;
  try {
    await duck.run(`create table t (${spec.columns.map(([c, t]) => `${q(c)} ${DUCK[t]}`).join(', ')})`);
    const appender = await duck.createAppender('t');
    let after = 0;
    for (;;) {
      if (options.signal?.aborted) throw new Interrupted();
      const page = await spec.page(store.db, options, after, options.pageSize ?? 5000);
      for (const row of page.rows) {
        for (const [c, t] of spec.columns) {
          const v = row[c];
          if (v === null || v === undefined) appender.appendNull();
          else if (t === 'integer') appender.appendBigInt(BigInt(Math.trunc(Number(v))));
          else if (t === 'double') appender.appendDouble(Number(v));
          else appender.appendVarchar(String(v));
        }
        appender.endRow();
        rows++;
      }
      if (page.next === null) break;
      after = page.next;
    }
    appender.closeSync();
    const select = spec.columns.map(([c, t]) => (CAST[t] ? `cast(${q(c)} as ${CAST[t]}) as ${q(c)}` : q(c))).join(', ');
    const format = options.format === 'parquet' ? 'format parquet, compression zstd' : 'format csv, header true';
    try {
      await duck.run(`copy (select ${select} from t) to '${temp.replace(/'/g, "''")}' (${format})`);
    } catch (error) {
      // A stored date or timestamp DuckDB cannot read: say which, rather than exit as an internal error.
      const message = (error as Error).message;
      if (/Conversion Error/i.test(message))
        throw new UserError(`cannot export ${options.table}: ${message.split('\n')[0]}`, {
          hint: 'a date or timestamp column holds text that is not ISO-8601',
          cause: error,
        });
      throw error;
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
  return { table: options.table, format: options.format, file, rows, columns: spec.columns.map(([name, type]) => ({ name, type })) };
}
