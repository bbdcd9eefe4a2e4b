/**
 * MLflow tracking of training runs: the run is spooled in the store first, then synced; when the server cannot be
 * reached the run stays spooled for `oracx mlflow sync` and training still succeeds.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MlflowClient } from '../src/mlflow/client.js';
import { MlflowError, MlflowUnreachable } from '../src/mlflow/errors.js';
import { oracxRunTags } from '../src/mlflow/run-tags.js';
import { spoolRun, type SpoolMetric, type SpoolPayload } from '../src/tracking/spool.js';
import { matchesDigest, storeDataset } from './track-dataset.js';
import { epochMetrics, trainingDataset, trainingRunName, trainingRunRef, trainingTags, windowParams } from './track-train.js';
import type { Store } from '../src/store/connect.js';
import type { ExperimentTarget } from '../src/mlflow/types.js';
import { syncSpool } from './mlflow-sync.js';
import type { TrainResult } from './train.js';
import type { EvaluationResult } from './evaluate.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import type { ComparisonRow } from '../src/ml/evaluation/comparison.js';
import type { PairedTest } from '../src/ml/evaluation/paired.js';
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
    if (error instanceof MlflowUnreachable || (error instanceof MlflowError && error.status !== undefined && (error.status >= 500 || error.status === 429))) return;
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
  for (const [key, value] of Object.entries(r.trainMetrics)) metrics.push({ key: `train_${key === 'logLoss' ? 'log_loss' : key}`, value, timestamp: end, step: 0 });
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

/** MLflow metric keys for one summary: rps, log_loss, brier, accuracy, ece, n, with a prefix. */
function summaryMetrics(prefix: string, m: MetricSummary, timestamp: number): SpoolMetric[] {
  const keys: [string, number][] = [['rps', m.rps], ['log_loss', m.logLoss], ['brier', m.brier], ['accuracy', m.accuracy], ['ece', m.ece], ['n', m.n]];
  return keys.map(([key, value]) => ({ key: `${prefix}${key}`, value, timestamp, step: 0 }));
}

/** MLflow metric keys for a paired test: rps_diff_<ref>, _se and _p (non-finite values are left out). */
function pairedMetrics(ref: string, t: PairedTest, timestamp: number): SpoolMetric[] {
  const keys: [string, number][] = [[`rps_diff_${ref}`, t.meanDiff], [`rps_diff_${ref}_se`, t.stdErr], [`rps_diff_${ref}_p`, t.pValue]];
  return keys.filter(([, value]) => Number.isFinite(value)).map(([key, value]) => ({ key, value, timestamp, step: 0 }));
}

/** What ties the runs of one `evaluate --models` together: a shared id, the models, the best, this model's row. */
export interface ComparisonTracking {
  id: string;
  models: string[];
  best: string;
  row: ComparisonRow;
}

/**
 * An evaluation as an MLflow run: the window and model as params, overall, per-competition and baseline figures,
 * the paired difference to the bookmaker and, in a comparison, to the best model, with tags naming the comparison.
 */
export function evaluationPayload(
  r: EvaluationResult,
  options: { startedAt: number; params: Record<string, unknown>; seed: number; margin: string; storeLocation: string; cwd: string; comparison?: ComparisonTracking },
): SpoolPayload {
  const end = Date.now();
  const metrics = summaryMetrics('', r.overall, end);
  for (const [name, m] of Object.entries(r.baselines)) if (m) metrics.push(...summaryMetrics(`${name}_`, m, end));
  for (const [code, m] of Object.entries(r.byCompetition)) metrics.push(...summaryMetrics(`${code}_`, m, end));
  if (r.vsBookmaker) metrics.push(...pairedMetrics('bookmaker', r.vsBookmaker, end));
  const comparison = options.comparison;
  if (comparison) metrics.push(...pairedMetrics('best', comparison.row.vsBest, end));
  const params: Record<string, string> = {
    model: r.model,
    feature_set: r.featureSet,
    competitions: r.competitions.join(','),
    seasons: r.seasons.join(','),
    walk_forward: r.walkForward,
    seed: String(options.seed),
    margin: options.margin,
    folds: String(r.folds.length),
  };
  for (const [key, value] of Object.entries(options.params)) params[`model.${key}`] = String(value);
  const runName = `evaluate-${r.model}-${r.featureSet}-${r.seasons.join('+')}`.slice(0, 250);
  const failed = r.gates.filter((g) => !g.passed);
  return {
    runName,
    startTime: options.startedAt,
    endTime: end,
    status: 'FINISHED',
    params,
    tags: {
      ...oracxRunTags('evaluation', { runName, source: 'oracx evaluate', cwd: options.cwd }),
      'oracx.model': r.model,
      'oracx.feature_set': r.featureSet,
      'oracx.store': options.storeLocation,
      ...(comparison ? { 'oracx.comparison': comparison.id, 'oracx.comparison_models': comparison.models.join(','), 'oracx.comparison_best': comparison.best } : {}),
      ...(r.gates.length ? { 'oracx.gates': r.gates.map((g) => `${g.gate}: ${g.passed ? 'passed' : 'failed'}`).join('; '), 'oracx.gates_passed': String(failed.length === 0) } : {}),
    },
    metrics,
    inputs: [
      storeDataset({
        name: `${r.competitions.join('+')} ${r.seasons.join('+')}`,
        digest: matchesDigest(r.predictions.map((p) => p.matchId)),
        storeLocation: options.storeLocation,
        cwd: options.cwd,
        source: { featureSet: r.featureSet, competitions: r.competitions, seasons: r.seasons },
        profile: { num_rows: r.overall.n },
        context: 'evaluation',
      }),
    ],
  };
}

/** Spools a training run recorded earlier (e.g. trained without MLflow) from the store and its metadata.json. */
export async function spoolStoredRun(store: Store, runId: number, options: { experiment: ExperimentTarget; cwd: string }): Promise<number> {
  const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run || run.status !== 'completed' || !run.artifact_path) throw new Error(`training run ${runId} is not a completed run with artifacts`);
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
