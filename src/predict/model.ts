/**
 * A model ready to forecast: its ONNX graph in an onnxruntime session, what it is (name, version, run, feature set)
 * and the checks that it can be served from this store. Loaded from a registered version (NAME@ALIAS, NAME/VERSION,
 * NAME), a training run, or a model file (model.onnx with its oracx-model.json beside it).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { definitionHash, featureNames, type FeatureSetDefinition } from '../ml/features/definition.js';
import { parseFeatureSetRef } from '../ml/features/registry.js';
import type { SerializedModel } from '../ml/models/types.js';
import type { OnnxMetadata } from '../onnx/metadata.js';
import type { OnnxScorer } from '../onnx/runtime.js';
import { parseVersionRef, type VersionRef } from '../registry/names.js';
import { PACKAGE_FILES, withPackage } from '../registry/package.js';
import type { Registry, VersionRecord } from '../registry/types.js';
import type { Store } from '../store/connect.js';

/** Where a model comes from, as a user names it. */
export type ModelSource = { kind: 'registry'; ref: VersionRef; text: string } | { kind: 'run'; run: number } | { kind: 'file'; path: string };

/** What a forecast records about the model that made it. */
export interface ModelIdentity {
  /** How messages and stored predictions name it: "oracx-e0/3", "run 12", "file:/abs/model.onnx". */
  uri: string;
  name: string | null;
  version: number | null;
  /** The alias it was resolved through, if any. */
  alias: string | null;
  /** The oracx training run (or MLflow run id) it was trained in, when known. */
  run: string | null;
  kind: string;
  featureSet: string;
  /** sha256 (hex) of the ONNX bytes: two loads with the same digest score the same. */
  digest: string;
}

/** A loaded model: release() frees its session. */
export interface LoadedModel {
  identity: ModelIdentity;
  metadata: OnnxMetadata;
  definition: FeatureSetDefinition;
  scorer: OnnxScorer;
  /** The ONNX bytes (what `predict --distributed` ships to workers). */
  bytes: Uint8Array;
  release(): Promise<void>;
}

/** Options of loadModel. */
export interface LoadModelOptions {
  /** Threads ORT may use inside one operator (default: ORT's, all cores). */
  intraOpNumThreads?: number;
}

/**
 * Reads a --model value: a path to an .onnx file (or a folder holding model.onnx), else a registry reference
 * (NAME, NAME@ALIAS, NAME/VERSION, models:/…).
 */
export function parseModelSource(text: string, cwd: string): ModelSource {
  const trimmed = text.trim();
  if (trimmed === '') throw new UserError('--model is empty', { hint: 'e.g. --model oracx-e0@champion, --model oracx-e0/3 or --model ./model.onnx' });
  if (trimmed.startsWith('models:/')) return { kind: 'registry', ref: parseVersionRef(trimmed), text: trimmed };
  const abs = path.resolve(cwd, trimmed);
  // NAME, NAME@ALIAS and NAME/VERSION are registry references unless something on disk has that name.
  const registryShaped = /^[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z_][A-Za-z0-9_-]*|\/\d+)?$/.test(trimmed) && !trimmed.endsWith('.onnx');
  if (registryShaped && !existsSync(abs)) return { kind: 'registry', ref: parseVersionRef(trimmed), text: trimmed };
  return { kind: 'file', path: existsSync(path.join(abs, PACKAGE_FILES.onnx)) ? path.join(abs, PACKAGE_FILES.onnx) : abs };
}

/** The registered version a reference names now (an alias or "latest" moves; a number does not). */
export async function resolveVersion(registry: Registry, ref: VersionRef): Promise<VersionRecord> {
  let version: VersionRecord;
  if ('version' in ref) version = await registry.getVersion(ref.name, ref.version);
  else if ('alias' in ref) {
    const found = await registry.getAlias(ref.name, ref.alias);
    if (!found) {
      const model = await registry.getModel(ref.name);
      const aliases = Object.keys(model.aliases);
      throw new UserError(`model "${ref.name}" has no alias "${ref.alias}"`, {
        hint: aliases.length ? `its aliases: ${aliases.join(', ')}` : `it has no aliases; see oracx models promote --help`,
      });
    }
    version = found;
  } else {
    const latest = (await registry.getModel(ref.name)).latestVersion;
    if (latest === null) throw new UserError(`model "${ref.name}" has no versions`, { hint: 'see oracx register --help' });
    version = await registry.getVersion(ref.name, latest);
  }
  if (version.status !== 'READY') throw new UserError(`${ref.name} version ${version.version} is ${version.status}, not READY: it cannot serve`);
  return version;
}

/** Loads a registered version. */
export async function loadRegisteredModel(store: Store, registry: Registry, ref: VersionRef, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const version = await resolveVersion(registry, ref);
  const bytes = await withPackage(registry, version, async (dir) =>
    readModelFile(path.join(dir, PACKAGE_FILES.onnx), `${version.name} version ${version.version}`),
  );
  return openModelBytes(
    store,
    bytes,
    {
      uri: `${version.name}/${version.version}`,
      name: version.name,
      version: version.version,
      alias: 'alias' in ref ? ref.alias : null,
      run: version.mlflowRunId ?? (version.runId === null ? null : String(version.runId)),
    },
    options,
  );
}

/** Loads a completed training run's model, exported to ONNX in memory (as register would). */
export async function loadRunModel(store: Store, runId: number, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) throw new UserError(`unknown training run ${runId}`, { hint: 'see the run ids printed by oracx train' });
  if (run.status !== 'completed' || !run.artifact_path) throw new UserError(`training run ${runId} is ${run.status}, not completed`);
  let serialized: SerializedModel;
  try {
    serialized = JSON.parse(await readFile(path.join(run.artifact_path, 'model.json'), 'utf8')) as SerializedModel;
  } catch (error) {
    throw new UserError(`cannot read the model of run ${runId} at ${run.artifact_path}: ${(error as Error).message}`);
  }
  const { exportOnnx } = await import('../onnx/export/index.js');
  const bytes = exportOnnx(serialized, { featureSet: run.feature_set });
  return openModelBytes(store, bytes, { uri: `run ${runId}`, name: null, version: null, alias: null, run: String(runId) }, options);
}

/** Loads a model file exported by oracx; its oracx-model.json must sit beside it (as in a pulled package). */
export async function loadFileModel(store: Store, file: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const bytes = await readModelFile(file, file);
  const model = await openModelBytes(store, bytes, { uri: `file:${file}`, name: null, version: null, alias: null, run: null }, options);
  const companion = path.join(path.dirname(file), PACKAGE_FILES.model);
  let serialized: { kind?: unknown };
  try {
    serialized = JSON.parse(await readFile(companion, 'utf8')) as { kind?: unknown };
  } catch (error) {
    await model.release();
    throw new UserError(`${file}: cannot read ${PACKAGE_FILES.model} beside it (${(error as Error).message})`, {
      hint: `serve a pulled package folder (oracx models pull NAME@ALIAS --out DIR) or a registered model (--model NAME@ALIAS)`,
    });
  }
  if (serialized.kind !== model.metadata.kind) {
    await model.release();
    throw new UserError(`${file} is a ${model.metadata.kind} model but ${companion} describes a ${String(serialized.kind)} model`, {
      hint: 'keep model.onnx and oracx-model.json of the same package together',
    });
  }
  return model;
}

/** Loads whichever source names. */
export async function loadModelFrom(
  store: Store,
  source: ModelSource,
  registry: () => Promise<Registry>,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  if (source.kind === 'run') return loadRunModel(store, source.run, options);
  if (source.kind === 'file') return loadFileModel(store, source.path, options);
  return loadRegisteredModel(store, await registry(), source.ref, options);
}

async function readModelFile(file: string, label: string): Promise<Uint8Array> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    return new Uint8Array(await readFile(file));
  } catch (error) {
    throw new UserError(`cannot read the model of ${label} at ${file}: ${(error as Error).message}`);
  }
}

/** Reads the metadata, checks the model against the store's feature sets and opens the ORT session. */
export async function openModelBytes(
  store: Store,
  bytes: Uint8Array,
  who: Omit<ModelIdentity, 'kind' | 'featureSet' | 'digest'>,
  options: LoadModelOptions,
): Promise<LoadedModel> {
  const { readOnnxMetadata } = await import('../onnx/metadata.js');
  let metadata: OnnxMetadata;
  try {
    metadata = readOnnxMetadata(bytes);
  } catch (error) {
    throw new UserError(`${who.uri} is not an oracx ONNX model: ${(error as Error).message}`, {
      hint: 'export one with oracx register, or pull one with oracx models pull',
    });
  }
  const definition = await checkFeatureSet(store, metadata, who.uri);
  const { OnnxScorer } = await import('../onnx/runtime.js');
  let scorer: OnnxScorer;
  try {
    scorer = await OnnxScorer.create(bytes, { intraOpNumThreads: options.intraOpNumThreads });
  } catch (error) {
    throw new UserError(`onnxruntime cannot load ${who.uri}: ${(error as Error).message}`);
  }
  const identity: ModelIdentity = {
    ...who,
    kind: metadata.kind,
    featureSet: metadata.featureSet ?? '',
    digest: createHash('sha256').update(bytes).digest('hex'),
  };
  return { identity, metadata, definition, scorer, bytes, release: () => scorer.release() };
}

/**
 * The model's feature set must be one oracx knows, built from the same definition as the store's, and hold every
 * feature the model reads: otherwise its forecasts would be computed on other inputs than it was trained on.
 */
async function checkFeatureSet(store: Store, metadata: OnnxMetadata, uri: string): Promise<FeatureSetDefinition> {
  const ref = metadata.featureSet;
  if (!ref)
    throw new UserError(`${uri} does not say which feature set it was trained on (no oracx.feature_set in its metadata)`, {
      hint: 'register it again with this version of oracx',
    });
  let def: FeatureSetDefinition;
  try {
    def = parseFeatureSetRef(ref);
  } catch (error) {
    throw new UserError(`${uri} was trained on feature set ${ref}, which this oracx does not know: ${(error as Error).message}`);
  }
  const stored = await store.db
    .selectFrom('feature_sets')
    .select('definition_hash')
    .where('name', '=', def.name)
    .where('version', '=', def.version)
    .executeTakeFirst();
  if (stored && stored.definition_hash !== definitionHash(def)) {
    throw new UserError(`${uri} uses feature set ${ref}, but the store's ${ref} was built from a different definition`, {
      hint: 'serve it against the store it was trained with',
    });
  }
  const names = new Set(featureNames(def));
  const missing = metadata.featureNames.filter((n) => !names.has(n));
  if (missing.length > 0) {
    throw new UserError(`${uri} reads feature(s) ${missing.join(', ')} that feature set ${ref} does not have`, {
      hint: 'the model and its feature set disagree: register the model again',
    });
  }
  return def;
}
