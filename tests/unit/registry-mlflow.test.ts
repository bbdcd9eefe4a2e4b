// MlflowRegistry's failure paths with a fake client (the happy paths run against a real server in
// tests/integration/mlflow-lifecycle.test.ts): a version that never becomes READY is deleted again, and a PENDING
// version can be neither pulled nor promoted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { MlflowNotFound, ModelVersionNotReady } from '../../src/mlflow/errors.js';
import type { ModelVersion } from '../../src/mlflow/types.js';
import { MlflowRegistry } from '../../src/registry/mlflow.js';
import { promote } from '../../pipelines/promote.js';
import type { Store } from '../../src/store/connect.js';

function pendingVersion(): ModelVersion {
  return { name: 'm', version: '1', source: 'mlflow-artifacts:/1/r/artifacts/oracx-model-1', runId: 'r', status: 'PENDING_REGISTRATION', tags: { 'oracx.feature_set': 'core@1', 'oracx.model_kind': 'logreg' } };
}

/** A client whose registry calls succeed until the version has to become READY. */
function fakeClient(calls: string[]): MlflowClient {
  const fake = {
    getRun: async () => ({ info: { artifactUri: 'mlflow-artifacts:/1/r/artifacts' } }),
    uploadArtifactDir: async () => void calls.push('upload'),
    listArtifacts: async () => [{ path: 'x', isDir: false }],
    createRegisteredModel: async () => ({ name: 'm', tags: {}, aliases: {}, latestVersions: [] }),
    getRegisteredModel: async () => ({ name: 'm', tags: {}, aliases: {}, latestVersions: [] }),
    deleteRegisteredModel: async () => void calls.push('delete-model'),
    createModelVersion: async () => (calls.push('create'), pendingVersion()),
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
    const failed = registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} });
    await expect(failed).rejects.toThrow(/still PENDING_REGISTRATION/);
    expect(calls).toEqual(['upload', 'create', 'delete']);
  });

  it('also deletes the registered model it created when the version cannot be created', async () => {
    const calls: string[] = [];
    const client = fakeClient(calls) as unknown as Record<string, unknown>;
    client.getRegisteredModel = async () => {
      throw new MlflowNotFound('RESOURCE_DOES_NOT_EXIST: Registered Model with name=m not found', { endpoint: 'registered-models/get', errorCode: 'RESOURCE_DOES_NOT_EXIST', status: 404 });
    };
    client.createModelVersion = async () => {
      throw new Error('boom');
    };
    const registry = new MlflowRegistry(client as unknown as MlflowClient, 'http://mlflow', 10);
    const dir = mkdtempSync(path.join(tmpdir(), 'oracx-pkg-'));
    writeFileSync(path.join(dir, 'x'), 'x');
    await expect(registry.register({ name: 'm', packageDir: dir, runId: 1, mlflowRunId: 'r', modelKind: 'logreg', featureSet: 'core@1', metrics: {} })).rejects.toThrow('boom');
    expect(calls).toEqual(['upload', 'delete-model']);
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
