/** Model registry calls: registered models, model versions (with the wait until READY), aliases and tags. */
import { hasErrorCode, MlflowError, ModelVersionNotReady } from './errors.js';
import type { MlflowHttp } from './http.js';
import { checkLength, checkRegistryTag, LIMITS } from './limits.js';
import { API } from './tracking.js';
import type { ModelVersion, RegisteredModel } from './types.js';
import { Responses, toWire } from './wire.js';

const MODELS = `${API}/registered-models`;
const VERSIONS = `${API}/model-versions`;

/** Creates a registered model; when the name exists already (another process won the race), returns that one. */
export async function createRegisteredModel(
  http: MlflowHttp,
  name: string,
  input: { description?: string; tags?: Record<string, string> } = {},
): Promise<RegisteredModel> {
  for (const [key, value] of Object.entries(input.tags ?? {})) checkRegistryTag(`${MODELS}/create`, key, value);
  const body = { name, description: input.description, tags: toWire.tags(input.tags) };
  try {
    return await http.json({ method: 'POST', path: `${MODELS}/create`, json: body }, Responses.registeredModel);
  } catch (error) {
    if (!hasErrorCode(error, 'RESOURCE_ALREADY_EXISTS')) throw error;
    return getRegisteredModel(http, name);
  }
}

/** A registered model with its tags, aliases and latest versions; MlflowNotFound when missing. */
export async function getRegisteredModel(http: MlflowHttp, name: string): Promise<RegisteredModel> {
  return http.json({ method: 'GET', path: `${MODELS}/get`, query: { name } }, Responses.registeredModel);
}

/** One page of registered models, e.g. filter "name LIKE 'oracx-%'". */
export async function searchRegisteredModels(
  http: MlflowHttp,
  input: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
): Promise<{ models: RegisteredModel[]; nextPageToken?: string }> {
  const query = { filter: input.filter, max_results: input.maxResults, order_by: input.orderBy, page_token: input.pageToken };
  return http.json({ method: 'GET', path: `${MODELS}/search`, query }, Responses.registeredModels);
}

/** Deletes a registered model and all its versions. */
export async function deleteRegisteredModel(http: MlflowHttp, name: string): Promise<void> {
  await http.json({ method: 'DELETE', path: `${MODELS}/delete`, json: { name } }, Responses.empty);
}

/** Sets one tag on a registered model. */
export async function setRegisteredModelTag(http: MlflowHttp, name: string, key: string, value: string): Promise<void> {
  checkRegistryTag(`${MODELS}/set-tag`, key, value);
  await http.json({ method: 'POST', path: `${MODELS}/set-tag`, json: { name, key, value } }, Responses.empty);
}

/** Removes one tag of a registered model. */
export async function deleteRegisteredModelTag(http: MlflowHttp, name: string, key: string): Promise<void> {
  await http.json({ method: 'DELETE', path: `${MODELS}/delete-tag`, json: { name, key } }, Responses.empty);
}

/**
 * Registers files at `source` (mlflow-artifacts:/…, runs:/<id>/path) as a new version of `name`. For an MLflow 3
 * logged model, pass source `models:/<id>` and `modelId` (what MLflow's register_model sends; the server then takes
 * the run id from the logged model and tags it with the new version).
 */
export async function createModelVersion(
  http: MlflowHttp,
  input: { name: string; source: string; runId?: string; modelId?: string; description?: string; tags?: Record<string, string> },
): Promise<ModelVersion> {
  for (const [key, value] of Object.entries(input.tags ?? {})) checkRegistryTag(`${VERSIONS}/create`, key, value);
  const body = {
    name: input.name,
    source: input.source,
    run_id: input.runId,
    model_id: input.modelId,
    description: input.description,
    tags: toWire.tags(input.tags),
  };
  return http.json({ method: 'POST', path: `${VERSIONS}/create`, json: body }, Responses.modelVersion);
}

/** One model version; MlflowNotFound when missing. */
export async function getModelVersion(http: MlflowHttp, name: string, version: string): Promise<ModelVersion> {
  return http.json({ method: 'GET', path: `${VERSIONS}/get`, query: { name, version } }, Responses.modelVersion);
}

/** One page of model versions, e.g. filter "name = 'oracx-1x2'", orderBy ['version_number DESC']. */
export async function searchModelVersions(
  http: MlflowHttp,
  input: { filter?: string; maxResults?: number; orderBy?: string[]; pageToken?: string } = {},
): Promise<{ versions: ModelVersion[]; nextPageToken?: string }> {
  const query = { filter: input.filter, max_results: input.maxResults, order_by: input.orderBy, page_token: input.pageToken };
  return http.json({ method: 'GET', path: `${VERSIONS}/search`, query }, Responses.modelVersions);
}

/** Polls until the version is READY; ModelVersionNotReady when it failed registration or is still pending at the timeout. */
export async function waitModelVersionReady(
  http: MlflowHttp,
  name: string,
  version: string,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<ModelVersion> {
  // MLflow's own client waits up to 300 s.
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollMs = Math.max(1, options.pollMs ?? 1000);
  const started = Date.now();
  let slept = 0;
  for (;;) {
    const mv = await getModelVersion(http, name, version);
    const details = { endpoint: `${VERSIONS}/get`, modelName: name, version, versionStatus: mv.status };
    if (mv.status === 'READY') return mv;
    if (mv.status === 'FAILED_REGISTRATION') {
      throw new ModelVersionNotReady(`model ${name} version ${version} failed registration${mv.statusMessage ? `: ${mv.statusMessage}` : ''}`, {
        ...details,
        hint: 'check the version source and the server log, then register again',
      });
    }
    // Injected sleeps don't move the clock: count the time waited as well as the time passed.
    const elapsed = Math.max(Date.now() - started, slept);
    if (elapsed >= timeoutMs) {
      throw new ModelVersionNotReady(`model ${name} version ${version} is still ${mv.status} after ${Math.round(elapsed / 1000)} s`, {
        ...details,
        hint: 'the registry is slow to copy the files: wait longer (timeoutMs) or check the server',
      });
    }
    const delay = Math.min(pollMs, timeoutMs - elapsed);
    await http.wait(delay);
    slept += delay;
  }
}

/** Deletes one model version (its files stay where its source points). */
export async function deleteModelVersion(http: MlflowHttp, name: string, version: string): Promise<void> {
  await http.json({ method: 'DELETE', path: `${VERSIONS}/delete`, json: { name, version } }, Responses.empty);
}

/** Sets one tag on a model version. */
export async function setModelVersionTag(http: MlflowHttp, name: string, version: string, key: string, value: string): Promise<void> {
  checkRegistryTag(`${VERSIONS}/set-tag`, key, value);
  await http.json({ method: 'POST', path: `${VERSIONS}/set-tag`, json: { name, version, key, value } }, Responses.empty);
}

/** Points `alias` (e.g. 'champion') at a version, moving it if it pointed elsewhere. */
export async function setAlias(http: MlflowHttp, name: string, alias: string, version: string): Promise<void> {
  checkLength(`${MODELS}/alias`, 'alias', alias, LIMITS.aliasLength);
  await http.json({ method: 'POST', path: `${MODELS}/alias`, json: { name, alias, version } }, Responses.empty);
}

/** Removes an alias (the version stays). */
export async function deleteAlias(http: MlflowHttp, name: string, alias: string): Promise<void> {
  await http.json({ method: 'DELETE', path: `${MODELS}/alias`, json: { name, alias } }, Responses.empty);
}

/** The version an alias points at, or null when the alias is not set (MLflow answers the same for an unknown model). */
export async function getVersionByAlias(http: MlflowHttp, name: string, alias: string): Promise<ModelVersion | null> {
  try {
    return await http.json({ method: 'GET', path: `${MODELS}/alias`, query: { name, alias } }, Responses.modelVersion);
  } catch (error) {
    // MLflow answers an unset alias with INVALID_PARAMETER_VALUE "Registered model alias … not found" (HTTP 400).
    if (
      error instanceof MlflowError &&
      (error.errorCode === 'INVALID_PARAMETER_VALUE' || error.errorCode === 'RESOURCE_DOES_NOT_EXIST') &&
      /alias .* not found/i.test(error.message)
    ) {
      return null;
    }
    throw error;
  }
}
