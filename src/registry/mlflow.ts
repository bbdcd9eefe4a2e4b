/**
 * The registry on an MLflow server: registered models, versions (waiting until READY), aliases. On MLflow 3 a package
 * is logged as a LoggedModel of the training run's experiment (its own artifact location, an output of the training
 * run) and the version's source is `models:/<model_id>`; an MLflow 2.x server gets the package below the run's
 * artifacts instead. A registration that fails part-way deletes the version and logged model it created, so nothing
 * is left half-registered.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { MlflowClient } from '../mlflow/client.js';
import { MlflowNotFound } from '../mlflow/errors.js';
import { isEndpointMissing } from '../mlflow/logged-models.js';
import { standardRunTags } from '../mlflow/run-tags.js';
import type { LoggedModel, ModelVersion, RegisteredModel, Run } from '../mlflow/types.js';
import type { AuditEntry } from './audit.js';
import { decodeEvents, encodeEvent, newEventKey, versionTags, type RegistryEvent } from './events.js';
import { listFiles } from './files.js';
import { stampMlmodel } from './mlmodel-stamp.js';
import type { ModelRecord, RegisterInput, Registry, VersionRecord } from './types.js';

/** Tags oracx puts on model versions, read back into VersionRecord. */
const TAG = {
  runId: 'oracx.run_id',
  kind: 'oracx.model_kind',
  featureSet: 'oracx.feature_set',
  metrics: 'oracx.metrics',
} as const;

const ms = (t: number | undefined): string => new Date(t ?? 0).toISOString();

/** A registered model name as a logged model's name: MLflow refuses / : . % " ' there (registered names allow '.'). */
export function loggedModelName(name: string): string {
  return name.replace(/[/:.%"']/g, '-') || 'model';
}

export class MlflowRegistry implements Registry {
  readonly backend = 'mlflow' as const;

  constructor(
    private readonly client: MlflowClient,
    readonly location: string,
    private readonly readyTimeoutMs = 120_000,
    /** Told when registration falls back to run artifacts (a server without LoggedModels). */
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  private serverVersionCache?: Promise<string>;

  /** The server's version (GET /version), asked once per registry. */
  private serverVersion(): Promise<string> {
    if (!this.serverVersionCache) {
      this.serverVersionCache = this.client.serverVersion();
      this.serverVersionCache.catch(() => (this.serverVersionCache = undefined));
    }
    return this.serverVersionCache;
  }

  private record(v: ModelVersion): VersionRecord {
    let metrics: Record<string, unknown> = {};
    try {
      metrics = JSON.parse(v.tags[TAG.metrics] ?? '{}') as Record<string, unknown>;
    } catch {
      // a tag edited by hand: show no figures rather than fail
    }
    const runId = Number(v.tags[TAG.runId]);
    return {
      name: v.name,
      version: Number(v.version),
      runId: Number.isSafeInteger(runId) ? runId : null,
      mlflowRunId: v.runId ?? null,
      modelKind: v.tags[TAG.kind] ?? 'unknown',
      featureSet: v.tags[TAG.featureSet] ?? 'unknown',
      source: v.source,
      status: v.status,
      metrics,
      aliases: [...(v.aliases ?? [])].sort(),
      description: v.description ?? '',
      createdAt: ms(v.creationTimestamp),
    };
  }

  /** Maps MLflow's RESOURCE_DOES_NOT_EXIST on a registered model to the registry's UserError. */
  private async known<T>(name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof MlflowNotFound) {
        throw new UserError(`unknown registered model "${name}" on ${this.location}`, { hint: `MLflow said: ${error.message}`, cause: error });
      }
      throw error;
    }
  }

  async register(input: RegisterInput): Promise<VersionRecord> {
    if (!input.mlflowRunId) throw new Error('MlflowRegistry.register needs the MLflow run of the training run');
    const run = await this.client.getRun(input.mlflowRunId);
    // The MLmodel is stamped in a copy: the caller's package folder stays as it was written.
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'oracx-register-'));
    try {
      const dir = path.join(tmp, 'model');
      await cp(input.packageDir, dir, { recursive: true });
      const logged = await this.createLoggedModel(input, run);
      return logged ? await this.registerLoggedModel(input, logged, dir) : await this.registerRunArtifacts(input, run, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** An MLflow 3 logged model for the package (PENDING), or null when the server predates LoggedModels (warned). */
  private async createLoggedModel(input: RegisterInput, run: Run): Promise<LoggedModel | null> {
    try {
      return await this.client.createLoggedModel({
        experimentId: run.info.experimentId,
        name: loggedModelName(input.name),
        sourceRunId: run.info.runId,
        // As mlflow.<flavor>.log_model does: the model carries its training run's params.
        params: Object.fromEntries(run.data.params.map((p) => [p.key, p.value])),
        tags: { ...standardRunTags(), ...this.versionTags(input) },
      });
    } catch (error) {
      if (!isEndpointMissing(error)) throw error;
      const version = await this.serverVersion().catch(() => 'unknown');
      this.warn(
        `MLflow at ${this.location} is version ${version} and has no LoggedModel API (MLflow >= 3 is needed for LoggedModels): ` +
          "registering the package from the training run's artifacts instead",
      );
      return null;
    }
  }

  private versionTags(input: RegisterInput): Record<string, string> {
    return {
      [TAG.runId]: String(input.runId),
      [TAG.kind]: input.modelKind,
      [TAG.featureSet]: input.featureSet,
    };
  }

  /**
   * MLflow 3: the package goes to the logged model's own artifact location, the model becomes READY and an output of
   * its training run, and the version's source is `models:/<id>` (as mlflow.register_model sends it). Any failure marks
   * the logged model UPLOAD_FAILED and deletes it.
   */
  private async registerLoggedModel(input: RegisterInput, model: LoggedModel, dir: string): Promise<VersionRecord> {
    const discard = async () => {
      await this.client.finalizeLoggedModel(model.modelId, 'LOGGED_MODEL_UPLOAD_FAILED').catch(() => undefined);
      await this.client.deleteLoggedModel(model.modelId).catch(() => undefined);
    };
    try {
      await stampMlmodel(dir, {
        artifactPath: model.artifactUri,
        modelId: model.modelId,
        runId: input.mlflowRunId!,
        mlflowVersion: await this.serverVersion(),
      });
      await this.upload(dir, model.artifactUri);
      await this.client.finalizeLoggedModel(model.modelId, 'LOGGED_MODEL_READY');
    } catch (error) {
      await discard();
      throw error;
    }
    // The run's outputs are linked last: MLflow cannot unlink them, so only a registered model gets there.
    const link = () => this.client.logOutputs(input.mlflowRunId!, [{ modelId: model.modelId, step: 0 }]);
    return this.createVersion(input, { source: `models:/${model.modelId}`, modelId: model.modelId }, { discard, finish: link });
  }

  /** MLflow 2.x: the package goes below the run's artifacts, in a fresh folder, and the version points there. */
  private async registerRunArtifacts(input: RegisterInput, run: Run, dir: string): Promise<VersionRecord> {
    // A fresh artifact folder per registration: registering one run twice never overwrites an existing version's files.
    const artifactPath = `oracx-model-${randomUUID().slice(0, 8)}`;
    const source = `${run.info.artifactUri.replace(/\/$/, '')}/${artifactPath}`;
    await stampMlmodel(dir, { artifactPath, runId: run.info.runId, mlflowVersion: await this.serverVersion() });
    await this.upload(dir, source);
    return this.createVersion(input, { source, runId: run.info.runId });
  }

  /** Uploads the package folder to an artifact location and checks that every file arrived. */
  private async upload(dir: string, artifactUri: string): Promise<void> {
    await this.client.uploadArtifactDirToUri(artifactUri, dir);
    const uploaded = new Set(await this.client.listArtifactFilesAtUri(artifactUri));
    const local = await listFiles(dir);
    const missing = local.filter((f) => !uploaded.has(f.split(path.sep).join('/')));
    if (missing.length > 0) {
      throw new UserError(
        `uploaded ${local.length - missing.length} of the package's ${local.length} files to MLflow (missing: ${missing.slice(0, 3).join(', ')}); nothing was registered`,
      );
    }
  }

  /**
   * Creates the version, waits until READY and runs `finish`; on any failure deletes what this registration created,
   * then `discard`s (the logged model).
   */
  private async createVersion(
    input: RegisterInput,
    from: { source: string; runId?: string; modelId?: string },
    hooks: { discard?: () => Promise<void>; finish?: () => Promise<void> } = {},
  ): Promise<VersionRecord> {
    const existed = await this.client.getRegisteredModel(input.name).then(
      () => true,
      async (error: unknown) => {
        if (error instanceof MlflowNotFound) return false;
        await hooks.discard?.();
        throw error;
      },
    );
    // Undo what this registration created, so a failure leaves neither a version nor an empty registered model.
    const undo = async (version?: string) => {
      if (version !== undefined) await this.client.deleteModelVersion(input.name, version).catch(() => undefined);
      if (!existed) await this.client.deleteRegisteredModel(input.name).catch(() => undefined);
      await hooks.discard?.();
    };
    let created: ModelVersion;
    try {
      await this.client.createRegisteredModel(input.name, { description: input.description, tags: { 'oracx.registered_by': 'oracx' } });
      created = await this.client.createModelVersion({
        name: input.name,
        ...from,
        description: input.versionDescription,
        tags: { ...this.versionTags(input), [TAG.metrics]: JSON.stringify(input.metrics) },
      });
    } catch (error) {
      await undo();
      throw error;
    }
    try {
      const ready = await this.client.waitModelVersionReady(input.name, created.version, { timeoutMs: this.readyTimeoutMs });
      await hooks.finish?.();
      return this.record(ready);
    } catch (error) {
      await undo(created.version);
      throw error;
    }
  }

  private async allModels(): Promise<RegisteredModel[]> {
    const out: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.client.searchRegisteredModels({ maxResults: 1000, pageToken });
      out.push(...page.models);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  private async summary(m: RegisteredModel): Promise<ModelRecord> {
    const versions = await this.listVersions(m.name);
    return {
      name: m.name,
      description: m.description ?? '',
      latestVersion: versions.length ? Math.max(...versions.map((v) => v.version)) : null,
      versions: versions.length,
      aliases: Object.fromEntries(
        Object.entries(m.aliases)
          .map(([a, v]) => [a, Number(v)])
          .sort(([a], [b]) => String(a).localeCompare(String(b))),
      ),
      createdAt: ms(m.creationTimestamp),
    };
  }

  async listModels(): Promise<ModelRecord[]> {
    const models = await this.allModels();
    return Promise.all(models.sort((a, b) => a.name.localeCompare(b.name)).map((m) => this.summary(m)));
  }

  async getModel(name: string): Promise<ModelRecord> {
    return this.summary(await this.known(name, () => this.client.getRegisteredModel(name)));
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const model = await this.known(name, () => this.client.getRegisteredModel(name));
    const byVersion = new Map<string, string[]>();
    for (const [alias, v] of Object.entries(model.aliases)) byVersion.set(v, [...(byVersion.get(v) ?? []), alias]);
    const out: VersionRecord[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.client.searchModelVersions({ filter: `name='${name.replace(/'/g, "\\'")}'`, maxResults: 1000, pageToken });
      for (const v of page.versions) out.push(this.record({ ...v, aliases: byVersion.get(v.version) ?? v.aliases ?? [] }));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out.sort((a, b) => b.version - a.version);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord> {
    await this.getModelOrThrow(name);
    try {
      return this.record(await this.client.getModelVersion(name, String(version)));
    } catch (error) {
      if (error instanceof MlflowNotFound) throw new UserError(`model "${name}" has no version ${version} on ${this.location}`, { cause: error });
      throw error;
    }
  }

  private async getModelOrThrow(name: string): Promise<RegisteredModel> {
    return this.known(name, () => this.client.getRegisteredModel(name));
  }

  async getAlias(name: string, alias: string): Promise<VersionRecord | null> {
    await this.getModelOrThrow(name);
    const v = await this.client.getVersionByAlias(name, alias);
    return v ? this.record(v) : null;
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    await this.getVersion(name, version);
    await this.client.setAlias(name, alias, String(version));
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.getModelOrThrow(name);
    await this.client.deleteAlias(name, alias);
  }

  async pull(version: VersionRecord, destDir: string): Promise<string[]> {
    if (version.status !== 'READY') {
      throw new UserError(`${version.name} version ${version.version} is ${version.status}, not READY`, { hint: 'wait for the registration to finish' });
    }
    // The client downloads to <dir>/<last segment of the source>: download beside destDir, then move it into place.
    await mkdir(path.dirname(destDir), { recursive: true });
    const parent = await mkdtemp(path.join(path.dirname(destDir), '.oracx-pull-'));
    try {
      const files = await this.client.downloadArtifactUri(version.source, parent);
      const downloaded = path.join(parent, version.source.replace(/\/+$/, '').split('/').pop() ?? '');
      await rename(downloaded, destDir);
      return files.map((f) => path.join(destDir, path.relative(downloaded, f))).sort();
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }

  /**
   * One event tag on the registered model (a new key each time: two writers never overwrite each other), then the
   * version tags; if a version tag cannot be written the event tag is removed again, so the event is all or nothing.
   */
  async appendEvent(event: RegistryEvent): Promise<void> {
    const model = await this.getModelOrThrow(event.modelName);
    const at = new Date();
    const key = newEventKey(Object.keys(model.tags), at.getTime());
    let value: string;
    try {
      value = encodeEvent(event, at);
    } catch (error) {
      throw new UserError((error as Error).message, { hint: 'set a shorter ORACX_ACTOR', cause: error });
    }
    await this.client.setRegisteredModelTag(event.modelName, key, value);
    try {
      for (const [version, tags] of versionTags(event, at)) {
        for (const [k, v] of Object.entries(tags)) await this.setVersionTag(event.modelName, String(version), k, v);
      }
    } catch (error) {
      await this.client.deleteRegisteredModelTag(event.modelName, key).catch(() => undefined);
      throw error;
    }
  }

  /**
   * MLflow's SQL store sets a version tag by a select then an insert: two writers setting the same new key at once
   * make one fail on the table's unique key. Trying again updates the row the other writer inserted (last one wins,
   * as for any tag holding "the latest move").
   */
  private async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.setModelVersionTag(name, version, key, value);
      } catch (error) {
        if (attempt >= 3 || !/UNIQUE constraint|IntegrityError|duplicate key/i.test((error as Error).message)) throw error;
      }
    }
  }

  /** The event tags of the registered model, oldest first; hand-edited tags that do not parse become warnings. */
  async history(name: string): Promise<{ entries: AuditEntry[]; warnings: string[] }> {
    const model = await this.getModelOrThrow(name);
    return decodeEvents(name, model.tags);
  }
}
