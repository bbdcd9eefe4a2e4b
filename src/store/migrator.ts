/**
 * Applies oracx's migrations. Each migration and its record commit in one transaction, so a process killed at any
 * point leaves a migration either wholly applied and recorded or not there at all (SQLite and PostgreSQL both have
 * transactional DDL). kysely's own Migrator runs SQLite migrations statement by statement outside any transaction,
 * which is how a `kill -9` during set-up used to leave tables without their record.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { UserError } from '../errors.js';
import type { Dialect } from './types.js';

/** kysely's table name, kept: stores migrated by earlier oracx versions (through kysely's Migrator) keep working. */
export const MIGRATION_TABLE = 'kysely_migration';
const OWN_TABLES = new Set([MIGRATION_TABLE, 'kysely_migration_lock']);
/** kysely's advisory lock id for PostgreSQL migrations, kept so an older oracx and this one exclude each other too. */
export const PG_LOCK_ID = sql.lit(3853314791062309107n);

/** What a database holds, as far as migrating it is concerned. */
export interface StoreContents {
  /** Names of the migrations recorded as applied, in the order they were applied. */
  applied: string[];
  /** When each applied migration ran (ISO timestamps), by name. */
  appliedAt: Record<string, string>;
  /** True when the migration table exists. */
  hasMigrationTable: boolean;
  /** Tables and views that are not the migration table's (a handful of names, for messages). */
  otherObjects: string[];
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Reads what the database holds; creates nothing. */
export async function inspectStore(db: Kysely<unknown>, dialect: Dialect): Promise<StoreContents> {
  const objects =
    dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' order by name`.execute(db))
          .rows
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`.execute(db)
        ).rows;
  const names = objects.map((o) => o.name);
  const hasMigrationTable = names.includes(MIGRATION_TABLE);
  const records = hasMigrationTable
    ? (await sql<{ name: string; timestamp: string }>`select name, timestamp from ${sql.table(MIGRATION_TABLE)}`.execute(db)).rows.sort(
        // Code-point order, not localeCompare: ISO timestamps and ASCII names sort the same either way, and the
        // first localeCompare of a process builds ICU's collator (~10 ms of every store command).
        (a, b) => byCodePoint(a.timestamp, b.timestamp) || byCodePoint(a.name, b.name),
      )
    : [];
  return {
    applied: records.map((r) => r.name),
    appliedAt: Object.fromEntries(records.map((r) => [r.name, new Date(r.timestamp).toISOString()])),
    hasMigrationTable,
    otherObjects: names.filter((n) => !OWN_TABLES.has(n)),
  };
}

/**
 * Throws a UserError when the database is not oracx's to migrate: tables without oracx's migration table (someone
 * else's database), or a migration table listing migrations this oracx does not know.
 */
export function assertOwnStore(contents: StoreContents, known: readonly string[], display: string): void {
  if (!contents.hasMigrationTable && contents.otherObjects.length > 0) {
    const shown = contents.otherObjects.slice(0, 5).join(', ') + (contents.otherObjects.length > 5 ? ', …' : '');
    throw new UserError(`${display} is not an oracx store: it holds other tables (${shown}) and no oracx migration record; nothing was changed`, {
      hint: 'pass a new file or an oracx store to --store (PostgreSQL: a schema of its own, e.g. ?schema=oracx)',
    });
  }
  const unknown = contents.applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const ours = contents.applied.includes(known[0]!);
    throw new UserError(
      ours
        ? `${display} was migrated by a newer oracx (migrations this version does not know: ${unknown.join(', ')})`
        : `${display} is not an oracx store: its migration table lists ${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''}; nothing was changed`,
      { hint: ours ? 'upgrade oracx to use this store' : 'pass a new file or an oracx store to --store' },
    );
  }
  contents.applied.forEach((name, i) => {
    if (known[i] !== name)
      throw new UserError(`${display}: migration ${name} is recorded out of order (expected ${known[i]})`, {
        hint: 'the store was changed by hand; restore it from a backup',
      });
  });
}

export interface MigratorOptions {
  dialect: Dialect;
  /** PostgreSQL schema to create (inside the first migration's transaction) when missing. */
  schema?: string;
  /** Printable location, for messages. */
  display: string;
  /**
   * Called inside each migration's transaction, after the migration and before its record: a test hook that
   * simulates a crash between statements.
   */
  beforeRecord?: (name: string) => void | Promise<void>;
}

/** Applies pending migrations in order, each in its own transaction with its record; returns the names applied. */
export async function migrateToLatest(db: Kysely<unknown>, all: Record<string, Migration>, options: MigratorOptions): Promise<string[]> {
  const known = Object.keys(all).sort();
  const applied: string[] = [];
  await db.connection().execute(async (conn) => {
    for (;;) {
      // SQLite: IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so two processes setting up
      // one file take turns instead of one failing on a lock upgrade. PostgreSQL: the advisory lock serialises them.
      await sql.raw(options.dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(conn);
      let name: string | undefined;
      try {
        if (options.dialect === 'postgres') {
          await sql`select pg_advisory_xact_lock(${PG_LOCK_ID})`.execute(conn);
          // Only when missing: CREATE SCHEMA checks the CREATE privilege even when the schema exists.
          const exists = options.schema ? (await sql`select 1 from pg_namespace where nspname = ${options.schema}`.execute(conn)).rows.length > 0 : true;
          if (!exists) await sql`create schema ${sql.id(options.schema!)}`.execute(conn);
        }
        const contents = await inspectStore(conn, options.dialect);
        assertOwnStore(contents, known, options.display);
        name = known[contents.applied.length];
        if (name === undefined) {
          await sql.raw('commit').execute(conn);
          return;
        }
        await sql`create table if not exists ${sql.table(MIGRATION_TABLE)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(
          conn,
        );
        await all[name]!.up(conn);
        await options.beforeRecord?.(name);
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(conn);
        await sql.raw('commit').execute(conn);
        applied.push(name);
      } catch (error) {
        await sql
          .raw('rollback')
          .execute(conn)
          .catch(() => undefined);
        throw name === undefined || error instanceof UserError
          ? error
          : Object.assign(new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error }), { migration: name });
      }
    }
  });
  return applied;
}
