/** Hyperparameter studies and their trials, shared by every `oracx tune` process on the same store. */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the third migration for a dialect. */
export function tune(dialect: Dialect): Migration {
  const { id, ref, real, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tune_studies')
        .addColumn('id', id, key)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('feature_set', 'text', (c) => c.notNull())
        .addColumn('sampler', 'text', (c) => c.notNull())
        /** JSON: competitions, seasons, walk-forward, fixed params, search space: a study is one question. */
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema
        .createTable('tune_trials')
        .addColumn('id', id, key)
        .addColumn('study_id', ref, (c) => c.notNull().references('tune_studies.id').onDelete('cascade'))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('waiting', 'running', 'complete', 'pruned', 'failed')`))
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('value', real)
        /** JSON array: running mean RPS after each fold (what the pruner compares). */
        .addColumn('intermediate', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('worker', 'text')
        .addColumn('error', 'text')
        .addColumn('started_at', ts)
        .addColumn('heartbeat_at', ts)
        .addColumn('finished_at', ts)
        .addUniqueConstraint('tune_trials_number', ['study_id', 'number'])
        .execute();
      await db.schema.createIndex('tune_trials_status').on('tune_trials').columns(['study_id', 'status']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('tune_trials').execute();
      await db.schema.dropTable('tune_studies').execute();
    },
  };
}
