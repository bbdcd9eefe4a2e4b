/** Every subcommand, in help order. Specs only: handlers import their pipelines lazily. */
import type { CommandDef, GroupDef } from '../src/command.js';
import { collectFootballData } from './collect.js';
import { backfillFootballData } from './backfill.js';
import { workerCommand } from './worker.js';
import { jobsList, jobsPurge, jobsRetry, jobsShow } from './jobs.js';
import { collectFeed } from './feed.js';
import { teamsAlias } from './teams.js';
import { dataReport } from './data.js';
import { dbCheck, dbMigrate, dbStatus } from './db.js';
import { dbBackup, dbRestore, dbVerify } from './db-backup.js';
import { exportCommand } from './export.js';
import { matchesList } from './matches.js';
import { evaluateCommand } from './evaluate.js';
import { featuresBuild, featuresList, featuresShow } from './features.js';
import { trainCommand } from './train.js';
import { tuneCommand } from './tune.js';
import { registerCommand } from './register.js';
import { runCommand } from './run.js';
import { scheduleAdd, scheduleList, scheduleRemove, scheduleRun } from './schedule.js';
import { modelsList, modelsPromote, modelsPull, modelsRollback, modelsShow } from './models.js';
import { mlflowSync } from './mlflow.js';
import { predictCommand } from './predict.js';
import { predictionsRefresh } from './predictions.js';
import { serveCommand } from './serve.js';
import { authAudit, authKeysCreate, authKeysList, authKeysRevoke, authKeysRotate } from './auth.js';
import { authTokensIssue, authTokensRotateKey } from './auth-tokens.js';
import { authUsersDelete, authUsersExport } from './auth-users.js';
import { webhooksAdd, webhooksDeliver, webhooksDeliveries, webhooksList, webhooksRedeliver, webhooksRemove } from './webhooks.js';

export const GROUPS: readonly GroupDef[] = [
  { name: 'collect', description: 'ingest match results and bookmaker odds' },
  { name: 'backfill', description: 'collect many files, in-process or spread over workers (--distributed)' },
  { name: 'jobs', description: 'queued jobs (BullMQ on Redis): list, show, retry, purge' },
  { name: 'matches', description: 'browse matches in the store' },
  { name: 'teams', description: 'teams and the other names sources give them' },
  { name: 'data', description: 'data quality' },
  { name: 'features', description: 'point-in-time feature sets (the feature store)' },
  { name: 'schedule', description: 'cron schedules of oracx run, kept in Redis and run by oracx worker --queues pipeline' },
  { name: 'models', description: 'the model registry: versions, aliases, promotion and rollback' },
  { name: 'mlflow', description: 'MLflow tracking' },
  { name: 'auth', description: 'API keys, tokens and users of the prediction service' },
  { name: 'auth keys', description: 'API keys: create (shown once), list, revoke, rotate' },
  { name: 'auth tokens', description: 'JWTs oracx signs itself: issue (shown once), rotate-key' },
  { name: 'auth users', description: 'what is stored about a user: export, delete (GDPR)' },
  { name: 'webhooks', description: 'signed HTTP callbacks for events (match_finished, prediction_updated): subscriptions, deliveries' },
  { name: 'predictions', description: 'stored predictions: refresh them after results (prediction_updated)' },
  { name: 'db', description: 'store schema, migrations, backup and restore' },
];

// Each command keeps its own options type; the registry only needs the common shape.
export const COMMANDS: readonly CommandDef<never>[] = [
  collectFootballData,
  collectFeed,
  backfillFootballData,
  workerCommand,
  jobsList,
  jobsShow,
  jobsRetry,
  jobsPurge,
  teamsAlias,
  matchesList,
  dataReport,
  exportCommand,
  featuresList,
  featuresShow,
  featuresBuild,
  trainCommand,
  evaluateCommand,
  tuneCommand,
  registerCommand,
  modelsList,
  modelsShow,
  modelsPromote,
  modelsRollback,
  modelsPull,
  runCommand,
  scheduleAdd,
  scheduleList,
  scheduleRemove,
  scheduleRun,
  predictCommand,
  predictionsRefresh,
  serveCommand,
  authKeysCreate,
  authKeysList,
  authKeysRevoke,
  authKeysRotate,
  authTokensIssue,
  authTokensRotateKey,
  authUsersExport,
  authUsersDelete,
  authAudit,
  webhooksAdd,
  webhooksList,
  webhooksRemove,
  webhooksDeliveries,
  webhooksRedeliver,
  webhooksDeliver,
  mlflowSync,
  dbMigrate,
  dbStatus,
  dbCheck,
  dbBackup,
  dbRestore,
  dbVerify,
] as readonly CommandDef<never>[];
