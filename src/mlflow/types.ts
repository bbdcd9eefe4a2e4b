/**
 * MLflow entities as oracx code sees them: camelCase, numbers as numbers, tags of experiments and registry objects as
 * records. `wire.ts` is the one place that maps them from and to MLflow's snake_case JSON.
 */

/**
 * Where runs go, as MLflow's environment names it: MLFLOW_EXPERIMENT_NAME and/or MLFLOW_EXPERIMENT_ID (at least one
 * is set; oracx defaults to the name "oracx").
 */
export interface ExperimentTarget {
  name?: string;
  id?: string;
}

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  /** 'active' or 'deleted' (a deleted experiment still holds its name). */
  lifecycleStage: string;
  creationTime?: number;
  lastUpdateTime?: number;
  tags: Record<string, string>;
}

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface RunInfo {
  runId: string;
  runName?: string;
  experimentId: string;
  userId?: string;
  status: RunStatus;
  /** Milliseconds since the epoch. */
  startTime?: number;
  endTime?: number;
  /** Root of the run's artifacts, e.g. `mlflow-artifacts:/1/<run>/artifacts`. */
  artifactUri: string;
  lifecycleStage: string;
}

/** One metric point; MLflow keeps every point (history) and the latest one per key. */
export interface Metric {
  key: string;
  /** NaN and ±Infinity are allowed (MLflow stores ±Infinity as ±Number.MAX_VALUE). */
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

/** A run parameter: MLflow refuses to change a logged value. */
export interface Param {
  key: string;
  value: string;
}

export interface RunTag {
  key: string;
  value: string;
}

export interface RunData {
  /** The latest point of each metric (use getMetricHistory for every point). */
  metrics: Metric[];
  params: Param[];
  tags: RunTag[];
}

/** A dataset as MLflow records it: `source` and `schema`/`profile` are JSON strings of the user's choosing. */
export interface Dataset {
  name: string;
  /** At most 36 characters (MLflow's limit). */
  digest: string;
  /** e.g. 'local', 'http', 'code'. */
  sourceType: string;
  source: string;
  schema?: string;
  profile?: string;
}

export interface InputTag {
  key: string;
  value: string;
}

/** A dataset used by a run, with its role in the run (the `mlflow.data.context` tag: 'training', 'evaluation', …). */
export interface DatasetInput {
  dataset: Dataset;
  context?: string;
  /** Other input tags; `context` is sent as the `mlflow.data.context` tag. */
  tags?: InputTag[];
}

/** A logged model the run produced (`mlflow.<flavor>.log_model` records one per model, at a step). */
export interface ModelOutput {
  modelId: string;
  step: number;
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: DatasetInput[];
  /** Logged models recorded as the run's outputs (MLflow 3; always empty on older servers). */
  outputs: ModelOutput[];
}

export type ModelVersionStatus = 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION' | 'READY';

export interface ModelVersion {
  name: string;
  version: string;
  /** Where the model files are, e.g. `mlflow-artifacts:/1/<run>/artifacts/model` or `runs:/<run>/model`. */
  source: string;
  runId?: string;
  runLink?: string;
  status: ModelVersionStatus;
  statusMessage?: string;
  description?: string;
  creationTimestamp?: number;
  lastUpdatedTimestamp?: number;
  tags: Record<string, string>;
  /** Aliases pointing at this version (present on get/alias lookups, not always on search results). */
  aliases?: string[];
}

export interface RegisteredModel {
  name: string;
  description?: string;
  creationTimestamp?: number;
  lastUpdatedTimestamp?: number;
  tags: Record<string, string>;
  /** alias → version. */
  aliases: Record<string, string>;
  latestVersions: ModelVersion[];
}

/** An artifact entry; `path` is relative to the run's artifact root (like MLflow's own FileInfo). */
export interface FileInfo {
  path: string;
  isDir: boolean;
  fileSize?: number;
}

/** MLflow 3's lifecycle of a logged model: PENDING while its files upload, then READY or UPLOAD_FAILED. */
export type LoggedModelStatus = 'LOGGED_MODEL_PENDING' | 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED';

/**
 * An MLflow 3 LoggedModel: a model as a first-class entity of an experiment, with its own artifact location
 * (`mlflow-artifacts:/<exp>/models/<id>/artifacts`), the run that produced it, params, tags and metrics. Model
 * versions point at one with the source `models:/<modelId>`.
 */
export interface LoggedModel {
  /** `m-` and 32 hex digits. */
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  status: LoggedModelStatus;
  statusMessage?: string;
  modelType?: string;
  sourceRunId?: string;
  creationTimestamp?: number;
  lastUpdatedTimestamp?: number;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Metric[];
}
