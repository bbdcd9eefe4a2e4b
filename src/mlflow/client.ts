/**
 * The typed MLflow REST client oracx uses for tracking, artifacts and the model registry. Every call goes through
 * one transport (http.ts: auth, timeouts, retries, typed errors); the calls themselves live in tracking.ts,
 * artifacts.ts and registry.ts.
 */
import path from 'node:path';
import { downloadProxied, downloadTree, joinArtifactPath, listProxied, normaliseArtifactPath, proxiedPath, uploadProxied, uploadTree } from './artifacts.js';
import type { Batch } from './batch.js';
import { MlflowError } from './errors.js';
import { MlflowHttp, type TransportOptions } from './http.js';
import * as logged from './logged-models.js';
import type { CreateLoggedModelInput, SearchLoggedModelsInput } from './logged-models.js';
import * as registry from './registry.js';
import type { MlflowSettings } from './settings.js';
import * as tracking from './tracking.js';
import type { CreateRunInput, SearchRunsInput, UpdateRunInput } from './tracking.js';
import type {
  DatasetInput,
  Experiment,
  ExperimentTarget,
  FileInfo,
  LoggedModel,
  LoggedModelStatus,
  Metric,
  ModelOutput,
  ModelVersion,
  RegisteredModel,
  Run,
  RunInfo,
} from './types.js';

export { isEndpointMissing } from './logged-models.js';
export { standardRunTags } from './run-tags.js';
export type { RetryInfo, TransportOptions as MlflowClientOptions } from './http.js';
export { MIN_SERVER_VERSION } from './tracking.js';

/** Client for one tracking server; cheap to create, safe to share within a process. */
export class MlflowClient {
  readonly settings: MlflowSettings;
  private readonly http: MlflowHttp;
  // A run's artifact root never changes: look it up once.
  private readonly artifactRoots = new Map<string, Promise<string>>();

  constructor(settings: MlflowSettings, options: TransportOptions = {}) {
    this.settings = settings;
    this.http = new MlflowHttp(settings, options);
  }

  /** The tracking URI with credentials redacted, for messages. */
  get displayUri(): string {
    return this.http.displayUri;
  }

  /** `GET /version`. */
  serverVersion(): Promise<string> {
    return tracking.serverVersion(this.http);
  }

  /** The server's version; MlflowUnsupportedVersion when older than MIN_SERVER_VERSION. */
  checkServerVersion(): Promise<string> {
    return tracking.checkServerVersion(this.http);
  }

  /** The named experiment (deleted ones included), or null. */
  getExperimentByName(name: string): Promise<Experiment | null> {
    return tracking.getExperimentByName(this.http, name);
  }

  /** Creates an experiment and returns its id (RESOURCE_ALREADY_EXISTS when the name is taken). */
  createExperiment(name: string, tags?: Record<string, string>): Promise<string> {
    return tracking.createExperiment(this.http, name, tags);
  }

  /** The named experiment's id, created when missing; race-safe across processes. */
  getOrCreateExperiment(name: string): Promise<string> {
    return tracking.getOrCreateExperiment(this.http, name);
  }

  /** The experiment with this id (deleted ones included), or null. */
  getExperiment(id: string): Promise<Experiment | null> {
    return tracking.getExperiment(this.http, id);
  }

  /** The id of the experiment MLFLOW_EXPERIMENT_NAME / MLFLOW_EXPERIMENT_ID name, as MLflow resolves them. */
  resolveExperiment(target: ExperimentTarget): Promise<string> {
    return tracking.resolveExperiment(this.http, target);
  }

  /** Starts a run with the standard mlflow.* tags (source, user, git commit, run name) plus `tags`. */
  createRun(input: CreateRunInput): Promise<RunInfo> {
    return tracking.createRun(this.http, input);
  }

  /** Updates status / end time / name; a terminal status without endTime ends the run now. */
  updateRun(runId: string, input: UpdateRunInput): Promise<RunInfo> {
    return tracking.updateRun(this.http, runId, input);
  }

  /** A run with latest metrics, params, tags and dataset inputs. */
  getRun(runId: string): Promise<Run> {
    return tracking.getRun(this.http, runId);
  }

  /** One page of active runs. */
  searchRuns(input: SearchRunsInput): Promise<{ runs: Run[]; nextPageToken?: string }> {
    return tracking.searchRuns(this.http, input);
  }

  /** Every matching active run, following the pages (`maxResults` is the page size). */
  searchAllRuns(input: Omit<SearchRunsInput, 'pageToken'>): AsyncIterable<Run> {
    return tracking.searchAllRuns(this.http, input);
  }

  /** Every logged point of one metric. */
  getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return tracking.getMetricHistory(this.http, runId, key);
  }

  /** Logs metrics, params and tags, split into requests within MLflow's limits; validated first. */
  logBatch(runId: string, batch: Batch): Promise<void> {
    return tracking.logBatch(this.http, runId, batch);
  }

  /** Records datasets used by the run. */
  logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    return tracking.logInputs(this.http, runId, inputs);
  }

  /** Sets one run tag. */
  setTag(runId: string, key: string, value: string): Promise<void> {
    return tracking.setTag(this.http, runId, key, value);
  }

  /** The proxied path of a run's artifact root, e.g. `1/<run>/artifacts`. */
  private artifactRoot(runId: string): Promise<string> {
    let root = this.artifactRoots.get(runId);
    if (!root) {
      root = this.getRun(runId).then((run) => proxiedPath(run.info.artifactUri));
      root.catch(() => this.artifactRoots.delete(runId));
      this.artifactRoots.set(runId, root);
    }
    return root;
  }

  /** Uploads one file to `artifactPath` below the run's artifact root, e.g. 'model/model.onnx'. */
  async uploadArtifact(runId: string, artifactPath: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    const target = joinArtifactPath(await this.artifactRoot(runId), normaliseArtifactPath(artifactPath));
    await uploadProxied(this.http, target, body, contentType);
  }

  /** Uploads every file under `localDir` (recursively) below `artifactPath` (default: the root). */
  async uploadArtifactDir(runId: string, localDir: string, artifactPath = ''): Promise<void> {
    const target = joinArtifactPath(await this.artifactRoot(runId), normaliseArtifactPath(artifactPath, { root: true }));
    await uploadTree(this.http, target, localDir);
  }

  /** Entries directly under `path` (default: the root); their paths are relative to the run's artifact root. */
  async listArtifacts(runId: string, path = ''): Promise<FileInfo[]> {
    const rel = normaliseArtifactPath(path, { root: true });
    const files = await listProxied(this.http, joinArtifactPath(await this.artifactRoot(runId), rel));
    return files.map((f) => ({ ...f, path: joinArtifactPath(rel, f.path) }));
  }

  /** One artifact file's bytes (MlflowNotFound when missing). */
  async downloadArtifact(runId: string, path: string): Promise<Uint8Array> {
    return downloadProxied(this.http, joinArtifactPath(await this.artifactRoot(runId), normaliseArtifactPath(path)));
  }

  /** Downloads a file or a directory tree to `destDir/<path>` (MLflow's layout); returns the local files. */
  async downloadArtifacts(runId: string, artifactPath: string, destDir: string): Promise<string[]> {
    const rel = normaliseArtifactPath(artifactPath, { root: true });
    return downloadTree(this.http, joinArtifactPath(await this.artifactRoot(runId), rel), path.join(destDir, ...rel.split('/')));
  }

  /** Uploads every file under `localDir` below an artifact location (e.g. a logged model's `artifactUri`); the files. */
  async uploadArtifactDirToUri(artifactUri: string, localDir: string, artifactPath = ''): Promise<string[]> {
    return uploadTree(this.http, joinArtifactPath(proxiedPath(artifactUri), normaliseArtifactPath(artifactPath, { root: true })), localDir);
  }

  /** Every file below an artifact location, as paths relative to it, sorted. */
  async listArtifactFilesAtUri(artifactUri: string): Promise<string[]> {
    const root = proxiedPath(artifactUri);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const entry of await listProxied(this.http, joinArtifactPath(root, rel))) {
        const child = joinArtifactPath(rel, entry.path);
        if (entry.isDir) await walk(child);
        else out.push(child);
      }
    };
    await walk('');
    return out.sort();
  }

  /**
   * Downloads what a URI points at (a model version's `source`: `runs:/<run>/path`, `models:/<model_id>` of an MLflow 3
   * logged model, `mlflow-artifacts:/…` or an http(s) proxy URL) to `destDir/<last segment of the URI>`; returns the
   * local files.
   */
  async downloadArtifactUri(uri: string, destDir: string): Promise<string[]> {
    const runs = /^runs:\/+([^/]+)\/?(.*)$/.exec(uri);
    const modelId = /^models:\/+([^/@]+)\/*$/i.exec(uri)?.[1];
    let proxied: string;
    let last: string;
    if (runs) {
      const [, runId = '', rel = ''] = runs;
      proxied = joinArtifactPath(await this.artifactRoot(runId), normaliseArtifactPath(rel, { root: true }));
      last = proxied.split('/').at(-1) ?? '';
    } else if (modelId !== undefined) {
      // MLflow resolves models:/<id> to the logged model's own artifact location.
      proxied = proxiedPath((await this.getLoggedModel(modelId)).artifactUri);
      last = modelId;
    } else if (/^models:/i.test(uri)) {
      throw new MlflowError(`${uri}: only models:/<model_id> URIs are supported by oracx, not models:/NAME/VERSION or NAME@ALIAS`, {
        endpoint: 'downloadArtifactUri',
        hint: 'register model versions with a models:/<model_id>, runs:/ or mlflow-artifacts:/ source',
      });
    } else {
      proxied = proxiedPath(uri);
      last = proxied.split('/').at(-1) ?? '';
    }
    return downloadTree(this.http, proxied, path.join(destDir, last));
  }

  /** Creates an MLflow 3 logged model (status PENDING) with its own artifact location. */
  createLoggedModel(input: CreateLoggedModelInput): Promise<LoggedModel> {
    return logged.createLoggedModel(this.http, input);
  }

  /** Sets a logged model's final status: READY once its files are uploaded, UPLOAD_FAILED otherwise. */
  finalizeLoggedModel(modelId: string, status: Exclude<LoggedModelStatus, 'LOGGED_MODEL_PENDING'>): Promise<LoggedModel> {
    return logged.finalizeLoggedModel(this.http, modelId, status);
  }

  /** One logged model; MlflowNotFound when missing or deleted (unless allowDeleted). */
  getLoggedModel(modelId: string, options?: { allowDeleted?: boolean }): Promise<LoggedModel> {
    return logged.getLoggedModel(this.http, modelId, options);
  }

  /** One page of active logged models of some experiments. */
  searchLoggedModels(input: SearchLoggedModelsInput): Promise<{ models: LoggedModel[]; nextPageToken?: string }> {
    return logged.searchLoggedModels(this.http, input);
  }

  /** Marks a logged model deleted. */
  deleteLoggedModel(modelId: string): Promise<void> {
    return logged.deleteLoggedModel(this.http, modelId);
  }

  /** Sets tags on a logged model. */
  setLoggedModelTags(modelId: string, tags: Record<string, string>): Promise<void> {
    return logged.setLoggedModelTags(this.http, modelId, tags);
  }

  /** Removes a tag from a logged model. */
  deleteLoggedModelTag(modelId: string, key: string): Promise<void> {
    return logged.deleteLoggedModelTag(this.http, modelId, key);
  }

  /** Records logged models as outputs of a run (what the run produced). */
  logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    return logged.logOutputs(this.http, runId, models);
  }

  /** Creates a registered model; an existing one of that name is returned instead (race-safe). */
  createRegisteredModel(name: string, input?: { description?: string; tags?: Record<string, string> }): Promise<RegisteredModel> {
    return registry.createRegisteredModel(this.http, name, input);
  }

  /** A registered model; MlflowNotFound when missing. */
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return registry.getRegisteredModel(this.http, name);
  }

  /** One page of registered models. */
  searchRegisteredModels(input?: {
    filter?: string;
    maxResults?: number;
    orderBy?: string[];
    pageToken?: string;
  }): Promise<{ models: RegisteredModel[]; nextPageToken?: string }> {
    return registry.searchRegisteredModels(this.http, input);
  }

  /** Deletes a registered model and its versions. */
  deleteRegisteredModel(name: string): Promise<void> {
    return registry.deleteRegisteredModel(this.http, name);
  }

  /** Sets a registered model tag. */
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    return registry.setRegisteredModelTag(this.http, name, key, value);
  }

  /** Removes a registered model tag. */
  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return registry.deleteRegisteredModelTag(this.http, name, key);
  }

  /** Registers a new version from `source` (for a logged model: `models:/<id>` with its `modelId`). */
  createModelVersion(input: {
    name: string;
    source: string;
    runId?: string;
    modelId?: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<ModelVersion> {
    return registry.createModelVersion(this.http, input);
  }

  /** One model version; MlflowNotFound when missing. */
  getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return registry.getModelVersion(this.http, name, version);
  }

  /** One page of model versions. */
  searchModelVersions(input: {
    filter?: string;
    maxResults?: number;
    orderBy?: string[];
    pageToken?: string;
  }): Promise<{ versions: ModelVersion[]; nextPageToken?: string }> {
    return registry.searchModelVersions(this.http, input);
  }

  /** Polls until READY (default timeout 300 s, poll 1 s); ModelVersionNotReady on FAILED_REGISTRATION or timeout. */
  waitModelVersionReady(name: string, version: string, options?: { timeoutMs?: number; pollMs?: number }): Promise<ModelVersion> {
    return registry.waitModelVersionReady(this.http, name, version, options);
  }

  /** Deletes one model version. */
  deleteModelVersion(name: string, version: string): Promise<void> {
    return registry.deleteModelVersion(this.http, name, version);
  }

  /** Sets a model version tag. */
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    return registry.setModelVersionTag(this.http, name, version, key, value);
  }

  /** Points an alias at a version. */
  setAlias(name: string, alias: string, version: string): Promise<void> {
    return registry.setAlias(this.http, name, alias, version);
  }

  /** Removes an alias. */
  deleteAlias(name: string, alias: string): Promise<void> {
    return registry.deleteAlias(this.http, name, alias);
  }

  /** The version an alias points at, or null when it is not set (or the model does not exist). */
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion | null> {
    return registry.getVersionByAlias(this.http, name, alias);
  }
}
