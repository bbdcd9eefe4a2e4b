/**
 * Which training run a queued `train` job started: a job retried after its worker died finds the run of its
 * earlier attempt (ended, so nothing is trained twice; or left running, so it is marked failed before a new fit).
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes } from './dialect.js';

/** Builds the train-jobs migration for a dialect. */
export function trainJobs(dialect: Dialect): Migration {
  const { ref, ts, now } = dialectTypes(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('train_jobs')
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('run_id', ref, (c) => c.notNull().references('training_runs.id').onDelete('cascade'))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('train_jobs_pk', ['job_id', 'run_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('train_jobs').execute();
    },
  };
}
