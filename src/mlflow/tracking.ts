/** Tracking calls: server version, experiments, runs, log-batch, log-inputs, tags and metric history. */
import { planBatch, type Batch } from './batch.js';
import { hasErrorCode, MlflowError, MlflowNotFound, MlflowUnsupportedVersion } from './errors.js';
import type { MlflowHttp } from './http.js';
import { checkExperimentTag, checkLength, checkTag, LIMITS } from './limits.js';
import { standardRunTags, TAG } from './run-tags.js';
import type { DatasetInput, Experiment, ExperimentTarget, Metric, Run, RunInfo, RunStatus } from './types.js';
import { Responses, toWire } from './wire.js';

export const API = '/api/2.0/mlflow';
/** Oldest server oracx talks to: aliases need 2.3, log-inputs 2.4; 2.9 is the oldest release tested against. */
export const MIN_SERVER_VERSION = '2.9.0';

/** `GET /version`: the server's MLflow version string, e.g. "3.17.2". */
export async function serverVersion(http: MlflowHttp): Promise<string> {
  const response = await http.request({ method: 'GET', path: '/version' });
  return new TextDecoder().decode(response.body).trim();
}

/** Compares dotted versions numerically on major.minor.patch ("2.10.0" > "2.9.1"); pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => (/^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim()) ?? []).slice(1, 4).map((x) => Number(x ?? 0));
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The server's version; throws MlflowUnsupportedVersion below MIN_SERVER_VERSION or when it is not a version. */
export async function checkServerVersion(http: MlflowHttp): Promise<string> {
  const version = await serverVersion(http);
  if (!/^v?\d+\.\d+/.test(version)) {
    throw new MlflowUnsupportedVersion(`MLflow at ${http.displayUri}: GET /version answered "${version.slice(0, 60)}", not a version number`, {
      endpoint: '/version',
      serverVersion: version,
      hint: 'check that MLFLOW_TRACKING_URI points at an MLflow tracking server',
    });
  }
  if (compareVersions(version, MIN_SERVER_VERSION) < 0) {
    throw new MlflowUnsupportedVersion(`MLflow at ${http.displayUri} is version ${version}; oracx needs ${MIN_SERVER_VERSION} or later`, {
      endpoint: '/version',
      serverVersion: version,
      hint: 'upgrade the tracking server (pip install -U mlflow)',
    });
  }
  return version;
}

/** The experiment with this name (also a deleted one), or null. */
export async function getExperimentByName(http: MlflowHttp, name: string): Promise<Experiment | null> {
  try {
    return await http.json({ method: 'GET', path: `${API}/experiments/get-by-name`, query: { experiment_name: name } }, Responses.experiment);
  } catch (error) {
    if (error instanceof MlflowNotFound) return null;
    throw error;
  }
}

/** Creates an experiment; its id. RESOURCE_ALREADY_EXISTS when the name is taken. */
export async function createExperiment(http: MlflowHttp, name: string, tags?: Record<string, string>): Promise<string> {
  const endpoint = `${API}/experiments/create`;
  if (name.trim() === '') throw new MlflowError('experiment name is empty', { endpoint, errorCode: 'INVALID_PARAMETER_VALUE' });
  checkLength(endpoint, 'experiment name', name, LIMITS.experimentNameLength);
  for (const [key, value] of Object.entries(tags ?? {})) checkExperimentTag(endpoint, key, value);
  return http.json({ method: 'POST', path: endpoint, json: { name, tags: toWire.tags(tags) } }, Responses.experimentId);
}

function activeId(experiment: Experiment): string {
  if (experiment.lifecycleStage === 'deleted') {
    throw new MlflowError(`MLflow experiment "${experiment.name}" (id ${experiment.experimentId}) is deleted and still holds its name`, {
      endpoint: `${API}/experiments/get-by-name`,
      hint: `restore it (mlflow experiments restore --experiment-id ${experiment.experimentId}) or use another experiment name`,
    });
  }
  return experiment.experimentId;
}

/** The id of the named experiment, created when missing; concurrent callers all get the same id. */
export async function getOrCreateExperiment(http: MlflowHttp, name: string): Promise<string> {
  const existing = await getExperimentByName(http, name);
  if (existing) return activeId(existing);
  try {
    return await createExperiment(http, name);
  } catch (error) {
    // Someone created it between our lookup and our create.
    if (!hasErrorCode(error, 'RESOURCE_ALREADY_EXISTS')) throw error;
    const winner = await getExperimentByName(http, name);
    if (!winner) throw error;
    return activeId(winner);
  }
}

/** The experiment with this id (also a deleted one), or null (no such id, or one this server cannot parse). */
export async function getExperiment(http: MlflowHttp, id: string): Promise<Experiment | null> {
  try {
    return await http.json({ method: 'GET', path: `${API}/experiments/get`, query: { experiment_id: id } }, Responses.experiment);
  } catch (error) {
    if (error instanceof MlflowNotFound || hasErrorCode(error, 'INVALID_PARAMETER_VALUE')) return null;
    throw error;
  }
}

/**
 * The id of the experiment runs go to, as MLflow's fluent API resolves its environment (mlflow.tracking.fluent.
 * _get_experiment_id_from_env, MLflow 2.x–3.x): the name first, created when missing; when both are set and the
 * named experiment exists, the id must be its id. The id alone must name an existing experiment: it is never
 * created, and no run is made elsewhere instead.
 */
export async function resolveExperiment(http: MlflowHttp, target: ExperimentTarget): Promise<string> {
  if (target.name !== undefined) {
    const existing = await getExperimentByName(http, target.name);
    // Like MLflow, a missing name is created whatever MLFLOW_EXPERIMENT_ID says.
    if (!existing) return getOrCreateExperiment(http, target.name);
    if (target.id !== undefined && target.id !== existing.experimentId) {
      throw new MlflowError(
        `MLFLOW_EXPERIMENT_ID=${target.id} does not match experiment "${target.name}" (id ${existing.experimentId}) named by MLFLOW_EXPERIMENT_NAME`,
        {
          endpoint: `${API}/experiments/get-by-name`,
          errorCode: 'INVALID_PARAMETER_VALUE',
          hint: 'set only one of MLFLOW_EXPERIMENT_NAME and MLFLOW_EXPERIMENT_ID, or make them name the same experiment',
        },
      );
    }
    return activeId(existing);
  }
  if (target.id === undefined) throw new MlflowError('no experiment given (neither a name nor an id)', { endpoint: `${API}/experiments/get` });
  const found = await getExperiment(http, target.id);
  if (!found) {
    throw new MlflowNotFound(`MLFLOW_EXPERIMENT_ID=${target.id}: MLflow at ${http.displayUri} has no experiment with this id`, {
      endpoint: `${API}/experiments/get`,
      errorCode: 'RESOURCE_DOES_NOT_EXIST',
      hint: "set MLFLOW_EXPERIMENT_ID to an existing experiment's id (see the MLflow UI or `mlflow experiments search`), or unset it and set MLFLOW_EXPERIMENT_NAME (created when missing)",
    });
  }
  return activeId(found);
}

export interface CreateRunInput {
  experimentId: string;
  runName?: string;
  /** Milliseconds since the epoch; now by default. */
  startTime?: number;
  /** Added to (and overriding) the standard mlflow.* tags. */
  tags?: Record<string, string>;
}

/** Starts a run (status RUNNING) with the standard mlflow.* tags plus `tags`. */
export async function createRun(http: MlflowHttp, input: CreateRunInput): Promise<RunInfo> {
  const endpoint = `${API}/runs/create`;
  const tags = { ...standardRunTags({ runName: input.runName }), ...input.tags };
  for (const [key, value] of Object.entries(tags)) checkTag(endpoint, key, value);
  const body = {
    experiment_id: input.experimentId,
    user_id: tags[TAG.user] ?? '',
    run_name: input.runName,
    start_time: Math.trunc(input.startTime ?? Date.now()),
    tags: toWire.tags(tags),
  };
  const run = await http.json({ method: 'POST', path: endpoint, json: body }, Responses.run);
  return run.info;
}

export interface UpdateRunInput {
  status?: RunStatus;
  /** Defaults to now when `status` ends the run (FINISHED, FAILED, KILLED). */
  endTime?: number;
  runName?: string;
}

/** Sets a run's status, end time or name. */
export async function updateRun(http: MlflowHttp, runId: string, input: UpdateRunInput): Promise<RunInfo> {
  const terminal = input.status === 'FINISHED' || input.status === 'FAILED' || input.status === 'KILLED';
  const endTime = input.endTime ?? (terminal ? Date.now() : undefined);
  const body = { run_id: runId, status: input.status, end_time: endTime === undefined ? undefined : Math.trunc(endTime), run_name: input.runName };
  return http.json({ method: 'POST', path: `${API}/runs/update`, json: body }, Responses.runInfo);
}

/** A run with its latest metrics, params, tags and dataset inputs. */
export async function getRun(http: MlflowHttp, runId: string): Promise<Run> {
  return http.json({ method: 'GET', path: `${API}/runs/get`, query: { run_id: runId } }, Responses.run);
}

export interface SearchRunsInput {
  experimentIds: string[];
  /** MLflow search syntax, e.g. `metrics.rps < 0.21 and params.model = 'logreg'`. */
  filter?: string;
  /** e.g. ['metrics.rps ASC', 'attributes.start_time DESC']. */
  orderBy?: string[];
  /** Page size (MLflow's default 1000, max 50,000). */
  maxResults?: number;
  pageToken?: string;
}

/** One page of active runs. */
export async function searchRuns(http: MlflowHttp, input: SearchRunsInput): Promise<{ runs: Run[]; nextPageToken?: string }> {
  const body = {
    experiment_ids: input.experimentIds,
    filter: input.filter,
    run_view_type: 'ACTIVE_ONLY',
    max_results: input.maxResults,
    order_by: input.orderBy,
    page_token: input.pageToken,
  };
  return http.json({ method: 'POST', path: `${API}/runs/search`, json: body }, Responses.runs);
}

/** Every matching run, page after page. */
export async function* searchAllRuns(http: MlflowHttp, input: Omit<SearchRunsInput, 'pageToken'>): AsyncGenerator<Run> {
  let pageToken: string | undefined;
  do {
    const page = await searchRuns(http, { ...input, maxResults: input.maxResults ?? 1000, pageToken });
    yield* page.runs;
    pageToken = page.nextPageToken;
  } while (pageToken);
}

/** Logs metrics, params and tags in as few requests as MLflow's limits allow (see batch.ts). */
export async function logBatch(http: MlflowHttp, runId: string, batch: Batch): Promise<void> {
  const chunks = planBatch(batch);
  for (const [i, chunk] of chunks.entries()) {
    try {
      await http.json({ method: 'POST', path: `${API}/runs/log-batch`, json: { run_id: runId, ...chunk } }, Responses.empty);
    } catch (error) {
      if (error instanceof MlflowError && chunks.length > 1) {
        error.message += ` [log-batch request ${i + 1} of ${chunks.length}${i > 0 ? `; the ${i} before it were logged` : ''}]`;
      }
      throw error;
    }
  }
}

function checkDatasetInput(endpoint: string, input: DatasetInput): void {
  const d = input.dataset;
  checkLength(endpoint, 'dataset name', d.name, LIMITS.datasetName);
  checkLength(endpoint, `dataset "${d.name}" digest`, d.digest, LIMITS.datasetDigest);
  checkLength(endpoint, `dataset "${d.name}" source`, d.source, LIMITS.datasetSource);
  if (d.schema !== undefined) checkLength(endpoint, `dataset "${d.name}" schema`, d.schema, LIMITS.datasetSchema);
  if (d.profile !== undefined) checkLength(endpoint, `dataset "${d.name}" profile`, d.profile, LIMITS.datasetProfile);
  for (const tag of toWire.datasetInput(input).tags) {
    checkLength(endpoint, 'input tag key', tag.key, LIMITS.inputTagKey);
    checkLength(endpoint, `input tag "${tag.key}" value`, tag.value, LIMITS.inputTagValue);
  }
}

/** Records datasets the run used, each with its context ('training', 'evaluation', …). */
export async function logInputs(http: MlflowHttp, runId: string, inputs: DatasetInput[]): Promise<void> {
  const endpoint = `${API}/runs/log-inputs`;
  for (const input of inputs) checkDatasetInput(endpoint, input);
  for (let i = 0; i < inputs.length; i += LIMITS.datasetsPerBatch) {
    const datasets = inputs.slice(i, i + LIMITS.datasetsPerBatch).map(toWire.datasetInput);
    await http.json({ method: 'POST', path: endpoint, json: { run_id: runId, datasets } }, Responses.empty);
  }
}

/** Sets (or overwrites) one run tag. */
export async function setTag(http: MlflowHttp, runId: string, key: string, value: string): Promise<void> {
  const endpoint = `${API}/runs/set-tag`;
  checkTag(endpoint, key, value);
  await http.json({ method: 'POST', path: endpoint, json: { run_id: runId, key, value } }, Responses.empty);
}

/** Every logged point of one metric, in the server's order (pages followed). */
export async function getMetricHistory(http: MlflowHttp, runId: string, key: string): Promise<Metric[]> {
  const out: Metric[] = [];
  let pageToken: string | undefined;
  do {
    const query = { run_id: runId, metric_key: key, max_results: 25_000, page_token: pageToken };
    const page = await http.json({ method: 'GET', path: `${API}/metrics/get-history`, query }, Responses.metricHistory);
    out.push(...page.metrics);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}
