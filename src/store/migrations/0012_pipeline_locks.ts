/**
 * One lease row per pipeline being run: `oracx run` (and a pipeline job) holds it while it runs stages, so two runs of
 * the same pipeline never run stages at once. The holder renews expires_at; a crashed holder's lease lapses.
 * Times are epoch milliseconds (bigint), compared the same way on both dialects.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes } from './dialect.js';

/** Builds the pipeline lease migration for a dialect. */
export function pipelineLocks(dialect: Dialect): Migration {
  const { ts, now } = dialectTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pipeline_locks')
        .addColumn('pipeline', 'text', (c) => c.primaryKey())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('acquired_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('expires_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('pipeline_locks').execute();
    },
  };
}
