/**
 * Stamping a package's MLmodel with where it was logged, as MLflow's `Model.log` writes it (checked against
 * mlflow.onnx.log_model in MLflow 3.17.2): for an MLflow 3 logged model, `artifact_path` is the logged model's
 * artifact URI and `model_id` = `model_uuid` = its id; on an older server, `artifact_path` is the folder below the
 * run's artifact root. Kept apart from package.ts, which writes the flavors and signature: this only edits the
 * fields the registration decides, leaving the rest of the document as written.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { listFiles } from './files.js';

/** The MLmodel file of a package. */
export const MLMODEL_FILE = 'MLmodel';

// MLflow's flavors compute model_size_bytes (get_total_file_size) before writing MLmodel and the environment files.
const NOT_COUNTED = new Set([MLMODEL_FILE, 'conda.yaml', 'python_env.yaml', 'requirements.txt', 'constraints.txt']);

/** What a registration writes into MLmodel. */
export interface MlmodelStamp {
  /** A logged model's artifact URI (MLflow 3), or the folder below the run's artifact root (older servers). */
  artifactPath: string;
  /** The MLflow 3 logged model's id; also becomes model_uuid, as in MLflow. */
  modelId?: string;
  /** The run that produced the model. */
  runId?: string;
  /** MLflow writes its client library's version; oracx has none, so the tracking server's version (GET /version). */
  mlflowVersion?: string;
}

/**
 * The package's size as MLflow records it in `model_size_bytes`: every file of the model folder except MLmodel and
 * the environment files (conda.yaml, python_env.yaml, requirements.txt, constraints.txt), which MLflow writes after
 * measuring.
 */
export async function modelSizeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const rel of await listFiles(dir)) {
    if (NOT_COUNTED.has(rel.split(path.sep).join('/'))) continue;
    total += (await stat(path.join(dir, rel))).size;
  }
  return total;
}

/** Rewrites `<dir>/MLmodel` with the stamp and model_size_bytes; returns the values written. */
export async function stampMlmodel(dir: string, stamp: MlmodelStamp): Promise<Record<string, string | number>> {
  const file = path.join(dir, MLMODEL_FILE);
  const doc = parseDocument(await readFile(file, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${file}: not valid YAML (${doc.errors[0]!.message})`);
  const values: Record<string, string | number> = { artifact_path: stamp.artifactPath };
  if (stamp.modelId !== undefined) Object.assign(values, { model_id: stamp.modelId, model_uuid: stamp.modelId });
  if (stamp.runId !== undefined) values.run_id = stamp.runId;
  if (stamp.mlflowVersion !== undefined) values.mlflow_version = stamp.mlflowVersion;
  values.model_size_bytes = await modelSizeBytes(dir);
  for (const [key, value] of Object.entries(values)) doc.set(key, value);
  await writeFile(file, doc.toString());
  return values;
}
