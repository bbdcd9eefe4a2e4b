/**
 * A model package: the folder that is registered, uploaded to MLflow and pulled. It holds the ONNX graph, oracx's own
 * serialised model and training metadata, and an MLflow `MLmodel` file with the onnx flavor and a python_function
 * flavor whose loader module (code/oracx_pyfunc.py) scores pandas DataFrames with named columns, so
 * `mlflow.pyfunc.load_model('models:/NAME@ALIAS')` and `mlflow models serve --env-manager local` work as for a model
 * logged by Python's MLflow: column signature, input example, pinned requirements.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { SerializedModel } from '../ml/models/index.js';
import type { Dataset } from '../ml/models/types.js';
import { listFiles } from './files.js';
import { pyfuncExample, pyfuncInputs, pyfuncSignature, pythonRequirements, PYTHON_PINS, PYTHON_VERSION, type ColumnSpec, type ParamSpec } from './pyfunc.js';
import { PYFUNC_INPUTS_FILE, PYFUNC_MODULE, PYFUNC_SOURCE } from './pyfunc-source.js';
import type { Registry, VersionRecord } from './types.js';

/** The files of a package, by role. */
export const PACKAGE_FILES = {
  onnx: 'model.onnx',
  model: 'oracx-model.json',
  metadata: 'metadata.json',
  mlmodel: 'MLmodel',
  pyfuncInputs: PYFUNC_INPUTS_FILE,
  pyfuncCode: `code/${PYFUNC_MODULE}.py`,
  inputExample: 'input_example.json',
  servingInputExample: 'serving_input_example.json',
} as const;

/** A column-based MLflow signature. */
export interface PyfuncSignature {
  inputs: ColumnSpec[];
  outputs: ColumnSpec[];
  params: ParamSpec[] | null;
}

/** What the MLmodel document is written from; extend here (e.g. LoggedModel fields) rather than adding parameters. */
export interface MlmodelOptions {
  signature: PyfuncSignature;
  runId?: string;
  createdAt?: Date;
  /** Whether the package holds input_example.json and serving_input_example.json. */
  inputExample?: boolean;
  /** More top-level fields, written as given (e.g. model_id, mlflow_version once known). */
  extra?: Record<string, unknown>;
}

/**
 * The MLmodel document (YAML), laid out as Python's MLflow 3.17.2 writes it for a pyfunc model with a loader module
 * and code (mlflow.pyfunc.save_model(loader_module=..., code_paths=..., data_path=...)), plus the onnx flavor so
 * mlflow.onnx.load_model still gives the graph. Keys sorted, as MLflow's yaml dump does.
 */
export function mlmodelDocument(options: MlmodelOptions): string {
  const columns = (specs: ColumnSpec[]) => JSON.stringify(specs.map((s) => ({ type: s.type, name: s.name, required: s.required })));
  const doc: Record<string, unknown> = {
    artifact_path: 'model',
    flavors: {
      onnx: {
        code: null,
        data: PACKAGE_FILES.onnx,
        onnx_session_options: null,
        // Python's mlflow.onnx writes the version of the onnx package the model was logged with. oracx builds the graph
        // without Python, so it writes the onnx version the package pins and the tests load it with.
        onnx_version: PYTHON_PINS.onnx,
        providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'],
      },
      python_function: {
        code: 'code',
        data: PACKAGE_FILES.onnx,
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: PYFUNC_MODULE,
        python_version: PYTHON_VERSION,
        streamable: false,
      },
    },
    is_signature_from_type_hint: false,
    model_uuid: randomUUID().replace(/-/g, ''),
    ...(options.runId ? { run_id: options.runId } : {}),
    saved_input_example_info: options.inputExample
      ? { artifact_path: PACKAGE_FILES.inputExample, pandas_orient: 'split', serving_input_path: PACKAGE_FILES.servingInputExample, type: 'dataframe' }
      : null,
    signature: {
      inputs: columns(options.signature.inputs),
      outputs: columns(options.signature.outputs),
      params: options.signature.params === null ? null : JSON.stringify(options.signature.params),
    },
    type_hint_from_example: false,
    utc_time_created: (options.createdAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', ''),
    ...options.extra,
  };
  return stringify(Object.fromEntries(Object.entries(doc).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Everything a package is written from. */
export interface PackageInput {
  dir: string;
  onnx: Uint8Array;
  serialized: SerializedModel;
  metadata: Record<string, unknown>;
  mlflowRunId?: string;
  /** Store names of the store team ids in the graph's vocabulary (oracx.teams); needed for rating models. */
  teamNames?: ReadonlyMap<number, string>;
  /** The store's team aliases (alias key → team id), so the pyfunc wrapper takes the names sources use too. */
  teamAliases?: ReadonlyMap<string, number>;
  /** Real rows the model was checked on, written as the input example (all rows of it: pass a few). */
  example?: Dataset;
}

/** Writes the package folder (created if needed); returns its files, relative to it. */
export async function writeModelPackage(input: PackageInput): Promise<{ files: string[]; signature: PyfuncSignature }> {
  // Loaded here: readers of PACKAGE_FILES (predict, serve) should not pay for the metadata schemas at import time.
  const { readOnnxMetadata } = await import('../onnx/metadata.js');
  const meta = readOnnxMetadata(input.onnx);
  const inputs = pyfuncInputs(meta, input.teamNames ?? new Map(), input.teamAliases);
  const signature = pyfuncSignature(meta);
  const rows = input.example ? pyfuncExample(meta, inputs, input.example, 0, input.example.matches.length) : null;
  const example = rows !== null && rows.data.length > 0 ? rows : null;
  const requirements = pythonRequirements();
  await mkdir(path.join(input.dir, path.dirname(PACKAGE_FILES.pyfuncCode)), { recursive: true });
  const write = (name: string, body: string | Uint8Array) => writeFile(path.join(input.dir, name), body);
  await write(PACKAGE_FILES.onnx, input.onnx);
  await write(PACKAGE_FILES.model, JSON.stringify(input.serialized));
  await write(PACKAGE_FILES.metadata, `${JSON.stringify(input.metadata, null, 2)}\n`);
  await write(PACKAGE_FILES.pyfuncInputs, `${JSON.stringify(inputs, null, 2)}\n`);
  await write(PACKAGE_FILES.pyfuncCode, PYFUNC_SOURCE);
  if (example) {
    await write(PACKAGE_FILES.inputExample, JSON.stringify(example));
    await write(PACKAGE_FILES.servingInputExample, `${JSON.stringify({ dataframe_split: example }, null, 2)}\n`);
  }
  await write(PACKAGE_FILES.mlmodel, mlmodelDocument({ signature, runId: input.mlflowRunId, inputExample: example !== null }));
  await write('requirements.txt', `${requirements.join('\n')}\n`);
  await write('python_env.yaml', stringify({ python: PYTHON_VERSION, build_dependencies: ['pip'], dependencies: ['-r requirements.txt'] }));
  await write(
    'conda.yaml',
    stringify({ channels: ['conda-forge'], dependencies: [`python=${PYTHON_VERSION}`, 'pip', { pip: requirements }], name: 'mlflow-env' }),
  );
  return { files: await listFiles(input.dir), signature };
}

/** Runs use on the version's package as a local folder (pulled into a temporary folder for remote registries). */
export async function withPackage<T>(registry: Registry, version: VersionRecord, use: (dir: string) => Promise<T>): Promise<T> {
  if (registry.backend === 'local') return use(version.source);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'oracx-pull-'));
  try {
    const dir = path.join(tmp, 'package');
    await registry.pull(version, dir);
    return await use(dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
