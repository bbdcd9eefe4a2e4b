/**
 * The local model registry (registered models, versions, aliases, an audit of every alias change) and the MLflow
 * spool: tracking data of runs waiting to be replayed to an MLflow server.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the fourth migration for a dialect. */
export function registry(dialect: Dialect): Migration {
  const { id, ref, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('registered_models')
        .addColumn('id', id, key)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();

      // One row per registered version; `source` is the folder holding model.onnx, model.json and MLmodel.
      await db.schema
        .createTable('registry_versions')
        .addColumn('id', id, key)
        .addColumn('model_id', ref, (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('run_id', ref, (c) => c.notNull().references('training_runs.id'))
        .addColumn('model_kind', 'text', (c) => c.notNull())
        .addColumn('feature_set', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('mlflow_run_id', 'text')
        /** JSON: figures measured at registration (train metrics, ONNX parity, quantisation decision). */
        .addColumn('metrics', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint('registry_versions_model_version', ['model_id', 'version'])
        .execute();

      await db.schema
        .createTable('registry_aliases')
        .addColumn('model_id', ref, (c) => c.notNull().references('registered_models.id').onDelete('cascade'))
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('registry_aliases_pk', ['model_id', 'alias'])
        .execute();

      // Who moved which alias from which version to which, when, on which backend and with what figures. Kept for
      // both backends: it is also the history `models rollback` walks back.
      await db.schema
        .createTable('registry_audit')
        .addColumn('id', id, key)
        .addColumn('model_name', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('register', 'promote', 'rollback', 'set-alias', 'delete-alias')`))
        .addColumn('alias', 'text')
        .addColumn('from_version', 'integer')
        .addColumn('to_version', 'integer')
        .addColumn('backend', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        /** JSON: gate figures of challenger and champion, the gate expressions, the evaluation window. */
        .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex('registry_audit_model_alias').on('registry_audit').columns(['model_name', 'alias', 'id']).execute();

      // A run's tracking data, written before any call to MLflow and replayed by `oracx mlflow sync` until synced.
      await db.schema
        .createTable('mlflow_spool')
        .addColumn('id', id, key)
        .addColumn('run_key', 'text', (c) => c.notNull().unique())
        .addColumn('training_run_id', ref, (c) => c.references('training_runs.id').onDelete('cascade'))
        .addColumn('experiment', 'text', (c) => c.notNull())
        /** JSON: run name, start/end times, status, params, tags, metrics with timestamps and steps, dataset inputs. */
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('artifact_dir', 'text')
        .addColumn('mlflow_run_id', 'text')
        .addColumn('stage', 'text', (c) => c.notNull().check(sql`stage in ('pending', 'created', 'logged', 'uploaded', 'synced')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('synced_at', ts)
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['mlflow_spool', 'registry_audit', 'registry_aliases', 'registry_versions', 'registered_models']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
