/**
 * MLflow's REST JSON (snake_case, int64 as numbers or strings, NaN as a string) validated with zod and mapped to the
 * camelCase types of types.ts — and back for request bodies. The only place that knows the wire format.
 */
import { z } from 'zod';
import type {
  DatasetInput,
  Experiment,
  FileInfo,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelVersion,
  ModelVersionStatus,
  Param,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  RunTag,
} from './types.js';

/** The input tag MLflow uses for a dataset's role in a run. */
export const CONTEXT_TAG = 'mlflow.data.context';

// proto3 JSON allows int64 as strings; MLflow sends numbers. Accept both.
const int64 = z.union([z.number(), z.string()]).transform(Number);
// Doubles: NaN/Infinity arrive as strings.
const double = z.union([z.number(), z.string()]).transform(Number);
const str = z.string().optional();
const tagList = z.array(z.object({ key: z.string(), value: z.string().default('') })).default([]);

const WireExperiment = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().default(''),
  lifecycle_stage: z.string().default('active'),
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: tagList,
});

const WireRunInfo = z.object({
  run_id: z.string().optional(),
  run_uuid: z.string().optional(),
  run_name: str,
  experiment_id: z.string(),
  user_id: str,
  status: z.string().default('RUNNING'),
  start_time: int64.optional(),
  end_time: int64.optional(),
  artifact_uri: z.string().default(''),
  lifecycle_stage: z.string().default('active'),
});

const WireMetric = z.object({ key: z.string(), value: double, timestamp: int64.default(0), step: int64.default(0) });
const WireDataset = z.object({
  name: z.string(),
  digest: z.string().default(''),
  source_type: z.string().default(''),
  source: z.string().default(''),
  schema: str,
  profile: str,
});

const WireRun = z.object({
  info: WireRunInfo,
  data: z
    .object({
      metrics: z.array(WireMetric).default([]),
      params: z.array(z.object({ key: z.string(), value: z.string().default('') })).default([]),
      tags: tagList,
    })
    .default({ metrics: [], params: [], tags: [] }),
  inputs: z.object({ dataset_inputs: z.array(z.object({ tags: tagList, dataset: WireDataset })).default([]) }).default({ dataset_inputs: [] }),
  // MLflow 3: the logged models the run produced.
  outputs: z.object({ model_outputs: z.array(z.object({ model_id: z.string(), step: int64.default(0) })).default([]) }).default({ model_outputs: [] }),
});

const WireModelVersion = z.object({
  name: z.string(),
  version: z.union([z.string(), z.number()]).transform(String),
  source: z.string().default(''),
  run_id: str,
  run_link: str,
  status: z.string().default('READY'),
  status_message: str,
  description: str,
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  tags: tagList,
  aliases: z.array(z.string()).optional(),
});

const WireRegisteredModel = z.object({
  name: z.string(),
  description: str,
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  tags: tagList,
  aliases: z.array(z.object({ alias: z.string(), version: z.union([z.string(), z.number()]).transform(String) })).default([]),
  latest_versions: z.array(WireModelVersion).default([]),
});

const WireLoggedModel = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string().default(''),
    artifact_uri: z.string().default(''),
    status: z.string().default('LOGGED_MODEL_PENDING'),
    status_message: str,
    model_type: str,
    source_run_id: str,
    creation_timestamp_ms: int64.optional(),
    last_updated_timestamp_ms: int64.optional(),
    tags: tagList,
  }),
  data: z
    .object({
      params: z.array(z.object({ key: z.string(), value: z.string().default('') })).default([]),
      metrics: z.array(WireMetric).default([]),
    })
    .default({ params: [], metrics: [] }),
});

const WireFileInfo = z.object({ path: z.string(), is_dir: z.boolean().default(false), file_size: int64.optional() });

const record = (tags: { key: string; value: string }[]) => Object.fromEntries(tags.map((t) => [t.key, t.value]));
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function experiment(w: z.infer<typeof WireExperiment>): Experiment {
  return defined({
    experimentId: w.experiment_id,
    name: w.name,
    artifactLocation: w.artifact_location,
    lifecycleStage: w.lifecycle_stage,
    creationTime: w.creation_time,
    lastUpdateTime: w.last_update_time,
    tags: record(w.tags),
  });
}

function runInfo(w: z.infer<typeof WireRunInfo>): RunInfo {
  return defined({
    runId: w.run_id ?? w.run_uuid ?? '',
    runName: w.run_name,
    experimentId: w.experiment_id,
    userId: w.user_id || undefined,
    status: w.status as RunStatus,
    startTime: w.start_time,
    endTime: w.end_time,
    artifactUri: w.artifact_uri,
    lifecycleStage: w.lifecycle_stage,
  });
}

function run(w: z.infer<typeof WireRun>): Run {
  return {
    info: runInfo(w.info),
    data: { metrics: w.data.metrics, params: w.data.params, tags: w.data.tags },
    inputs: w.inputs.dataset_inputs.map((d) => {
      const context = d.tags.find((t) => t.key === CONTEXT_TAG)?.value;
      const tags = d.tags.filter((t) => t.key !== CONTEXT_TAG);
      const dataset = defined({
        name: d.dataset.name,
        digest: d.dataset.digest,
        sourceType: d.dataset.source_type,
        source: d.dataset.source,
        schema: d.dataset.schema,
        profile: d.dataset.profile,
      });
      return defined({ dataset, context, tags: tags.length > 0 ? tags : undefined });
    }),
    outputs: w.outputs.model_outputs.map((o) => ({ modelId: o.model_id, step: o.step })),
  };
}

function modelVersion(w: z.infer<typeof WireModelVersion>): ModelVersion {
  return defined({
    name: w.name,
    version: w.version,
    source: w.source,
    runId: w.run_id || undefined,
    runLink: w.run_link || undefined,
    status: w.status as ModelVersionStatus,
    statusMessage: w.status_message || undefined,
    description: w.description || undefined,
    creationTimestamp: w.creation_timestamp,
    lastUpdatedTimestamp: w.last_updated_timestamp,
    tags: record(w.tags),
    aliases: w.aliases,
  });
}

function registeredModel(w: z.infer<typeof WireRegisteredModel>): RegisteredModel {
  return defined({
    name: w.name,
    description: w.description || undefined,
    creationTimestamp: w.creation_timestamp,
    lastUpdatedTimestamp: w.last_updated_timestamp,
    tags: record(w.tags),
    aliases: Object.fromEntries(w.aliases.map((a) => [a.alias, a.version])),
    latestVersions: w.latest_versions.map(modelVersion),
  });
}

function loggedModel(w: z.infer<typeof WireLoggedModel>): LoggedModel {
  const i = w.info;
  return defined({
    modelId: i.model_id,
    experimentId: i.experiment_id,
    name: i.name,
    artifactUri: i.artifact_uri,
    status: i.status as LoggedModelStatus,
    statusMessage: i.status_message || undefined,
    modelType: i.model_type || undefined,
    sourceRunId: i.source_run_id || undefined,
    creationTimestamp: i.creation_timestamp_ms,
    lastUpdatedTimestamp: i.last_updated_timestamp_ms,
    tags: record(i.tags),
    params: record(w.data.params),
    metrics: w.data.metrics as Metric[],
  });
}

const page = { next_page_token: str };

/** Response schemas, each already mapped to the camelCase types. */
export const Responses = {
  empty: z.object({}).passthrough(),
  experiment: z.object({ experiment: WireExperiment }).transform((r) => experiment(r.experiment)),
  experimentId: z.object({ experiment_id: z.string() }).transform((r) => r.experiment_id),
  run: z.object({ run: WireRun }).transform((r) => run(r.run)),
  runInfo: z.object({ run_info: WireRunInfo }).transform((r) => runInfo(r.run_info)),
  runs: z
    .object({ runs: z.array(WireRun).default([]), ...page })
    .transform((r) => defined({ runs: r.runs.map(run), nextPageToken: r.next_page_token || undefined })),
  metricHistory: z
    .object({ metrics: z.array(WireMetric).default([]), ...page })
    .transform((r) => defined({ metrics: r.metrics as Metric[], nextPageToken: r.next_page_token || undefined })),
  files: z
    .object({ files: z.array(WireFileInfo).default([]) })
    .transform((r) => r.files.map((f): FileInfo => defined({ path: f.path, isDir: f.is_dir, fileSize: f.file_size }))),
  registeredModel: z.object({ registered_model: WireRegisteredModel }).transform((r) => registeredModel(r.registered_model)),
  registeredModels: z
    .object({ registered_models: z.array(WireRegisteredModel).default([]), ...page })
    .transform((r) => defined({ models: r.registered_models.map(registeredModel), nextPageToken: r.next_page_token || undefined })),
  modelVersion: z.object({ model_version: WireModelVersion }).transform((r) => modelVersion(r.model_version)),
  modelVersions: z
    .object({ model_versions: z.array(WireModelVersion).default([]), ...page })
    .transform((r) => defined({ versions: r.model_versions.map(modelVersion), nextPageToken: r.next_page_token || undefined })),
  loggedModel: z.object({ model: WireLoggedModel }).transform((r) => loggedModel(r.model)),
  loggedModels: z
    .object({ models: z.array(WireLoggedModel).default([]), ...page })
    .transform((r) => defined({ models: r.models.map(loggedModel), nextPageToken: r.next_page_token || undefined })),
};

/** JSON can't carry NaN or ±Infinity; MLflow's proto parser reads them as strings. */
function wireDouble(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Request-body forms of metrics, params, tags, tag records and dataset inputs. */
export const toWire = {
  metric: (m: Metric) => ({ key: m.key, value: wireDouble(m.value), timestamp: Math.trunc(m.timestamp), step: Math.trunc(m.step) }),
  param: (p: Param) => ({ key: p.key, value: p.value }),
  tag: (t: RunTag) => ({ key: t.key, value: t.value }),
  tags: (tags: Record<string, string> | undefined) => Object.entries(tags ?? {}).map(([key, value]) => ({ key, value })),
  datasetInput: (d: DatasetInput) => ({
    tags: [...(d.context !== undefined ? [{ key: CONTEXT_TAG, value: d.context }] : []), ...(d.tags ?? [])],
    dataset: defined({
      name: d.dataset.name,
      digest: d.dataset.digest,
      source_type: d.dataset.sourceType,
      source: d.dataset.source,
      schema: d.dataset.schema,
      profile: d.dataset.profile,
    }),
  }),
};
