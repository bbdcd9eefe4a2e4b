/**
 * Reading a whole store in one consistent snapshot, table by table, with values in one dialect-neutral form
 * (numbers, strings, Buffers, null; timestamps as ISO text). SQLite is read with better-sqlite3 directly (a read
 * transaction), PostgreSQL through its own connection in a REPEATABLE READ transaction with a cursor per table and
 * every value fetched as text, so timestamptz keeps its microseconds (oracx's store pool rounds them to ms).
 */
// PostgresDialect statically: a dynamic import('kysely') makes the bundle put all of kysely (MySQL and MSSQL dialects,
// plugins) in the chunk every store command loads (scripts/bundle.mjs).
import { sql, Kysely, PostgresDialect, type Transaction } from 'kysely';
import type { StoreLocation } from '../location.js';
import type { Dialect } from '../types.js';
import type { RawValue } from './checksum.js';
import { MIGRATION_TABLE } from '../migrator.js';

/** A table's columns and key, as found in the database. */
export interface TableInfo {
  name: string;
  columns: string[];
  /** Declared type per column (SQLite) or udt_name (PostgreSQL). */
  types: string[];
  primaryKey: string[];
}

/** A migration record. */
export interface MigrationRecord {
  name: string;
  appliedAt: string;
}

/** A read-only snapshot of a store. */
export interface SnapshotReader {
  readonly dialect: Dialect;
  /** oracx's tables (not the migration records), parents before the tables that refer to them. */
  tables(): Promise<TableInfo[]>;
  /** The table's rows in primary-key order, in batches, values in column order. */
  rows(table: TableInfo, batchSize?: number): AsyncIterable<RawValue[][]>;
  migrations(): Promise<MigrationRecord[]>;
  /** PostgreSQL: the snapshot's id (for pg_dump --snapshot) and the current schema. */
  exportSnapshot?(): Promise<{ snapshot: string; schema: string }>;
  close(): Promise<void>;
}

const SKIPPED = new Set([MIGRATION_TABLE, 'kysely_migration_lock']);

/** Orders tables so that every table comes after the tables its foreign keys refer to (self-references ignored). */
export function parentsFirst(names: readonly string[], parents: ReadonlyMap<string, readonly string[]>): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (name: string, path: Set<string>) => {
    if (done.has(name) || path.has(name)) return;
    path.add(name);
    for (const p of parents.get(name) ?? []) if (p !== name && names.includes(p)) visit(p, path);
    path.delete(name);
    done.add(name);
    out.push(name);
  };
  for (const name of names) visit(name, new Set());
  return out;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Lists oracx's tables of an open SQLite database, parents first. */
export function sqliteTables(raw: import('better-sqlite3').Database): TableInfo[] {
  const names = (raw.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by rowid`).all() as { name: string }[])
    .map((r) => r.name)
    .filter((n) => !SKIPPED.has(n));
  const parents = new Map(names.map((n) => [n, (raw.prepare(`pragma foreign_key_list(${quote(n)})`).all() as { table: string }[]).map((f) => f.table)]));
  return parentsFirst(names, parents).map((name) => {
    const cols = raw.prepare(`pragma table_info(${quote(name)})`).all() as { name: string; type: string; pk: number }[];
    return {
      name,
      columns: cols.map((c) => c.name),
      types: cols.map((c) => c.type.toLowerCase()),
      primaryKey: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
    };
  });
}

/** Opens a SQLite file read-only, in a read transaction held until close (the snapshot). */
export async function openSqliteReader(file: string): Promise<SnapshotReader> {
  const { default: SqliteDatabase } = await import('better-sqlite3');
  const raw = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  raw.exec('begin');
  const hasMigrations = raw.prepare(`select 1 from sqlite_master where name = ?`).get(MIGRATION_TABLE) !== undefined;
  return {
    dialect: 'sqlite',
    async tables() {
      return sqliteTables(raw);
    },
    async *rows(table, batchSize = 2000) {
      const order = table.primaryKey.length > 0 ? ` order by ${table.primaryKey.map(quote).join(', ')}` : '';
      const stmt = raw.prepare(`select ${table.columns.map(quote).join(', ')} from ${quote(table.name)}${order}`).raw(true);
      let batch: RawValue[][] = [];
      for (const row of stmt.iterate() as IterableIterator<RawValue[]>) {
        batch.push(row);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
    async migrations() {
      if (!hasMigrations) return [];
      return (raw.prepare(`select name, timestamp from ${MIGRATION_TABLE} order by name`).all() as { name: string; timestamp: string }[]).map((r) => ({
        name: r.name,
        appliedAt: r.timestamp,
      }));
    },
    async close() {
      raw.close();
    },
  };
}

/** A Kysely over one PostgreSQL connection that returns every value as text (see pgValue). */
export async function rawPostgres(location: StoreLocation): Promise<Kysely<unknown>> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: location.target,
    max: 1,
    connectionTimeoutMillis: 5000,
    application_name: 'oracx-backup',
    types: { getTypeParser: () => (value: string) => value } as unknown as typeof pg.types,
    // Fixed output formats whatever the server's defaults: ISO dates, UTC timestamps, shortest exact floats.
    options: `-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=1${location.schema ? ` -c search_path=${location.schema}` : ''}`,
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
}

/** Turns PostgreSQL's text form of a value of type `udt` into the neutral form (numbers, ISO timestamps, Buffers). */
export function pgValue(text: string | null, udt: string): RawValue {
  if (text === null) return null;
  switch (udt) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'float4':
    case 'float8':
    case 'numeric':
    case 'oid':
      return Number(text);
    case 'bool':
      return text === 't' ? 1 : 0;
    case 'timestamptz':
    case 'timestamp':
      // Session TimeZone is UTC: "2025-01-31 12:00:00.123456+00".
      return text.replace(' ', 'T').replace(/\+00$/, 'Z') + (udt === 'timestamp' ? 'Z' : '');
    case 'bytea':
      return Buffer.from(text.slice(2), 'hex');
    case 'jsonb':
      // jsonb prints with spaces after : and ,; compact JSON is what SQLite text columns hold (key order may still differ).
      return JSON.stringify(JSON.parse(text));
    default:
      return text;
  }
}

/** oracx's tables in the connection's current schema, parents first. */
export async function postgresTables(db: Kysely<unknown> | Transaction<unknown>): Promise<TableInfo[]> {
  const cols = (
    await sql<{ table_name: string; column_name: string; udt_name: string }>`
      select c.table_name, c.column_name, c.udt_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = current_schema() order by c.table_name, c.ordinal_position`.execute(db)
  ).rows;
  const fks = (
    await sql<{ child: string; parent: string }>`
      select c.relname as child, p.relname as parent from pg_constraint k
      join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
      where k.contype = 'f' and c.relnamespace = current_schema()::regnamespace`.execute(db)
  ).rows;
  const pks = (
    await sql<{ table_name: string; column_name: string; position: string }>`
      select c.relname as table_name, a.attname as column_name, array_position(k.conkey, a.attnum) as position from pg_constraint k
      join pg_class c on c.oid = k.conrelid join pg_attribute a on a.attrelid = c.oid and a.attnum = any(k.conkey)
      where k.contype = 'p' and c.relnamespace = current_schema()::regnamespace`.execute(db)
  ).rows;
  // Creation order (oid) keeps the export in the order migrations made the tables, like SQLite's rowid order.
  const order = (
    await sql<{ relname: string }>`select relname from pg_class where relkind = 'r' and relnamespace = current_schema()::regnamespace order by oid`.execute(db)
  ).rows.map((r) => r.relname);
  const names = order.filter((n) => !SKIPPED.has(n) && cols.some((c) => c.table_name === n));
  const parents = new Map<string, string[]>();
  for (const fk of fks) parents.set(fk.child, [...(parents.get(fk.child) ?? []), fk.parent]);
  return parentsFirst(names, parents).map((name) => {
    const own = cols.filter((c) => c.table_name === name);
    return {
      name,
      columns: own.map((c) => c.column_name),
      types: own.map((c) => c.udt_name),
      primaryKey: pks
        .filter((p) => p.table_name === name)
        .sort((a, b) => Number(a.position) - Number(b.position))
        .map((p) => p.column_name),
    };
  });
}

/** Reads `table` through a cursor inside `tx` (which holds the snapshot). */
export async function* postgresRows(tx: Transaction<unknown>, table: TableInfo, batchSize = 2000): AsyncIterable<RawValue[][]> {
  const order = table.primaryKey.length > 0 ? ` order by ${table.primaryKey.map(quote).join(', ')}` : '';
  const cursor = `oracx_backup_${table.name}`;
  await sql.raw(`declare ${quote(cursor)} no scroll cursor for select ${table.columns.map(quote).join(', ')} from ${quote(table.name)}${order}`).execute(tx);
  try {
    for (;;) {
      const { rows } = await sql.raw<Record<string, string | null>>(`fetch ${batchSize} from ${quote(cursor)}`).execute(tx);
      if (rows.length === 0) return;
      yield rows.map((r) => table.columns.map((c, i) => pgValue(r[c] ?? null, table.types[i]!)));
    }
  } finally {
    await sql
      .raw(`close ${quote(cursor)}`)
      .execute(tx)
      .catch(() => undefined);
  }
}

/** Opens a PostgreSQL store read-only in a REPEATABLE READ transaction (one snapshot for every table). */
export async function openPostgresReader(location: StoreLocation): Promise<SnapshotReader> {
  const db = await rawPostgres(location);
  // The transaction lives as long as the reader: it is opened here and ended by close().
  let release!: () => void;
  const finished = new Promise<void>((resolve) => (release = resolve));
  let ready!: (tx: Transaction<unknown>) => void;
  let failed!: (error: unknown) => void;
  const started = new Promise<Transaction<unknown>>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const running = db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      ready(tx);
      await finished;
    })
    .catch((error: unknown) => failed(error));
  let tx: Transaction<unknown>;
  try {
    tx = await started;
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    dialect: 'postgres',
    tables: () => postgresTables(tx),
    rows: (table, batchSize) => postgresRows(tx, table, batchSize),
    async migrations() {
      const exists =
        (await sql`select 1 from information_schema.tables where table_schema = current_schema() and table_name = ${MIGRATION_TABLE}`.execute(tx)).rows.length >
        0;
      if (!exists) return [];
      return (await sql<{ name: string; timestamp: string }>`select name, timestamp from ${sql.table(MIGRATION_TABLE)} order by name`.execute(tx)).rows.map(
        (r) => ({
          name: r.name,
          appliedAt: r.timestamp,
        }),
      );
    },
    async exportSnapshot() {
      const { rows } = await sql<{ snapshot: string; schema: string }>`select pg_export_snapshot() as snapshot, current_schema() as schema`.execute(tx);
      return rows[0]!;
    },
    async close() {
      release();
      await running;
      await db.destroy();
    },
  };
}
