/**
 * MLflow 3's LoggedModel API (`/api/2.0/mlflow/logged-models`, and `runs/outputs` to link a model to the run that
 * produced it), as MLflow 3.17's server exposes it (mlflow/server/handlers.py, mlflow/store/tracking/rest_store.py).
 * A logged model owns an artifact location of its own; model versions point at it with the source `models:/<id>`.
 */
import { MlflowError, MlflowUnsupportedVersion, MlflowValidationError } from './errors.js';
import type { MlflowHttp } from './http.js';
import { checkParam, checkTag } from './limits.js';
import { API } from './tracking.js';
import type { LoggedModel, LoggedModelStatus, ModelOutput } from './types.js';
import { Responses, toWire } from './wire.js';

const MODELS = `${API}/logged-models`;
// MLflow's client sends the first 100 params with the create call and the rest 100 at a time
// (_MLFLOW_CREATE_LOGGED_MODEL_PARAMS_BATCH_SIZE / _MLFLOW_LOG_LOGGED_MODEL_PARAMS_BATCH_SIZE).
const PARAMS_PER_REQUEST = 100;
// What MLflow's _validate_logged_model_name refuses in a logged model's name.
const BAD_NAME_CHARS = /[/:.%"']/;

const modelPath = (modelId: string) => `${MODELS}/${encodeURIComponent(modelId)}`;

/**
 * True when `error` says the server has no LoggedModel endpoints (MLflow < 3): a 404 without MLflow's error JSON (the
 * web framework's page for an unknown route), or MLflow's ENDPOINT_NOT_FOUND. A missing model answers
 * RESOURCE_DOES_NOT_EXIST instead, so it is never mistaken for an old server.
 */
export function isEndpointMissing(error: unknown): boolean {
  if (!(error instanceof MlflowError)) return false;
  if (error.errorCode === 'ENDPOINT_NOT_FOUND') return true;
  return error instanceof MlflowUnsupportedVersion && error.status === 404;
}

/** A logged model's name as MLflow accepts it: non-empty, without / : . % " or '. */
export function checkLoggedModelName(name: string): void {
  if (name === '' || BAD_NAME_CHARS.test(name)) {
    throw new MlflowValidationError(`logged model name "${name}" is empty or has one of / : . % " ' (refused by MLflow)`, { endpoint: MODELS });
  }
}

export interface CreateLoggedModelInput {
  experimentId: string;
  /** MLflow generates one when missing. */
  name?: string;
  /** A free-form type to search by (MLflow's flavors leave it empty). */
  modelType?: string;
  /** The run that produced the model. */
  sourceRunId?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

/** Creates a logged model in the PENDING state; params beyond the first 100 follow in further requests. */
export async function createLoggedModel(http: MlflowHttp, input: CreateLoggedModelInput): Promise<LoggedModel> {
  if (input.name !== undefined) checkLoggedModelName(input.name);
  const params = Object.entries(input.params ?? {}).map(([key, value]) => ({ key, value }));
  for (const p of params) checkParam(MODELS, p.key, p.value);
  for (const [key, value] of Object.entries(input.tags ?? {})) checkTag(MODELS, key, value);
  const body = {
    experiment_id: input.experimentId,
    name: input.name,
    model_type: input.modelType,
    source_run_id: input.sourceRunId,
    params: params.slice(0, PARAMS_PER_REQUEST),
    tags: toWire.tags(input.tags),
  };
  const model = await http.json({ method: 'POST', path: MODELS, json: body }, Responses.loggedModel);
  if (params.length <= PARAMS_PER_REQUEST) return model;
  for (let i = PARAMS_PER_REQUEST; i < params.length; i += PARAMS_PER_REQUEST) {
    const batch = params.slice(i, i + PARAMS_PER_REQUEST);
    await http.json({ method: 'POST', path: `${modelPath(model.modelId)}/params`, json: { model_id: model.modelId, params: batch } }, Responses.empty);
  }
  return getLoggedModel(http, model.modelId);
}

/** Ends a logged model's upload: READY, or UPLOAD_FAILED when its files could not be stored. */
export async function finalizeLoggedModel(http: MlflowHttp, modelId: string, status: Exclude<LoggedModelStatus, 'LOGGED_MODEL_PENDING'>): Promise<LoggedModel> {
  return http.json({ method: 'PATCH', path: modelPath(modelId), json: { model_id: modelId, status } }, Responses.loggedModel);
}

/** One logged model; MlflowNotFound when missing (or deleted, unless `allowDeleted`). */
export async function getLoggedModel(http: MlflowHttp, modelId: string, options: { allowDeleted?: boolean } = {}): Promise<LoggedModel> {
  const query = options.allowDeleted ? { allow_deleted: 'true' } : undefined;
  return http.json({ method: 'GET', path: modelPath(modelId), query }, Responses.loggedModel);
}

export interface SearchLoggedModelsInput {
  experimentIds: string[];
  /** e.g. "source_run_id = '…'" or "tags.`oracx.run_id` = '12'". */
  filter?: string;
  maxResults?: number;
  orderBy?: { fieldName: string; ascending?: boolean }[];
  pageToken?: string;
}

/** One page of active logged models of the given experiments. */
export async function searchLoggedModels(http: MlflowHttp, input: SearchLoggedModelsInput): Promise<{ models: LoggedModel[]; nextPageToken?: string }> {
  const body = {
    experiment_ids: input.experimentIds,
    filter: input.filter,
    max_results: input.maxResults,
    order_by: input.orderBy?.map((o) => ({ field_name: o.fieldName, ascending: o.ascending ?? true })),
    page_token: input.pageToken,
  };
  return http.json({ method: 'POST', path: `${MODELS}/search`, json: body }, Responses.loggedModels);
}

/** Marks a logged model deleted (its files stay in the artifact store, as with a deleted run). */
export async function deleteLoggedModel(http: MlflowHttp, modelId: string): Promise<void> {
  await http.json({ method: 'DELETE', path: modelPath(modelId), json: { model_id: modelId } }, Responses.empty);
}

/** Sets (adds or overwrites) tags on a logged model. */
export async function setLoggedModelTags(http: MlflowHttp, modelId: string, tags: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(tags)) checkTag(`${MODELS}/tags`, key, value);
  await http.json({ method: 'PATCH', path: `${modelPath(modelId)}/tags`, json: { tags: toWire.tags(tags) } }, Responses.empty);
}

/** Removes one tag from a logged model. */
export async function deleteLoggedModelTag(http: MlflowHttp, modelId: string, key: string): Promise<void> {
  await http.json({ method: 'DELETE', path: `${modelPath(modelId)}/tags/${encodeURIComponent(key)}` }, Responses.empty);
}

/** Records logged models as outputs of a run, as `log_model` does for the run it logs in. */
export async function logOutputs(http: MlflowHttp, runId: string, models: ModelOutput[]): Promise<void> {
  const body = { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: Math.trunc(m.step) })) };
  await http.json({ method: 'POST', path: `${API}/runs/outputs`, json: body }, Responses.empty);
}
