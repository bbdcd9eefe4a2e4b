/** `train`: fit a model on a training window, record the run, its per-epoch logs, artifacts and a staged model version. */
import { execFileSync } from 'node:child_process';
import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Interrupted, UserError } from '../src/errors.js';
import { summarise } from '../src/ml/metrics.js';
import {
  fitModel,
  InvalidParams,
  resolveParams,
  TrainingDiverged,
  UnknownModel,
  type AutoChoice,
  type EpochLog,
  type ParamValue,
  type ParamValues,
} from '../src/ml/models/index.js';
import { outcomeOf, type Outcome } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { dataHash, loadUniverse, toDataset, trainingMatches } from './dataset.js';
import { resolveFeatureSet } from './features.js';
import { featureSetRef } from '../src/ml/features/registry.js';
import { definitionHash } from '../src/ml/features/definition.js';

export interface TrainOptions {
  model: string;
  featureSet: string;
  competitions: string[];
  trainFrom?: string;
  trainUntil?: string;
  seed: number;
  params: Record<string, ParamValue>;
  /** Folder under which `<run id>/` is created. */
  artifactsDir: string;
  signal?: AbortSignal;
  /** Once the run is recorded, before the fit (awaited: an experiment tracker creates its RUNNING run here). */
  onStart?: (start: TrainStart) => void | Promise<void>;
  onEpoch?: (log: TrainedEpoch) => void;
  /** Choices the fit made that the user should hear about (an l2=auto fall-back); also kept in TrainResult.warnings. */
  onWarning?: (message: string) => void;
}

/** One epoch's losses with the time they were measured (ms since the epoch). */
export type TrainedEpoch = EpochLog & { timestamp: number };

/** What is known of a run when its fit starts. */
export type TrainStart = Pick<
  TrainResult,
  'runId' | 'model' | 'params' | 'featureSet' | 'seed' | 'competitions' | 'trainFrom' | 'trainUntil' | 'nMatches' | 'dataHash' | 'featureNames' | 'startedAt'
>;

export interface TrainResult {
  runId: number;
  modelVersionId: number;
  model: string;
  featureSet: string;
  /** The values the model was fitted with: a param given as 'auto' holds the value the fit chose (see `auto`). */
  params: ParamValues;
  /** Params the fit chose itself, by name ('l2'; 'logreg.l2' for an ensemble member), with the evidence. */
  auto: Record<string, AutoChoice>;
  /** Warnings of the fit (e.g. l2=auto fell back on a small window). */
  warnings: string[];
  /** How the fit chose what it did not take from params (e.g. what the ensemble combined, and on what evidence). */
  notes: string[];
  seed: number;
  nMatches: number;
  trainFrom: string;
  trainUntil: string;
  dataHash: string;
  artifactPath: string;
  epochs: number;
  /** Every epoch's losses with the time they were measured (ms since the epoch), for experiment trackers. */
  epochLogs: TrainedEpoch[];
  /** When training started (ms since the epoch). */
  startedAt: number;
  featureNames: string[];
  competitions: string[];
  /** In-sample figures (optimistic; use evaluate for honest ones). */
  trainMetrics: { rps: number; logLoss: number; brier: number; accuracy: number };
  durationMs: number;
}

/** Model and param problems are the user's: they become UserErrors with the valid choices. */
export function checkModelParams(model: string, params: Record<string, ParamValue>): ParamValues {
  try {
    return resolveParams(model, params);
  } catch (error) {
    if (error instanceof InvalidParams || error instanceof UnknownModel) throw new UserError(error.message);
    throw error;
  }
}

/** The package version plus the git commit when run from a checkout. */
export function codeVersion(): string {
  let version = 'unknown';
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'oracx') version = pkg.version ?? version;
    } catch {
      // not at this depth
    }
  }
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: path.dirname(new URL(import.meta.url).pathname),
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return `${version}+${commit}`;
  } catch {
    return version;
  }
}

/** What saving a fitted model gives: the params it was fitted with, its in-sample figures and its staged version. */
interface Saved {
  fitted: ParamValues;
  auto: Record<string, AutoChoice>;
  trainMetrics: TrainResult['trainMetrics'];
  modelVersionId: number;
}

/** The artifacts folder, made now: one oracx cannot write to is the user's to fix before a fit is recorded or run. */
async function prepareArtifacts(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'it is a file, not a folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : error instanceof Error
            ? error.message
            : String(error);
    throw new UserError(`cannot save models in ${dir}: ${why}`, { hint: 'pass --artifacts a folder oracx can write to; nothing was trained', cause: error });
  }
}

/** Trains one model; on divergence or any later failure the run is marked failed and nothing is registered. */
export async function train(store: Store, options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  const params = checkModelParams(options.model, options.params);
  await prepareArtifacts(options.artifactsDir);
  const def = resolveFeatureSet(options.featureSet);
  const universe = await loadUniverse(store, options.featureSet);
  const matches = trainingMatches(universe, {
    competitions: options.competitions,
    from: options.trainFrom,
    until: options.trainUntil,
    finishedOnly: true,
  });
  const data = toDataset(universe, matches);
  // The competitions actually trained on ("all in the store" becomes the list), as later evaluations need them.
  const competitions = options.competitions.length ? options.competitions : [...new Set(matches.map((m) => m.competition))].sort();
  const hash = dataHash(data);
  const version = codeVersion();
  const trainFrom = matches[0]!.date;
  const trainUntil = matches[matches.length - 1]!.date;

  const run = await store.db
    .insertInto('training_runs')
    .values({
      model: options.model,
      feature_set: featureSetRef(def),
      params: JSON.stringify(params),
      seed: options.seed,
      competitions: competitions.join(','),
      train_from: trainFrom,
      train_until: trainUntil,
      n_matches: matches.length,
      data_hash: hash,
      code_version: version,
      status: 'running',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const runId = Number(run.id);

  const pending: EpochLog[] = [];
  const epochLogs: TrainedEpoch[] = [];
  let epochs = 0;
  const flushLogs = async () => {
    if (pending.length === 0) return;
    const batch = pending.splice(0, pending.length);
    await store.db
      .insertInto('training_logs')
      .values(batch.map((l) => ({ run_id: runId, epoch: l.epoch, loss: l.loss, val_loss: l.valLoss ?? null })))
      .execute();
  };
  const fail = async (status: 'failed' | 'interrupted', message: string) => {
    await flushLogs().catch(() => undefined);
    await store.db.updateTable('training_runs').set({ status, error: message, finished_at: new Date().toISOString() }).where('id', '=', runId).execute();
  };

  const startInfo: TrainStart = {
    runId,
    model: options.model,
    featureSet: featureSetRef(def),
    params,
    seed: options.seed,
    competitions,
    trainFrom,
    trainUntil,
    nMatches: matches.length,
    dataHash: hash,
    featureNames: universe.featureNames,
    startedAt: started,
  };
  try {
    await options.onStart?.(startInfo);
  } catch (error) {
    await fail('failed', error instanceof Error ? error.message : String(error));
    throw error;
  }

  let model: Awaited<ReturnType<typeof fitModel>>;
  const warnings: string[] = [];
  const notes: string[] = [];
  try {
    model = await fitModel(options.model, data, params, {
      seed: options.seed,
      signal: options.signal,
      onWarning: (message) => {
        warnings.push(message);
        options.onWarning?.(message);
      },
      onInfo: (message) => notes.push(message),
      onEpoch: (log) => {
        epochs = Math.max(epochs, log.epoch);
        // The store keeps the model's own curve (one row per epoch); the curves of a fit's parts (competitions,
        // ensemble members) go to experiment trackers only.
        if (log.series === undefined) pending.push(log);
        const timed = { ...log, timestamp: Date.now() };
        epochLogs.push(timed);
        options.onEpoch?.(timed);
      },
    });
  } catch (error) {
    if (error instanceof TrainingDiverged) {
      await fail('failed', error.message);
      throw new UserError(`training diverged: ${error.message}`, { hint: 'lower the learning rate or check the features; nothing was registered' });
    }
    if (options.signal?.aborted) {
      await fail('interrupted', 'interrupted');
      throw new Interrupted('training interrupted; nothing was registered');
    }
    await fail('failed', error instanceof Error ? error.message : String(error));
    throw error;
  }
  const trained = model;
  const artifactPath = path.resolve(options.artifactsDir, String(runId));
  let madeFolder = false;
  const save = async (): Promise<Saved> => {
    await flushLogs();
    // From here on, params are what the model was fitted with: l2=auto becomes the chosen l2 (the choice is in `auto`).
    const fitted: ParamValues = { ...trained.params };
    const auto: Record<string, AutoChoice> = { ...trained.auto };

    const preds = trained.predict(data);
    const outcomes = matches.map((m) => outcomeOf(m) as Outcome);
    const s = summarise(preds, outcomes);
    const trainMetrics = { rps: s.rps, logLoss: s.logLoss, brier: s.brier, accuracy: s.accuracy };

    madeFolder = (await mkdir(artifactPath, { recursive: true })) !== undefined;
    const serialized = trained.serialize();
    const metadata = {
      runId,
      model: options.model,
      params: fitted,
      auto,
      seed: options.seed,
      featureSet: featureSetRef(def),
      featureSetHash: definitionHash(def),
      featureNames: universe.featureNames,
      competitions,
      trainFrom,
      trainUntil,
      nMatches: matches.length,
      dataHash: hash,
      codeVersion: version,
      trainMetrics,
      createdAt: new Date().toISOString(),
    };
    await writeFile(path.join(artifactPath, 'model.json'), JSON.stringify(serialized));
    await writeFile(path.join(artifactPath, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);

    const modelVersionId = await store.db.transaction().execute(async (tx) => {
      const mv = await tx
        .insertInto('model_versions')
        .values({ run_id: runId, model: options.model, feature_set: featureSetRef(def), status: 'staged', artifact_path: artifactPath })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx
        .updateTable('training_runs')
        .set({
          status: 'completed',
          params: JSON.stringify(fitted),
          metrics: JSON.stringify(trainMetrics),
          artifact_path: artifactPath,
          finished_at: new Date().toISOString(),
        })
        .where('id', '=', runId)
        .execute();
      return Number(mv.id);
    });
    return { fitted, auto, trainMetrics, modelVersionId };
  };
  // A fitted model that cannot be saved or registered (a full disk, the store gone) leaves the run failed, not running,
  // and no folder of its own behind.
  let saved: Saved;
  try {
    saved = await save();
  } catch (error) {
    if (madeFolder) await rm(artifactPath, { recursive: true, force: true }).catch(() => undefined);
    await fail('failed', error instanceof Error ? error.message : String(error)).catch(() => undefined);
    throw error;
  }
  const { fitted, auto, trainMetrics, modelVersionId } = saved;

  return {
    runId,
    modelVersionId,
    model: options.model,
    featureSet: featureSetRef(def),
    params: fitted,
    auto,
    warnings,
    notes,
    seed: options.seed,
    nMatches: matches.length,
    trainFrom,
    trainUntil,
    dataHash: hash,
    artifactPath,
    epochs,
    epochLogs,
    startedAt: started,
    featureNames: universe.featureNames,
    competitions,
    trainMetrics,
    durationMs: Date.now() - started,
  };
}
