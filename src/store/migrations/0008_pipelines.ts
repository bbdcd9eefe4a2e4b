/**
 * What `oracx run` keeps: one pipeline_runs row per invocation and one stage_runs row per stage it considered (run,
 * skipped or failed), with the hash of the stage's inputs. A stage is skipped when its input hash equals that of its
 * last succeeded run, whose outputs (e.g. the training run id) are then reused downstream.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the pipelines migration for a dialect. */
export function pipelines(dialect: Dialect): Migration {
  const { id, ref, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pipeline_runs')
        .addColumn('id', id, key)
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('code_version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'succeeded', 'failed', 'gate_failed')`))
        .addColumn('error', 'text')
        .addColumn('started_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('finished_at', ts)
        .execute();
      await db.schema
        .createTable('stage_runs')
        .addColumn('id', id, key)
        .addColumn('pipeline_run_id', ref, (c) => c.notNull().references('pipeline_runs.id').onDelete('cascade'))
        .addColumn('pipeline', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('input_hash', 'text', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('outputs', 'text')
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'succeeded', 'skipped', 'failed', 'gate_failed')`))
        .addColumn('error', 'text')
        .addColumn('started_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('finished_at', ts)
        .addColumn('duration_ms', 'integer')
        .execute();
      // The skip check reads the last succeeded run of one stage.
      await db.schema.createIndex('stage_runs_stage').on('stage_runs').columns(['pipeline', 'stage', 'status', 'id']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('stage_runs').execute();
      await db.schema.dropTable('pipeline_runs').execute();
    },
  };
}
