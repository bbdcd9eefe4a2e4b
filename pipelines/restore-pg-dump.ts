/** `db restore` of a pg_dump payload: pg_restore into the schema the archive was dumped from, the old one kept aside until the new one is checked. */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { UserError } from '../src/errors.js';
import { tempNameFor, type Manifest } from '../src/store/backup/format.js';
import { summarize } from '../src/store/backup/logical.js';
import { connectionArgs, contentsWithoutSchema, hasTool, runTool } from '../src/store/backup/pg-tools.js';
import { openPostgresReader, rawPostgres } from '../src/store/backup/readers.js';
import type { StoreLocation } from '../src/store/location.js';
import { PG_LOCK_ID } from '../src/store/migrator.js';
import { assertReplaceable, assertVerified, type RestoreOptions } from './restore.js';

/**
 * A pg_dump archive through pg_restore --single-transaction. pg_restore recreates the objects under the schema name
 * they were dumped from, so the target must use that name. The schema in place is renamed aside first and dropped
 * only once the restore (and --verify) succeeded; on any failure it is renamed back. A crash in between leaves the
 * old tables in `<schema>_replaced_<hex>`, never a half-restored store.
 */
export async function restorePgDump(
  file: string,
  manifest: Manifest,
  location: StoreLocation,
  archive: string,
  temps: string[],
  options: RestoreOptions,
): Promise<{ rows: number }> {
  if (!hasTool('pg_restore'))
    throw new UserError(`${file} is a pg_dump archive and pg_restore is not on PATH`, {
      hint: 'install the PostgreSQL client tools (the same major version as the server or newer)',
    });
  const db = await rawPostgres(location);
  let schema = '';
  const aside = `${(location.schema ?? manifest.schema ?? 'public').slice(0, 40)}_replaced_${randomBytes(4).toString('hex')}`;
  let movedAside = false;
  let created = false;
  try {
    await db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${PG_LOCK_ID})`.execute(tx);
      schema = location.schema ?? (await sql<{ s: string | null }>`select current_schema() as s`.execute(tx)).rows[0]!.s ?? 'public';
      if (schema !== manifest.schema) {
        throw new UserError(
          `${file} is a pg_dump archive of schema "${manifest.schema}"; pg_restore recreates it under that name only, and ${location.display} uses "${schema}"`,
          {
            hint: `restore with ?schema=${manifest.schema} in --store, or make a --format logical backup to restore it anywhere`,
          },
        );
      }
      const exists = (await sql`select 1 from pg_namespace where nspname = ${schema}`.execute(tx)).rows.length > 0;
      if (exists) {
        await assertReplaceable(tx, location, options.force);
        await sql`alter schema ${sql.id(schema)} rename to ${sql.id(aside)}`.execute(tx);
        movedAside = true;
      }
      await sql`create schema ${sql.id(schema)}`.execute(tx);
      created = true;
    });
    const list = tempNameFor(archive, 'toc');
    temps.push(list);
    await writeFile(list, await contentsWithoutSchema(archive));
    const connection = connectionArgs(location.target);
    await runTool(
      'pg_restore',
      ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', `--use-list=${list}`, ...connection.args, archive],
      options.signal,
      connection.env,
    );
    if (options.verify) {
      const reader = await openPostgresReader(location);
      try {
        assertVerified(manifest, await summarize(reader, options.signal), location.display);
      } finally {
        await reader.close();
      }
    }
    if (movedAside) await sql`drop schema ${sql.id(aside)} cascade`.execute(db);
    return { rows: manifest.tables.reduce((n, t) => n + t.rows, 0) };
  } catch (error) {
    if (created || movedAside) {
      await db.transaction().execute(async (tx) => {
        if (created) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(tx);
        if (movedAside) await sql`alter schema ${sql.id(aside)} rename to ${sql.id(schema)}`.execute(tx);
      });
    }
    throw error;
  } finally {
    await db.destroy();
  }
}
