/** Column types that differ between SQLite and PostgreSQL, for migrations. */
import { sql, type ColumnDefinitionBuilder, type RawBuilder } from 'kysely';
import type { Dialect } from '../types.js';

export interface DialectTypes {
  pg: boolean;
  id: 'bigserial' | 'integer';
  ref: 'bigint' | 'integer';
  real: 'double precision' | 'real';
  date: 'date' | 'text';
  ts: 'timestamptz' | 'text';
  now: RawBuilder<unknown>;
}

/** Column builder for an id primary key: bigserial in PostgreSQL, AUTOINCREMENT integer in SQLite. */
export function primaryId(dialect: Dialect): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
}

/** The column types a dialect uses. */
export function dialectTypes(dialect: Dialect): DialectTypes {
  const pg = dialect === 'postgres';
  return {
    pg,
    id: pg ? 'bigserial' : 'integer',
    ref: pg ? 'bigint' : 'integer',
    real: pg ? 'double precision' : 'real',
    date: pg ? 'date' : 'text',
    ts: pg ? 'timestamptz' : 'text',
    now: pg ? sql`now()` : sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`,
  };
}
