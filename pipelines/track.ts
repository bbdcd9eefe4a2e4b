/**
 * MLflow tracking of training runs: the run is spooled in the store first, then synced; when the server cannot be
 * reached the run stays spooled for `oracx mlflow sync` and training still succeeds.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MlflowClient } from '../src/mlflow/client.js';
import { MlflowError, MlflowUnreachable } from '../src/mlflow/errors.js';
import { spoolRun, type SpoolPayload } from '../src/tracking/spool.js';
import { epochMetrics, trainingDataset, trainingRunName, trainingRunRef, trainingTags, windowParams } from './track-train.js';
import type { Store } from '../src/store/connect.js';
import type { ExperimentTarget } from '../src/mlflow/types.js';
import { syncSpool } from './mlflow-sync.js';
import type { TrainResult } from './train.js';
import { mlflowClient, type OpenContext } from '../src/registry/open.js';

/**
 * The MLflow experiment runs go to: MLFLOW_EXPERIMENT_NAME and/or MLFLOW_EXPERIMENT_ID (resolved as MLflow does, see
 * resolveExperiment), else the experiment named "oracx".
 */
export function experimentTarget(env: NodeJS.ProcessEnv = process.env): ExperimentTarget {
  const name = env.MLFLOW_EXPERIMENT_NAME?.trim();
  const id = env.MLFLOW_EXPERIMENT_ID?.trim();
  if (!name && !id) return { name: 'oracx' };
  return { ...(name ? { name } : {}), ...(id ? { id } : {}) };
}

/**
 * Before a command does its work: when MLflow is configured and MLFLOW_EXPERIMENT_ID is set, checks the experiment it
 * names exists (a UserError when it does not, so nothing is trained, spooled or logged elsewhere). An unreachable
 * server is no error here: the run is spooled and the sync checks the experiment again.
 */
export async function checkExperiment(ctx: OpenContext): Promise<void> {
  const target = experimentTarget(ctx.env);
  if (target.id === undefined) return;
  const client = await mlflowClient(ctx, { quick: true });
  if (!client) return;
  try {
    await client.resolveExperiment(target);
  } catch (error) {
    // The server is down or overloaded: the run is spooled as when the server is unreachable.
    if (error instanceof MlflowUnreachable || (error instanceof MlflowError && error.status !== undefined && (error.status >= 500 || error.status === 429)))
      return;
    throw error;
  }
}

/**
 * Params, tags, per-epoch metrics and the training dataset of a finished training run, as MLflow will hold them;
 * `shared` when its start was logged as a RUNNING run (see track-train.ts) that this entry ends.
 */
export function trainingPayload(r: TrainResult, options: { storeLocation: string; cwd: string; shared?: boolean }): SpoolPayload {
  const end = r.startedAt + r.durationMs;
  const metrics = epochMetrics(r.epochLogs);
  for (const [key, value] of Object.entries(r.trainMetrics))
    metrics.push({ key: `train_${key === 'logLoss' ? 'log_loss' : key}`, value, timestamp: end, step: 0 });
  const params = windowParams(r);
  for (const [key, value] of Object.entries(r.params)) params[`model.${key}`] = String(value);
  // A chosen value sits where a pinned one would (model.l2 stays numeric and comparable across runs); model.l2_auto
  // says it was chosen (validation or fallback) and the oracx.auto.l2 tag says how.
  const autoTags: Record<string, string> = {};
  for (const [key, choice] of Object.entries(r.auto ?? {})) {
    params[`model.${key}`] = String(choice.value);
    params[`model.${key}_auto`] = choice.method;
    autoTags[`oracx.auto.${key}`] = choice.summary.slice(0, 5000);
  }
  return {
    runName: trainingRunName(r),
    startTime: r.startedAt,
    endTime: end,
    status: 'FINISHED',
    params,
    tags: { ...trainingTags(r, options), ...autoTags },
    metrics,
    inputs: [trainingDataset(r, options)],
    ...(options.shared ? { sharedRun: trainingRunRef(r.runId, options.storeLocation) } : {}),
  };
}

export interface TrackOutcome {
  spoolId: number;
  mlflowRunId: string | null;
  /** Why the run is still spooled, when it is. */
  error?: string;
}

/** Spools a run's payload and tries to sync it at once. Never throws for MLflow trouble: it reports it. */
export async function trackPayload(
  store: Store,
  client: MlflowClient,
  input: {
    trainingRunId: number | null;
    payload: SpoolPayload;
    artifactDir: string | null;
    experiment: ExperimentTarget;
    signal?: AbortSignal;
    /** Spooled entries to sync first, still pending (e.g. the parent run this one nests under). */
    before?: readonly number[];
    /** Spooled entries this one holds all of, dropped unless synced (see spoolRun). */
    supersedes?: readonly number[];
  },
): Promise<TrackOutcome> {
  const { trainingRunId, experiment, payload, artifactDir, supersedes } = input;
  const entry = await spoolRun(store, { trainingRunId, experiment, payload, artifactDir, supersedes });
  try {
    const report = await syncSpool(store, client, { ids: [...(input.before ?? []), entry.id], signal: input.signal });
    const done = report.synced.find((r) => r.spoolId === entry.id);
    if (done) return { spoolId: entry.id, mlflowRunId: done.mlflowRunId };
    const failed = report.failed.find((r) => r.spoolId === entry.id);
    return { spoolId: entry.id, mlflowRunId: failed?.mlflowRunId ?? null, error: failed?.error ?? 'interrupted' };
  } catch (error) {
    if (error instanceof MlflowError) return { spoolId: entry.id, mlflowRunId: null, error: error.message };
    throw error;
  }
}

/** Spools a training run recorded earlier (e.g. trained without MLflow) from the store and its metadata.json. */
export async function spoolStoredRun(store: Store, runId: number, options: { experiment: ExperimentTarget; cwd: string }): Promise<number> {
  const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (run?.status !== 'completed' || !run.artifact_path) throw new Error(`training run ${runId} is not a completed run with artifacts`);
  const logs = await store.db.selectFrom('training_logs').selectAll().where('run_id', '=', runId).orderBy('epoch').execute();
  const meta = JSON.parse(await readFile(path.join(run.artifact_path, 'metadata.json'), 'utf8')) as { featureNames?: string[]; auto?: TrainResult['auto'] };
  const time = (t: unknown) => (t instanceof Date ? t.getTime() : Date.parse(String(t)));
  const startedAt = time(run.started_at);
  const result: TrainResult = {
    runId,
    modelVersionId: 0,
    model: run.model,
    featureSet: run.feature_set,
    params: JSON.parse(run.params) as TrainResult['params'],
    auto: meta.auto ?? {},
    warnings: [],
    notes: [],
    seed: run.seed,
    nMatches: run.n_matches,
    trainFrom: run.train_from ?? '',
    trainUntil: run.train_until ?? '',
    dataHash: run.data_hash ?? '',
    artifactPath: run.artifact_path,
    epochs: logs.length,
    epochLogs: logs.map((l) => ({ epoch: l.epoch, loss: l.loss, ...(l.val_loss === null ? {} : { valLoss: l.val_loss }), timestamp: time(l.logged_at) })),
    startedAt,
    featureNames: meta.featureNames ?? [],
    competitions: run.competitions.split(',').filter((c) => c !== ''),
    trainMetrics: JSON.parse(run.metrics ?? '{}') as TrainResult['trainMetrics'],
    durationMs: Math.max(0, (run.finished_at ? time(run.finished_at) : startedAt) - startedAt),
  };
  const entry = await spoolRun(store, {
    trainingRunId: runId,
    experiment: options.experiment,
    payload: trainingPayload(result, { storeLocation: store.location, cwd: options.cwd }),
    artifactDir: run.artifact_path,
  });
  return entry.id;
}

/**
 * Logs one run (a training run, an evaluation) to MLflow when MLFLOW_TRACKING_URI is set: spooled first, synced at
 * once, left spooled with a warning when the server cannot be reached. `what` names it in messages ("run 12").
 * Returns the MLflow run id, or null (not configured, or spooled).
 */
export async function logToMlflow(
  ctx: OpenContext,
  store: Store,
  what: string,
  input: { trainingRunId: number | null; payload: () => SpoolPayload | Promise<SpoolPayload>; artifactDir: string | null },
): Promise<string | null> {
  const client = await mlflowClient(ctx, { quick: true });
  if (!client) return null;
  const outcome = await trackPayload(store, client, {
    trainingRunId: input.trainingRunId,
    payload: await input.payload(),
    artifactDir: input.artifactDir,
    experiment: experimentTarget(ctx.env),
    signal: ctx.signal,
  });
  if (outcome.error !== undefined) {
    ctx.logger.warn(`${what} not logged to MLflow (${outcome.error}); it is spooled in the store: replay it with oracx mlflow sync`);
    return null;
  }
  ctx.logger.info(`${what} logged to MLflow as run ${outcome.mlflowRunId}`);
  return outcome.mlflowRunId;
}
