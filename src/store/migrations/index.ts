/** The static, ordered list of migrations; names sort in the order they must run. */
import type { Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { initial } from './0001_initial.js';
import { models } from './0002_models.js';
import { tune } from './0003_tune.js';
import { registry } from './0004_registry.js';
import { serving } from './0005_serving.js';
import { feeds } from './0007_feeds.js';
import { pipelines } from './0008_pipelines.js';
import { webhooks } from './0009_webhooks.js';
import { predictionRefresh } from './0010_prediction_refresh.js';
import { trainJobs } from './0011_train_jobs.js';
import { pipelineLocks } from './0012_pipeline_locks.js';

/** Every migration, keyed by name, built for the given dialect. */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': initial(dialect),
    '0002_models': models(dialect),
    '0003_tune': tune(dialect),
    '0004_registry': registry(dialect),
    '0005_serving': serving(dialect),
    '0007_feeds': feeds(dialect),
    '0008_pipelines': pipelines(dialect),
    '0009_webhooks': webhooks(dialect),
    '0010_prediction_refresh': predictionRefresh(dialect),
    '0011_train_jobs': trainJobs(dialect),
    '0012_pipeline_locks': pipelineLocks(dialect),
  };
}

/** The migration names in the order they run (the same for both dialects). */
export function migrationNames(): string[] {
  return Object.keys(migrations('sqlite')).sort();
}
