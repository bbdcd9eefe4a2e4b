/** Opens a Store over SQLite (better-sqlite3) or PostgreSQL (pg), loading only the driver needed. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Kysely, PostgresDialect, sql, SqliteDialect } from 'kysely';
import { UserError } from '../errors.js';
import { storeError } from './errors.js';
import { migrations } from './migrations/index.js';
import { assertOwnStore, inspectStore, migrateToLatest } from './migrator.js';
import { parseStoreLocation, redact, type StoreLocation } from './location.js';
import type { Database } from './schema.js';
import type { Dialect } from './types.js';
import type { IngestWriter } from './ingest-writer.js';

export interface MigrationStatus {
  name: string;
  applied: boolean;
  executedAt: string | null;
}

export interface MigrateReport {
  applied: string[];
}

type BulkInsert = Store['bulkInsert'];
type Check = Store['check'];

/** The outcome of an integrity check. */
export interface StoreCheck {
  ok: boolean;
  /** What the check reported (SQLite's own lines, at most 20), empty when ok. */
  problems: string[];
  /** What was checked, e.g. "PRAGMA quick_check". */
  checked: string;
  durationMs: number;
}

/** The store: one type over both dialects. */
export interface Store {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  /** Printable location (password redacted). */
  readonly location: string;
  /** Bulk, chunked ingest writes (dialect-specific fast path). */
  readonly writer: IngestWriter;
  /** Applies pending migrations in order; all-or-nothing per migration. */
  migrate(): Promise<MigrateReport>;
  /** Lists every known migration with whether it has been applied. */
  migrationStatus(): Promise<MigrationStatus[]>;
  /** A trivial query: resolves when the database answers. */
  ping(): Promise<void>;
  /**
   * SQLite: `quick` runs PRAGMA quick_check (every page and record, not index contents; linear in the file size),
   * `full` PRAGMA integrity_check and foreign_key_check. PostgreSQL checksums its own pages: ping only.
   */
  check(mode: 'quick' | 'full'): Promise<StoreCheck>;
  /**
   * Inserts rows (values in `columns` order) in one transaction, all or none: the fast path for append-only tables
   * written in bulk (predictions). SQLite runs one cached prepared statement per row; PostgreSQL multi-row inserts.
   * Table and column names must come from code, never from input.
   */
  bulkInsert(table: keyof Database & string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** How long SQLite waits for a lock / PostgreSQL for a connection (ms). */
  timeoutMs?: number;
  /** Folder relative SQLite paths are resolved against. */
  cwd?: string;
  /** False: a missing SQLite file is a StoreNotFound error instead of a new empty store (read-only commands). */
  create?: boolean;
}

/** The SQLite file does not exist and the command was not to create it. */
export class StoreNotFound extends UserError {
  constructor(readonly display: string) {
    super(`store ${display} does not exist yet`, { hint: 'oracx db migrate (or any command that writes, e.g. collect) creates it' });
    this.name = 'StoreNotFound';
  }
}

/** Throws a UserError naming the problem when a quick check fails: nothing may be written to a damaged store. */
export async function assertIntact(store: Store): Promise<void> {
  const result = await store.check('quick');
  if (result.ok) return;
  throw new UserError(`${store.location} failed SQLite's integrity check (${result.problems[0]}); oracx will not write to it`, {
    hint: `see every problem with oracx db check; restore the file from a backup, or recover what is readable with sqlite3 ${store.location} .recover`,
  });
}

/** Opens the store named by a `--store` value; the database is not migrated here. */
export async function openStore(value: string, options: OpenOptions = {}): Promise<Store> {
  const location = parseStoreLocation(value, options.cwd);
  const timeoutMs = options.timeoutMs ?? 5000;
  return location.dialect === 'postgres' ? openPostgres(location, timeoutMs) : openSqlite(location, timeoutMs, options.create ?? true);
}

async function openSqlite(location: StoreLocation, timeoutMs: number, create: boolean): Promise<Store> {
  // Loaded side by side: the module loads overlap their file reads instead of queueing.
  const [{ default: SqliteDatabase }, { SqliteIngestWriter }] = await Promise.all([import('better-sqlite3'), import('./sqlite-writer.js')]);
  if (location.target !== ':memory:' && !existsSync(path.dirname(location.target))) {
    throw new UserError(`cannot open SQLite store ${location.display}: folder ${path.dirname(location.target)} does not exist`, {
      hint: 'create the folder or pass another --store path',
    });
  }
  if (!create && location.target !== ':memory:' && !existsSync(location.target)) throw new StoreNotFound(location.display);
  let raw: InstanceType<typeof SqliteDatabase>;
  try {
    raw = new SqliteDatabase(location.target, { timeout: timeoutMs, nativeBinding: sqliteAddon() });
  } catch (error) {
    throw storeError(error, location.display);
  }
  // Someone else's database is refused before anything is written to it (journal_mode = WAL rewrites the header).
  try {
    await checkOwnStore(new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) }), 'sqlite', location.display);
  } catch (error) {
    raw.close();
    throw storeError(error, location.display);
  }
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('synchronous = NORMAL');
  } catch (error) {
    throw storeError(error, location.display);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const statements = new Map<string, ReturnType<typeof raw.prepare>>();
  const bulkInsert: BulkInsert = async (table, columns, rows) => {
    if (rows.length === 0) return;
    const key = `${table}(${columns.join(',')})`;
    let stmt = statements.get(key);
    if (!stmt) {
      stmt = raw.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      statements.set(key, stmt);
    }
    const run = stmt;
    raw.transaction(() => {
      for (const row of rows) run.run(row as unknown[]);
    })();
  };
  const check: Check = async (mode) => {
    const started = performance.now();
    const checked = mode === 'full' ? 'PRAGMA integrity_check, PRAGMA foreign_key_check' : 'PRAGMA quick_check';
    let problems: string[];
    try {
      const lines = (raw.pragma(mode === 'full' ? 'integrity_check(20)' : 'quick_check(20)') as Record<string, string>[]).map((r) => Object.values(r)[0]!);
      problems = lines.length === 1 && lines[0] === 'ok' ? [] : lines;
      if (mode === 'full') {
        const orphans = raw.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
        problems.push(...orphans.slice(0, 20).map((o) => `${o.table} row ${o.rowid}: no ${o.parent} row it refers to`));
      }
    } catch (error) {
      // A page too damaged to read stops the check itself (SQLITE_CORRUPT, SQLITE_NOTADB).
      problems = [error instanceof Error ? error.message : String(error)];
    }
    return { ok: problems.length === 0, problems, checked, durationMs: Math.round(performance.now() - started) };
  };
  return makeStore('sqlite', db, location, new SqliteIngestWriter(raw, location.display), bulkInsert, check, async () => {
    await db.destroy();
  });
}

let addon: string | null | undefined;

/**
 * The path of better-sqlite3's compiled addon, or undefined to let it search: without the path it asks the
 * `bindings` package, which captures a stack trace and tries a dozen candidate files (a few ms of every store command).
 */
function sqliteAddon(): string | undefined {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      addon = null; // a Debug or otherwise placed build: better-sqlite3 finds it itself
    }
  }
  return addon ?? undefined;
}

async function openPostgres(location: StoreLocation, timeoutMs: number): Promise<Store> {
  const [{ default: pg }, { PostgresIngestWriter }] = await Promise.all([import('pg'), import('./postgres-writer.js')]);
  // DATE and TIMESTAMPTZ come back as strings, matching SQLite's representation.
  pg.types.setTypeParser(1082, (v: string) => v);
  pg.types.setTypeParser(1184, (v: string) => new Date(v).toISOString());
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const pool = new pg.Pool({
    connectionString: location.target,
    connectionTimeoutMillis: timeoutMs,
    max: 4,
    application_name: 'oracx',
    // The schema is set at connection start-up, so every pooled connection sees it before its first query.
    ...(location.schema ? { options: `-c search_path=${location.schema}` } : {}),
  });
  pool.on('error', () => {
    // Idle-client errors (server restart) surface on the next query; nothing to do here.
  });
  // The pool listens for errors of idle clients only: a connection lost while a client is checked out (mid-query)
  // would be an unhandled 'error' event, i.e. a crash of a long-running process. The query itself fails with it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    await pool.query('select 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new UserError(`cannot connect to PostgreSQL at ${location.display}: ${redact(reason) || 'connection failed'}`, {
      hint: 'check that the server is running and the URL is right',
      cause: error,
    });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await checkOwnStore(db as unknown as Kysely<unknown>, 'postgres', location.display);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw storeError(error, location.display);
  }
  // 500 rows a statement keeps 20 columns well under PostgreSQL's 65,535 bound parameters.
  const bulkInsert: BulkInsert = async (table, columns, rows) => {
    if (rows.length === 0) return;
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values ${sql.join(chunk.map((r) => sql`(${sql.join(r as unknown[])})`))}`.execute(
          tx,
        );
      }
    });
  };
  const check: Check = async () => {
    const started = performance.now();
    await sql`select 1`.execute(db);
    return { ok: true, problems: [], checked: 'connection (PostgreSQL checks its own pages)', durationMs: Math.round(performance.now() - started) };
  };
  return makeStore('postgres', db, location, new PostgresIngestWriter(pool, location.schema), bulkInsert, check, async () => {
    await db.destroy();
  });
}

/** Refuses a database that is not oracx's (see assertOwnStore); `known` migrations are this version's. */
async function checkOwnStore(db: Kysely<unknown>, dialect: Dialect, display: string): Promise<void> {
  assertOwnStore(await inspectStore(db, dialect), Object.keys(migrations(dialect)).sort(), display);
}

function makeStore(
  dialect: Dialect,
  db: Kysely<Database>,
  location: StoreLocation,
  writer: IngestWriter,
  bulkInsert: BulkInsert,
  check: Check,
  close: () => Promise<void>,
): Store {
  const all = () => migrations(dialect);
  return {
    dialect,
    db,
    location: location.display,
    writer,
    async migrate() {
      try {
        const applied = await migrateToLatest(db as unknown as Kysely<unknown>, all(), { dialect, schema: location.schema, display: location.display });
        return { applied };
      } catch (error) {
        const mapped = storeError(error, location.display);
        if (mapped instanceof UserError) throw mapped;
        const name = (error as { migration?: string }).migration;
        const reason = redact(error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error));
        throw new UserError(`migration ${name ?? ''} failed on ${location.display}: ${reason}`.replace('  ', ' '), { cause: error });
      }
    },
    async migrationStatus() {
      const { appliedAt } = await inspectStore(db as unknown as Kysely<unknown>, dialect);
      return Object.keys(all())
        .sort()
        .map((name) => ({ name, applied: name in appliedAt, executedAt: appliedAt[name] ?? null }));
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    bulkInsert,
    check,
    close,
  };
}
