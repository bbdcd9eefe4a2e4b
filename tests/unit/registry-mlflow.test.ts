// MlflowRegistry's failure paths with a fake client (the happy paths run against a real server in
// tests/integration/mlflow-lifecycle.test.ts and mlflow-logged-model.test.ts): a version that never becomes READY is
// deleted again with the logged model it came from, and a PENDING version can be neither pulled nor promoted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { MlflowNotFound, MlflowUnsupportedVersion, ModelVersionNotReady } from '../../src/mlflow/errors.js';
import type { ModelVersion } from '../../src/mlflow/types.js';
import { MlflowRegistry } from '../../src/registry/mlflow.js';
import { promote } from '../../pipelines/promote.js';
import type { Store } from '../../src/store/connect.js';

function pendingVersion(): ModelVersion {
  return {
    name: 'm',
    version: '1',
    source: 'mlflow-artifacts:/1/r/artifacts/oracx-model-1',
    runId: 'r',
    status: 'PENDING_REGISTRATION',
    tags: { 'oracx.feature_set': 'core@1', 'oracx.model_kind': 'logreg' },
  };
}

/** A client whose registry calls succeed until the version has to become READY. */
function fakeClient(calls: string[]): MlflowClient {
  const fake = {
    getRun: async () => ({
      info: { runId: 'r', experimentId: '1', artifactUri: 'mlflow-artifacts:/1/r/artifacts' },
      data: { params: [], metrics: [], tags: [] },
    }),
    serverVersion: async () => '3.17.2',
    createLoggedModel: async () => {
      calls.push('create-logged');
      return { modelId: 'm-1', artifactUri: 'mlflow-artifacts:/1/models/m-1/artifacts', status: 'LOGGED_MODEL_PENDING' };
    },
    finalizeLoggedModel: async (_id: string, status: string) => void calls.push(`finalize ${status}`),
    deleteLoggedModel: async () => void calls.push('delete-logged'),
    logOutputs: async () => void calls.push('outputs'),
    uploadArtifactDirToUri: async () => void calls.push('upload'),
    listArtifactFilesAtUri: async () => ['MLmodel', 'x'],
    createRegisteredModel: async () => ({ name: 'm', tags: {}, aliases: {}, latestVersions: [] }),
    getRegisteredModel: async () => ({ name: 'm', tags: {}, aliases: {}, latestVersions: [] }),
    deleteRegisteredModel: async () => void calls.push('delete-model'),
    createModelVersion: async () => {
      calls.push('create');
      return pendingVersion();
    },
    getModelVersion: async () => pendingVersion(),
    waitModelVersionReady: async () => {
      throw new ModelVersionNotReady('model m version 1 is still PENDING_REGISTRATION after 120 s', {
        endpoint: 'model-versions/get',
        modelName: 'm',
        version: '1',
        versionStatus: 'PENDING_REGISTRATION',
      });
    },
    deleteModelVersion: async () => void calls.push('delete'),
    getVersionByAlias: async () => null,
  };
  return fake as unknown as MlflowClient;
}

describe('MlflowRegistry', () => {
  it('deletes a version that does not become READY, and reports why', async () => {
    const calls: string[] = [];
    const registry = new MlflowRegistry(fakeClient(calls), 'http://mlflow', 10);
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'x'), 'x');
    writeFileSync(path.join(dir, 'MLmodel'), 'artifact_path: model\n');
    const failed = registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} });
    await expect(failed).rejects.toThrow(/still PENDING_REGISTRATION/);
    expect(calls).toEqual([
      'create-logged',
      'upload',
      'finalize LOGGED_MODEL_READY',
      'create',
      'delete',
      'finalize LOGGED_MODEL_UPLOAD_FAILED',
      'delete-logged',
    ]);
  });

  it('links the run output only once the version is READY, and undoes the version when that link fails', async () => {
    const calls: string[] = [];
    const client = fakeClient(calls) as unknown as Record<string, unknown>;
    client.waitModelVersionReady = async () => {
      calls.push('ready');
      return { ...pendingVersion(), status: 'READY' };
    };
    client.logOutputs = async () => {
      calls.push('outputs');
      throw new Error('outputs refused');
    };
    const registry = new MlflowRegistry(client as unknown as MlflowClient, 'http://mlflow', 10);
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'x'), 'x');
    writeFileSync(path.join(dir, 'MLmodel'), 'artifact_path: model\n');
    await expect(
      registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} }),
    ).rejects.toThrow('outputs refused');
    expect(calls).toEqual([
      'create-logged',
      'upload',
      'finalize LOGGED_MODEL_READY',
      'create',
      'ready',
      'outputs',
      'delete',
      'finalize LOGGED_MODEL_UPLOAD_FAILED',
      'delete-logged',
    ]);
  });

  it('marks the logged model failed and deletes it when its upload is incomplete, creating no version', async () => {
    const calls: string[] = [];
    const client = fakeClient(calls) as unknown as Record<string, unknown>;
    client.listArtifactFilesAtUri = async () => ['MLmodel'];
    const registry = new MlflowRegistry(client as unknown as MlflowClient, 'http://mlflow', 10);
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'x'), 'x');
    writeFileSync(path.join(dir, 'MLmodel'), 'artifact_path: model\n');
    await expect(
      registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} }),
    ).rejects.toThrow(/uploaded 1 of the package's 2 files .*missing: x.*nothing was registered/);
    expect(calls).toEqual(['create-logged', 'upload', 'finalize LOGGED_MODEL_UPLOAD_FAILED', 'delete-logged']);
  });

  it('does not fall back to run artifacts for other errors of the LoggedModel API', async () => {
    const calls: string[] = [];
    const client = fakeClient(calls) as unknown as Record<string, unknown>;
    client.createLoggedModel = async () => {
      throw new MlflowUnsupportedVersion('MLflow POST /api/2.0/mlflow/logged-models: HTTP 405', { endpoint: '/api/2.0/mlflow/logged-models', status: 405 });
    };
    const warnings: string[] = [];
    const registry = new MlflowRegistry(client as unknown as MlflowClient, 'http://mlflow', 10, (m) => warnings.push(m));
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'MLmodel'), 'artifact_path: model\n');
    await expect(
      registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} }),
    ).rejects.toThrow(/HTTP 405/);
    expect(calls).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('also deletes the registered model it created when the version cannot be created', async () => {
    const calls: string[] = [];
    const client = fakeClient(calls) as unknown as Record<string, unknown>;
    client.getRegisteredModel = async () => {
      throw new MlflowNotFound('RESOURCE_DOES_NOT_EXIST: Registered Model with name=m not found', {
        endpoint: 'registered-models/get',
        errorCode: 'RESOURCE_DOES_NOT_EXIST',
        status: 404,
      });
    };
    client.createModelVersion = async () => {
      throw new Error('boom');
    };
    const registry = new MlflowRegistry(client as unknown as MlflowClient, 'http://mlflow', 10);
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'x'), 'x');
    writeFileSync(path.join(dir, 'MLmodel'), 'artifact_path: model\n');
    await expect(
      registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} }),
    ).rejects.toThrow('boom');
    expect(calls).toEqual(['create-logged', 'upload', 'finalize LOGGED_MODEL_READY', 'delete-model', 'finalize LOGGED_MODEL_UPLOAD_FAILED', 'delete-logged']);
  });

  it('refuses to pull or promote a PENDING version', async () => {
    const registry = new MlflowRegistry(fakeClient([]), 'http://mlflow');
    const version = await registry.getVersion('m', 1);
    expect(version.status).toBe('PENDING_REGISTRATION');
    await expect(registry.pull(version, path.join(tmpdir(), 'never'))).rejects.toThrow(/is PENDING_REGISTRATION, not READY/);
    const store = {} as Store; // never reached: the status check comes first
    await expect(promote(store, registry, { name: 'm', alias: 'champion', version: 1, gates: [], window: { competitions: [], seasons: [] } })).rejects.toThrow(
      /m version 1 is PENDING_REGISTRATION, not READY: it cannot be promoted/,
    );
  });
});
