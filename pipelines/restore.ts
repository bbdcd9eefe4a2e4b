/**
 * `db restore`: a `.oracx` backup into a store, all or nothing. SQLite targets are built in a temporary file next to
 * the store, checked, then copied over the store with SQLite's backup API (one write transaction, so other
 * connections see the old store or the new one). PostgreSQL targets are rebuilt in one transaction (schema from the
 * backup's migrations, rows, sequences, verification), so a failure leaves the store as it was.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Kysely, sql, SqliteDialect, type Transaction } from 'kysely';
import { Interrupted, UserError } from '../src/errors.js';
import { compareSummaries, type TableSummary } from '../src/store/backup/checksum.js';
import { BadBackup, extractPayload, payloadStream, readBackupHeader, tempNameFor, type Manifest } from '../src/store/backup/format.js';
import { postgresLoader, resetSequences, sqliteLoader, type Loader } from '../src/store/backup/loaders.js';
import { readLogical, summarize } from '../src/store/backup/logical.js';
import { openSqliteReader, postgresRows, postgresTables, rawPostgres, sqliteTables } from '../src/store/backup/readers.js';
import { openStore } from '../src/store/connect.js';
import { parseStoreLocation, type StoreLocation } from '../src/store/location.js';
import { migrations as allMigrations, migrationNames } from '../src/store/migrations/index.js';
import { MIGRATION_TABLE, migrateToLatest, PG_LOCK_ID } from '../src/store/migrator.js';
import { VerifyFailed } from './backup.js';
import { restorePgDump } from './restore-pg-dump.js';

export interface RestoreOptions {
  store: string;
  cwd: string;
  from: string;
  /** Compare every table's rows and checksum with the manifest before the restore is committed. */
  verify?: boolean;
  /** Replace a store that holds data. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface RestoreResult {
  store: string;
  manifest: Manifest;
  rows: number;
  verified: boolean;
  /** Migrations newer than the backup, applied after the restore. */
  migrated: string[];
}

/** The backup's migrations must be this oracx's first ones, in order. */
function assertKnownMigrations(manifest: Manifest, file: string): string[] {
  const known = migrationNames();
  const names = manifest.migrations.map((m) => m.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0)
    throw new UserError(`${file} was made by a newer oracx (${manifest.oracx}): migrations ${unknown.join(', ')} are unknown here`, {
      hint: 'upgrade oracx to restore it',
    });
  names.forEach((n, i) => {
    if (known[i] !== n) throw new BadBackup(file, `its migrations are out of order (${n} where ${known[i]} was expected)`);
  });
  return names;
}

/** Rows held by each of oracx's tables in a SQLite file (empty when the file does not exist). */
function sqliteRowCounts(file: string): Promise<Map<string, number>> {
  return (async () => {
    const counts = new Map<string, number>();
    if (!existsSync(file)) return counts;
    const reader = await openSqliteReader(file);
    try {
      const tables = await reader.tables();
      if (tables.length > 0 && (await reader.migrations()).length === 0)
        throw new UserError(`${file} is not an oracx store; nothing was restored`, { hint: 'restore into a new file or an oracx store' });
      const { default: SqliteDatabase } = await import('better-sqlite3');
      const raw = new SqliteDatabase(file, { readonly: true });
      try {
        for (const t of tables) counts.set(t.name, (raw.prepare(`select count(*) as n from "${t.name}"`).get() as { n: number }).n);
      } finally {
        raw.close();
      }
    } finally {
      await reader.close();
    }
    return counts;
  })();
}

function refuseNonEmpty(counts: Map<string, number>, display: string, force: boolean | undefined): void {
  const full = [...counts].filter(([, n]) => n > 0);
  if (full.length > 0 && !force) {
    throw new UserError(
      `${display} already holds data (${full
        .slice(0, 3)
        .map(([t, n]) => `${t}: ${n} rows`)
        .join(', ')}${full.length > 3 ? ', …' : ''}); nothing was restored`,
      {
        hint: 'pass --force to replace it, or restore into a new store',
      },
    );
  }
}

/** Feeds every row of the backup's payload to `load`; returns the number of rows. */
async function feedRows(
  file: string,
  manifest: Manifest,
  payloadOffset: number,
  extracted: string | null,
  load: Loader,
  signal?: AbortSignal,
): Promise<number> {
  let rows = 0;
  const counted: Loader = async (table, columns, batch) => {
    rows += batch.length;
    try {
      await load(table, columns, batch);
    } catch (error) {
      throw new UserError(`restoring table ${table}: ${(error as Error).message}; nothing was restored`, { cause: error });
    }
  };
  if (manifest.payload === 'logical') {
    try {
      await readLogical(payloadStream(file, payloadOffset), counted, { signal });
    } catch (error) {
      if (error instanceof UserError || error instanceof Interrupted) throw error;
      throw new BadBackup(file, (error as Error).message);
    }
    return rows;
  }
  const reader = await openSqliteReader(extracted!);
  try {
    for (const table of await reader.tables()) for await (const batch of reader.rows(table, 1000)) await counted(table.name, table.columns, batch);
  } finally {
    await reader.close();
  }
  return rows;
}

/** Restores a backup file into the store; refuses a store holding data unless `force`. */
export async function restoreStore(options: RestoreOptions): Promise<RestoreResult> {
  const file = path.resolve(options.cwd, options.from);
  const header = await readBackupHeader(file);
  const { manifest } = header;
  const names = assertKnownMigrations(manifest, file);
  const location = parseStoreLocation(options.store, options.cwd);
  if (location.target === ':memory:') throw new UserError('cannot restore into :memory:', { hint: 'pass a file or a PostgreSQL URL to --store' });
  if (location.dialect === 'sqlite' && !existsSync(path.dirname(location.target))) {
    throw new UserError(`cannot restore into ${location.display}: folder ${path.dirname(location.target)} does not exist`, {
      hint: 'create the folder or pass another --store path',
    });
  }
  // The whole payload is checked against its sha256 before anything is written.
  const temps: string[] = [];
  let extracted: string | null = null;
  // SQLite: next to the store (the finished file is renamed into place); PostgreSQL: the system's temp folder (the
  // backup's own folder may be read-only).
  const tempBeside = location.dialect === 'sqlite' ? location.target : path.join(tmpdir(), path.basename(file));
  try {
    if (manifest.payload === 'pg_dump' && location.dialect !== 'postgres') {
      throw new UserError(`${file} is a pg_dump archive: it restores into PostgreSQL only`, {
        hint: 'make the backup with --format logical to restore it into SQLite',
      });
    }
    if (manifest.payload !== 'logical') {
      extracted = tempNameFor(tempBeside, 'restore');
      temps.push(extracted);
      await extractPayload(file, header, extracted);
    } else await extractPayload(file, header, null);
    const result =
      location.dialect === 'sqlite'
        ? await restoreSqlite(file, header.payloadOffset, manifest, names, location, extracted, temps, options)
        : manifest.payload === 'pg_dump'
          ? await restorePgDump(file, manifest, location, extracted!, temps, options)
          : await restorePostgres(file, header.payloadOffset, manifest, location, extracted, options);
    // A backup from an older oracx: the store is brought up to date, as any command would.
    const store = await openStore(options.store, { cwd: options.cwd });
    let migrated: string[];
    try {
      migrated = (await store.migrate()).applied;
    } finally {
      await store.close();
    }
    return { store: location.display, manifest, rows: result.rows, verified: options.verify === true, migrated };
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
}

/** Throws VerifyFailed when the restored tables differ from the manifest. */
export function assertVerified(manifest: Manifest, tables: TableSummary[], display: string): void {
  const mismatches = compareSummaries(manifest.tables, tables);
  if (mismatches.length > 0) throw new VerifyFailed(`restored data differs from the backup; ${display} was left as it was`, mismatches);
}

async function restoreSqlite(
  file: string,
  payloadOffset: number,
  manifest: Manifest,
  names: string[],
  location: StoreLocation,
  extracted: string | null,
  temps: string[],
  options: RestoreOptions,
): Promise<{ rows: number }> {
  refuseNonEmpty(await sqliteRowCounts(location.target), location.display, options.force);
  const { default: SqliteDatabase } = await import('better-sqlite3');
  let built: string;
  let rows: number;
  if (manifest.payload === 'sqlite') {
    built = extracted!;
    rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  } else {
    // Logical rows (from any dialect) go into a fresh file with the backup's schema, in one transaction.
    built = tempNameFor(location.target, 'restore');
    temps.push(built);
    const raw = new SqliteDatabase(built);
    try {
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
      const subset = Object.fromEntries(names.map((n) => [n, allMigrations('sqlite')[n]!]));
      await migrateToLatest(db, subset, { dialect: 'sqlite', display: location.display });
      raw.exec('begin');
      raw.pragma('defer_foreign_keys = on');
      rows = await feedRows(file, manifest, payloadOffset, extracted, sqliteLoader(raw), options.signal);
      const stamp = raw.prepare(`update ${MIGRATION_TABLE} set timestamp = ? where name = ?`);
      for (const m of manifest.migrations) stamp.run(m.appliedAt, m.name);
      try {
        raw.exec('commit');
      } catch (error) {
        throw new BadBackup(file, `its rows break the store's constraints (${(error as Error).message})`);
      }
    } catch (error) {
      if (raw.inTransaction) raw.exec('rollback');
      throw error;
    } finally {
      raw.close();
    }
  }
  const check = new SqliteDatabase(built, { readonly: true });
  try {
    const lines = (check.pragma('quick_check') as Record<string, string>[]).map((r) => Object.values(r)[0]);
    if (lines.join() !== 'ok') throw new BadBackup(file, `the restored database fails SQLite's quick_check (${lines[0]})`);
    if (
      manifest.payload === 'sqlite' &&
      (sqliteTables(check).length === 0 || check.prepare(`select 1 from sqlite_master where name = ?`).get(MIGRATION_TABLE) === undefined)
    ) {
      throw new BadBackup(file, 'its database holds no oracx store');
    }
  } finally {
    check.close();
  }
  if (options.verify) {
    const reader = await openSqliteReader(built);
    try {
      assertVerified(manifest, await summarize(reader, options.signal), location.display);
    } finally {
      await reader.close();
    }
  }
  if (!existsSync(location.target)) {
    // A -wal/-shm left by a deleted store would be replayed into the new file: they go first.
    await rm(`${location.target}-wal`, { force: true });
    await rm(`${location.target}-shm`, { force: true });
    await rename(built, location.target);
    return { rows };
  }
  // Over an existing store: SQLite copies every page in one write transaction on the target.
  const source = new SqliteDatabase(built, { readonly: true });
  try {
    await source.backup(location.target, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  return { rows };
}

async function restorePostgres(
  file: string,
  payloadOffset: number,
  manifest: Manifest,
  location: StoreLocation,
  extracted: string | null,
  options: RestoreOptions,
): Promise<{ rows: number }> {
  const db = await rawPostgres(location);
  try {
    return await db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${PG_LOCK_ID})`.execute(tx);
      if (location.schema) await sql`create schema if not exists ${sql.id(location.schema)}`.execute(tx);
      await assertReplaceable(tx, location, options.force);
      const existing = await postgresTables(tx);
      // Replaced wholesale: the backup's schema, not a merge into the current one.
      for (const t of [...existing].reverse()) await sql`drop table if exists ${sql.table(t.name)} cascade`.execute(tx);
      await sql`drop table if exists ${sql.table(MIGRATION_TABLE)}`.execute(tx);
      await sql`create table ${sql.table(MIGRATION_TABLE)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(tx);
      const all = allMigrations('postgres');
      for (const m of manifest.migrations) {
        await all[m.name]!.up(tx);
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${m.name}, ${m.appliedAt})`.execute(tx);
      }
      const rows = await feedRows(file, manifest, payloadOffset, extracted, postgresLoader(tx), options.signal);
      await resetSequences(tx);
      if (options.verify) assertVerified(manifest, await summarizeTx(tx), location.display);
      return { rows };
    });
  } finally {
    await db.destroy();
  }
}

/** Refuses a schema holding tables but no oracx migration record, or data when not forced. */
export async function assertReplaceable(tx: Transaction<unknown>, location: StoreLocation, force: boolean | undefined): Promise<void> {
  const existing = await postgresTables(tx);
  const migrated =
    (
      await sql<{
        n: string;
      }>`select count(*) as n from information_schema.tables where table_schema = current_schema() and table_name = ${MIGRATION_TABLE}`.execute(tx)
    ).rows[0]!.n !== '0';
  if (existing.length > 0 && !migrated)
    throw new UserError(`${location.display} is not an oracx store; nothing was restored`, { hint: 'restore into an empty schema (?schema=name)' });
  const counts = new Map<string, number>();
  for (const t of existing) counts.set(t.name, Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(t.name)}`.execute(tx)).rows[0]!.n));
  refuseNonEmpty(counts, location.display, force);
}

/** Counts and checksums read inside the restore's own transaction (before it commits). */
async function summarizeTx(tx: Transaction<unknown>): Promise<TableSummary[]> {
  const { TableChecksum } = await import('../src/store/backup/checksum.js');
  const out: TableSummary[] = [];
  for (const table of await postgresTables(tx)) {
    const sum = new TableChecksum();
    for await (const batch of postgresRows(tx, table)) for (const row of batch) sum.add(row);
    out.push({ name: table.name, rows: sum.rows, checksum: sum.digest() });
  }
  return out;
}
