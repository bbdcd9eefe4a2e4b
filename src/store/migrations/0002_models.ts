/** Feature sets and their materialised values, training runs with per-epoch logs, and model versions. */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the second migration for a dialect. */
export function models(dialect: Dialect): Migration {
  const { id, ref, real, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('feature_sets')
        .addColumn('id', id, key)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('definition_hash', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('feature_names', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint('feature_sets_name_version', ['name', 'version'])
        .execute();

      // One row per (feature set, match): the vector as a JSON array, in feature_sets.feature_names order.
      await db.schema
        .createTable('feature_values')
        .addColumn('feature_set_id', ref, (c) => c.notNull().references('feature_sets.id').onDelete('cascade'))
        .addColumn('match_id', ref, (c) => c.notNull().references('matches.id').onDelete('cascade'))
        .addColumn('vals', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('feature_values_pk', ['feature_set_id', 'match_id'])
        .execute();

      await db.schema
        .createTable('training_runs')
        .addColumn('id', id, key)
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('feature_set', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('seed', 'integer', (c) => c.notNull())
        .addColumn('competitions', 'text', (c) => c.notNull())
        .addColumn('train_from', 'text')
        .addColumn('train_until', 'text')
        .addColumn('n_matches', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('data_hash', 'text')
        .addColumn('code_version', 'text')
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'completed', 'failed', 'interrupted')`))
        .addColumn('metrics', 'text')
        .addColumn('artifact_path', 'text')
        .addColumn('error', 'text')
        .addColumn('started_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('finished_at', ts)
        .execute();

      await db.schema
        .createTable('training_logs')
        .addColumn('run_id', ref, (c) => c.notNull().references('training_runs.id').onDelete('cascade'))
        .addColumn('epoch', 'integer', (c) => c.notNull())
        .addColumn('loss', real, (c) => c.notNull())
        .addColumn('val_loss', real)
        .addColumn('logged_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('training_logs_pk', ['run_id', 'epoch'])
        .execute();

      await db.schema
        .createTable('model_versions')
        .addColumn('id', id, key)
        .addColumn('run_id', ref, (c) => c.notNull().unique().references('training_runs.id'))
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('feature_set', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('staged', 'production', 'archived')`))
        .addColumn('artifact_path', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['model_versions', 'training_logs', 'training_runs', 'feature_values', 'feature_sets']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
