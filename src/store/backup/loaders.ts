/** Writing rows into a store being restored: SQLite through prepared statements, PostgreSQL in multi-row inserts. */
import { sql, type Transaction } from 'kysely';
import type { RawValue } from './checksum.js';

/** Inserts a batch of one table's rows (values in `columns` order). */
export type Loader = (table: string, columns: readonly string[], rows: RawValue[][]) => Promise<void>;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Loads into an open better-sqlite3 database (the caller holds the transaction). */
export function sqliteLoader(raw: import('better-sqlite3').Database): Loader {
  const statements = new Map<string, import('better-sqlite3').Statement>();
  return async (table, columns, rows) => {
    const key = `${table}(${columns.join(',')})`;
    let stmt = statements.get(key);
    if (!stmt) {
      stmt = raw.prepare(`insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      statements.set(key, stmt);
    }
    for (const row of rows) stmt.run(row);
  };
}

/** Loads into PostgreSQL inside `tx`, keeping each statement under the 65,535 bound-parameter limit. */
export function postgresLoader(tx: Transaction<unknown>): Loader {
  return async (table, columns, rows) => {
    const per = Math.max(1, Math.floor(30000 / Math.max(1, columns.length)));
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) values ${sql.join(chunk.map((r) => sql`(${sql.join(r)})`))}`.execute(
        tx,
      );
    }
  };
}

/** Moves every serial sequence of the current schema past the largest id restored. */
export async function resetSequences(tx: Transaction<unknown>): Promise<void> {
  const serials = (
    await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and column_default like 'nextval(%'`.execute(tx)
  ).rows;
  for (const { table_name: t, column_name: c } of serials) {
    await sql`select setval(pg_get_serial_sequence(${quote(t)}, ${c}), coalesce((select max(${sql.ref(c)}) from ${sql.table(t)}), 0) + 1, false)`.execute(tx);
  }
}
