/**
 * A model package: the folder that is registered, uploaded to MLflow and pulled. It holds the ONNX graph, oracx's own
 * serialised model and training metadata, and an MLflow `MLmodel` file with the onnx and python_function flavors, so
 * `mlflow.pyfunc.load_model('models:/NAME@ALIAS')` and `mlflow models serve --env-manager local` can use it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { stringify } from 'yaml';
import type { SerializedModel } from '../ml/models/index.js';
import { listFiles } from './files.js';
import type { Registry, VersionRecord } from './types.js';

const { onnx } = onnxProto;

/** The files of a package, by role. */
export const PACKAGE_FILES = {
  onnx: 'model.onnx',
  model: 'oracx-model.json',
  metadata: 'metadata.json',
  mlmodel: 'MLmodel',
} as const;

/** One tensor of an MLflow tensor signature. */
export interface TensorSpec {
  name: string;
  dtype: 'float32' | 'float64' | 'int64' | 'int32';
  shape: number[];
}

const DTYPES: Record<number, TensorSpec['dtype']> = { 1: 'float32', 11: 'float64', 7: 'int64', 6: 'int32' };

/** Inputs and outputs of an ONNX graph as MLflow tensor specs (symbolic dimensions become -1). */
export function onnxSignature(bytes: Uint8Array): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('ONNX model has no graph');
  const initialisers = new Set((graph.initializer ?? []).map((t) => t.name));
  const spec = (v: onnxProto.onnx.IValueInfoProto): TensorSpec => {
    const t = v.type?.tensorType;
    const dtype = DTYPES[t?.elemType ?? 0];
    if (!t || !dtype) throw new Error(`ONNX value "${v.name}" is not a float/int tensor`);
    const shape = (t.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1));
    return { name: v.name ?? '', dtype, shape };
  };
  return {
    inputs: (graph.input ?? []).filter((v) => !initialisers.has(v.name ?? '')).map(spec),
    outputs: (graph.output ?? []).map(spec),
  };
}

/** The MLmodel document (YAML) for an ONNX model with the given signature. */
export function mlmodelDocument(signature: { inputs: TensorSpec[]; outputs: TensorSpec[] }, options: { runId?: string; createdAt?: Date } = {}): string {
  const tensors = (specs: TensorSpec[]) =>
    JSON.stringify(specs.map((s) => ({ type: 'tensor', 'tensor-spec': { dtype: s.dtype, shape: s.shape }, name: s.name })));
  const doc: Record<string, unknown> = {
    artifact_path: 'model',
    flavors: {
      onnx: { code: null, data: PACKAGE_FILES.onnx, onnx_session_options: null, onnx_version: '1.14.0', providers: ['CPUExecutionProvider'] },
      python_function: {
        data: PACKAGE_FILES.onnx,
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: 'mlflow.onnx',
        python_version: '3.11',
      },
    },
    model_uuid: randomUUID().replace(/-/g, ''),
    ...(options.runId ? { run_id: options.runId } : {}),
    saved_input_example_info: null,
    signature: { inputs: tensors(signature.inputs), outputs: tensors(signature.outputs), params: null },
    utc_time_created: (options.createdAt ?? new Date()).toISOString().replace('T', ' ').replace('Z', ''),
  };
  return stringify(doc);
}

// What Python needs to load the package with mlflow.pyfunc (lower bounds: aliases and the onnx flavor as used here).
const REQUIREMENTS = ['mlflow>=2.9', 'onnx>=1.14', 'onnxruntime>=1.16', 'numpy', 'pandas'];

/** Everything a package is written from. */
export interface PackageInput {
  dir: string;
  onnx: Uint8Array;
  serialized: SerializedModel;
  metadata: Record<string, unknown>;
  mlflowRunId?: string;
}

/** Writes the package folder (created if needed); returns its files, relative to it. */
export async function writeModelPackage(input: PackageInput): Promise<{ files: string[]; signature: { inputs: TensorSpec[]; outputs: TensorSpec[] } }> {
  const signature = onnxSignature(input.onnx);
  await mkdir(input.dir, { recursive: true });
  const write = (name: string, body: string | Uint8Array) => writeFile(path.join(input.dir, name), body);
  await write(PACKAGE_FILES.onnx, input.onnx);
  await write(PACKAGE_FILES.model, JSON.stringify(input.serialized));
  await write(PACKAGE_FILES.metadata, `${JSON.stringify(input.metadata, null, 2)}\n`);
  await write(PACKAGE_FILES.mlmodel, mlmodelDocument(signature, { runId: input.mlflowRunId }));
  await write('requirements.txt', `${REQUIREMENTS.join('\n')}\n`);
  await write('python_env.yaml', stringify({ python: '3.11', build_dependencies: ['pip'], dependencies: ['-r requirements.txt'] }));
  await write('conda.yaml', stringify({ name: 'oracx-model', channels: ['conda-forge'], dependencies: ['python=3.11', 'pip', { pip: REQUIREMENTS }] }));
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
