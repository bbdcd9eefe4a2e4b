/**
 * `register`: export a trained run's model to ONNX (checked against the model itself), package it with an MLmodel
 * file, and add it as a new version of a registered model, in MLflow or in the local registry. Nothing is registered
 * unless every step succeeds.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { loadModel, type Dataset, type SerializedModel } from '../src/ml/models/index.js';
import type { MlflowClient } from '../src/mlflow/client.js';
import type { ExperimentTarget } from '../src/mlflow/types.js';
import { exportOnnx, OnnxScorer, quantizable, quantizeDecision } from '../src/onnx/index.js';
import { currentActor, moveAlias, recordEvent } from '../src/registry/audit.js';
import { describeVersion, DESCRIPTION_LIMIT } from '../src/registry/describe.js';
import { writeModelPackage } from '../src/registry/package.js';
import type { Registry, VersionRecord } from '../src/registry/types.js';
import type { Store } from '../src/store/connect.js';
import { entryOfMlflowRun, entryOfTrainingRun } from '../src/tracking/spool.js';
import { loadUniverse, toDataset, trainingMatches } from './dataset.js';
import { syncSpool } from './mlflow-sync.js';
import { spoolStoredRun } from './track.js';

/** Largest gap allowed between ONNX and the model it was exported from, on the training rows. */
export const PARITY_TOLERANCE = 1e-5;
/** Rows the parity check scores (the most recent training matches). */
const PARITY_ROWS = 10_000;
/** Rows of the package's input example (the most recent parity rows). */
const EXAMPLE_ROWS = 5;

export interface RegisterOptions {
  /** An oracx training run id ("12") or the MLflow run id it was logged as. */
  run: string;
  name: string;
  alias?: string;
  /** The registered model's description, set when this registration creates it. */
  modelDescription?: string;
  /** The new version's description; default: one written from the run (describeVersion). */
  description?: string;
  /** Try int8 weights; kept only when RPS moves by at most 0.0005. */
  quantize?: boolean;
  experiment: ExperimentTarget;
  cwd: string;
  /** Who is registering, for the audit (default: currentActor()). */
  actor?: string;
  signal?: AbortSignal;
}

export interface RegisterResult {
  version: VersionRecord;
  runId: number;
  /** Parity of the registered graph (the int8 one when --quantize kept it) with the model. */
  parity: { rows: number; maxAbsDiff: number };
  /** Parity of the float export, the check gated at PARITY_TOLERANCE (the same as parity unless int8 was kept). */
  exportParity: { rows: number; maxAbsDiff: number };
  quantization?: { kept: boolean; rpsFloat: number; rpsInt8: number };
}

/** The local training run id a --run value names. */
async function resolveRun(store: Store, run: string): Promise<number> {
  if (/^\d+$/.test(run)) return Number(run);
  if (/^[0-9a-f]{32}$/i.test(run)) {
    const entry = await entryOfMlflowRun(store, run.toLowerCase());
    if (entry?.trainingRunId != null) return entry.trainingRunId;
    throw new UserError(`MLflow run ${run} was not logged by oracx from this store`, { hint: 'pass the oracx run id printed by oracx train' });
  }
  throw new UserError(`invalid run "${run}": expected an oracx run id (a number) or an MLflow run id (32 hex digits)`);
}

/** The MLflow run of a training run, logging (or finishing the sync of) it first when needed. */
async function mlflowRunOf(store: Store, client: MlflowClient, runId: number, options: RegisterOptions): Promise<string> {
  let entry = await entryOfTrainingRun(store, runId);
  if (!entry) {
    await spoolStoredRun(store, runId, { experiment: options.experiment, cwd: options.cwd });
    entry = await entryOfTrainingRun(store, runId);
  }
  if (entry!.stage !== 'synced') {
    const report = await syncSpool(store, client, { ids: [entry!.id], signal: options.signal });
    if (report.failed.length) throw new UserError(`cannot log run ${runId} to MLflow: ${report.failed[0]!.error}; nothing was registered`);
    return report.synced[0]!.mlflowRunId!;
  }
  return entry!.mlflowRunId!;
}

export async function registerRun(store: Store, registry: Registry, client: MlflowClient | null, options: RegisterOptions): Promise<RegisterResult> {
  if (options.description !== undefined && options.description.length > DESCRIPTION_LIMIT) {
    throw new UserError(`--description is ${options.description.length} characters long; MLflow keeps at most ${DESCRIPTION_LIMIT}`);
  }
  const runId = await resolveRun(store, options.run);
  const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) throw new UserError(`unknown training run ${runId}`, { hint: 'see the run ids printed by oracx train' });
  if (run.status !== 'completed' || !run.artifact_path) throw new UserError(`training run ${runId} is ${run.status}, not completed: nothing to register`);
  const files = { model: path.join(run.artifact_path, 'model.json'), metadata: path.join(run.artifact_path, 'metadata.json') };
  for (const file of Object.values(files)) {
    if (!existsSync(file)) throw new UserError(`artifact missing: ${file} (training run ${runId})`, { hint: 'train the model again; nothing was registered' });
  }
  const serialized = JSON.parse(await readFile(files.model, 'utf8')) as SerializedModel;
  const metadata = JSON.parse(await readFile(files.metadata, 'utf8')) as Record<string, unknown> & {
    competitions?: string[];
    trainFrom?: string;
    trainUntil?: string;
  };
  const model = loadModel(serialized);

  // Parity on the most recent training rows: the ONNX graph must give the model's own probabilities.
  const universe = await loadUniverse(store, run.feature_set);
  const matches = trainingMatches(universe, {
    competitions: run.competitions.split(',').filter((c) => c !== ''),
    from: run.train_from ?? undefined,
    until: run.train_until ?? undefined,
    finishedOnly: true,
  }).slice(-PARITY_ROWS);
  const data = toDataset(universe, matches);
  let onnx = exportOnnx(serialized, { featureSet: run.feature_set });
  const expected = model.predict(data);
  const exportParity = await checkParity(onnx, expected, data);
  if (exportParity.maxAbsDiff > PARITY_TOLERANCE) {
    throw new UserError(`the ONNX export of run ${runId} differs from the model by ${exportParity.maxAbsDiff} (> ${PARITY_TOLERANCE}); nothing was registered`);
  }
  let parity = exportParity;
  let quantization: RegisterResult['quantization'];
  if (options.quantize) {
    if (!quantizable(model))
      throw new UserError(`--quantize applies to models with weight matrices (logreg, mlp, ensembles of them); run ${runId} is ${model.kind}`);
    const decision = await quantizeDecision(serialized, data, { featureSet: run.feature_set });
    quantization = { kept: decision.kept, rpsFloat: decision.rpsFloat, rpsInt8: decision.rpsInt8 };
    if (decision.kept) {
      onnx = decision.bytes;
      // What is reported is what is registered: the int8 graph's own gap (not gated: the RPS rule decided to keep it).
      parity = await checkParity(onnx, expected, data);
    }
  }
  const teamNames = new Map((await store.db.selectFrom('teams').select(['id', 'name']).execute()).map((t) => [Number(t.id), t.name]));
  const teamAliases = new Map((await store.db.selectFrom('team_aliases').select(['alias', 'team_id']).execute()).map((a) => [a.alias, Number(a.team_id)]));
  const example: Dataset = {
    featureNames: data.featureNames,
    X: data.X.slice(-EXAMPLE_ROWS),
    matches: data.matches.slice(-EXAMPLE_ROWS),
  };

  const mlflowRunId =
    client && registry.backend === 'mlflow'
      ? await mlflowRunOf(store, client, runId, options)
      : ((await entryOfTrainingRun(store, runId))?.mlflowRunId ?? null);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'oracx-package-'));
  try {
    const packageDir = path.join(tmp, 'model');
    await writeModelPackage({
      dir: packageDir,
      onnx,
      serialized,
      metadata: { ...metadata, onnx: { parity, exportParity, ...(quantization ? { quantization } : {}) } },
      mlflowRunId: mlflowRunId ?? undefined,
      teamNames,
      teamAliases,
      example,
    });
    const competitions = run.competitions.split(',').filter((c) => c !== '');
    const train = JSON.parse(run.metrics ?? '{}') as { rps?: number; logLoss?: number; accuracy?: number };
    const versionDescription =
      options.description ??
      describeVersion({
        modelKind: serialized.kind,
        featureSet: run.feature_set,
        runId,
        mlflowRunId,
        competitions,
        trainFrom: run.train_from,
        trainUntil: run.train_until,
        nMatches: run.n_matches,
        train,
        auto: model.auto,
        params: serialized.params as Record<string, unknown>,
        parity,
        quantization,
      });
    const version = await registry.register({
      name: options.name,
      packageDir,
      runId,
      mlflowRunId,
      modelKind: serialized.kind,
      featureSet: run.feature_set,
      metrics: {
        train: JSON.parse(run.metrics ?? '{}'),
        params: serialized.params,
        ...(model.auto ? { auto: Object.fromEntries(Object.entries(model.auto).map(([k, c]) => [k, { value: c.value, method: c.method }])) } : {}),
        parityMaxAbsDiff: parity.maxAbsDiff,
        exportParityMaxAbsDiff: exportParity.maxAbsDiff,
        ...(quantization ? { quantization } : {}),
      },
      description: options.modelDescription,
      versionDescription,
    });
    const previous = options.alias === undefined ? null : await registry.getAlias(options.name, options.alias);
    const event = {
      modelName: options.name,
      action: 'register' as const,
      fromVersion: previous?.version ?? null,
      toVersion: version.version,
      actor: options.actor ?? currentActor(),
      details: { runId, mlflowRunId, featureSet: run.feature_set },
    };
    if (options.alias !== undefined) await moveAlias(store, registry, { ...event, alias: options.alias });
    else await recordEvent(store, registry, { ...event, alias: null });
    return { version: await registry.getVersion(options.name, version.version), runId, parity, exportParity, ...(quantization ? { quantization } : {}) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Scores the rows through ONNX Runtime and compares with the model's own probabilities. */
async function checkParity(onnx: Uint8Array, expected: readonly (readonly number[])[], data: Dataset) {
  const scorer = await OnnxScorer.create(onnx);
  try {
    const got = await scorer.scoreDataset(data, { batchSize: 4096 });
    let maxAbsDiff = 0;
    expected.forEach((p, i) => {
      for (let k = 0; k < 3; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[k]! - got[i * 3 + k]!));
    });
    return { rows: expected.length, maxAbsDiff };
  } finally {
    await scorer.release();
  }
}
