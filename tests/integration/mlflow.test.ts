// The MLflow client against a real MLflow server (the venv's, see tests/helpers/mlflow.ts): every call, pagination,
// large batches stored completely, artifacts byte for byte, the registry, races between clients, and a server restart
// in the middle of a run.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { MlflowError, MlflowNotFound, MlflowParamChanged } from '../../src/mlflow/errors.js';
import { gitCommit } from '../../src/mlflow/run-tags.js';
import type { Metric } from '../../src/mlflow/types.js';
import { mlflowOrSkip, mlflowServer, startMlflowServer, testClient, uniqueName, type MlflowServer } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

const T0 = 1_700_000_000_000;
const points = (key: string, n: number, from = 0): Metric[] =>
  Array.from({ length: n }, (_, i) => ({ key, value: Math.sin(from + i), timestamp: T0 + from + i, step: from + i }));
const tagMap = (tags: { key: string; value: string }[]) => Object.fromEntries(tags.map((t) => [t.key, t.value]));

describe.skipIf(!mlflowOrSkip())('MLflow client on a real server', () => {
  let url = '';
  let client: MlflowClient;
  let experimentId = '';

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
    experimentId = await client.getOrCreateExperiment(uniqueName('oracx-it'));
  });

  it('reads the server version and accepts it', async () => {
    const version = await client.checkServerVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await client.serverVersion()).toBe(version);
  });

  it('creates, finds and refuses to duplicate experiments', async () => {
    const name = uniqueName('exp');
    expect(await client.getExperimentByName(name)).toBeNull();
    const id = await client.createExperiment(name, { team: 'oracx' });
    const found = await client.getExperimentByName(name);
    expect(found).toMatchObject({ experimentId: id, name, lifecycleStage: 'active', tags: { team: 'oracx' } });
    expect(found?.artifactLocation).toMatch(/^mlflow-artifacts:/);
    const again = await client.createExperiment(name).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(MlflowError);
    expect(again).toMatchObject({ errorCode: 'RESOURCE_ALREADY_EXISTS', status: 400 });
    expect(await client.getOrCreateExperiment(name)).toBe(id);
  });

  it('gives one experiment id to clients creating it at the same time', async () => {
    const name = uniqueName('race');
    const a = testClient(url);
    const b = testClient(url);
    const ids = await Promise.all([a, b, a, b].map((c) => c.getOrCreateExperiment(name)));
    expect(new Set(ids).size).toBe(1);
  });

  it('creates a run with the standard tags, updates and finishes it', async () => {
    const info = await client.createRun({ experimentId, runName: 'fit-1', startTime: T0, tags: { 'oracx.model': 'logreg' } });
    expect(info).toMatchObject({ experimentId, runName: 'fit-1', status: 'RUNNING', startTime: T0 });
    expect(info.artifactUri).toBe(`mlflow-artifacts:/${experimentId}/${info.runId}/artifacts`);
    const tags = tagMap((await client.getRun(info.runId)).data.tags);
    expect(tags).toMatchObject({ 'mlflow.runName': 'fit-1', 'mlflow.source.type': 'LOCAL', 'oracx.model': 'logreg' });
    // HEAD may move while the suite runs: check the shape, and its absence outside a checkout.
    if (gitCommit(process.cwd()) === undefined) expect(tags['mlflow.source.git.commit']).toBeUndefined();
    else expect(tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(tags['mlflow.user']).toBeTruthy();

    await client.updateRun(info.runId, { runName: 'fit-1b' });
    const done = await client.updateRun(info.runId, { status: 'FINISHED', endTime: T0 + 5000 });
    expect(done).toMatchObject({ status: 'FINISHED', endTime: T0 + 5000, runName: 'fit-1b' });
    const run = await client.getRun(info.runId);
    expect(run.info).toMatchObject({ status: 'FINISHED', runName: 'fit-1b' });
  });

  it('stores a log-batch of 2,500 metric points, 200 params and 150 tags completely', async () => {
    const { runId } = await client.createRun({ experimentId, runName: 'big-batch' });
    const metrics = [...points('loss', 2000), ...points('val/rps', 500)];
    const params = Array.from({ length: 200 }, (_, i) => ({ key: `p${i}`, value: i === 0 ? 'x'.repeat(6000) : `value-${i}` }));
    const tags = Array.from({ length: 150 }, (_, i) => ({ key: `t${i}`, value: String(i) }));
    await client.logBatch(runId, { metrics, params, tags });

    const run = await client.getRun(runId);
    expect(run.data.params).toHaveLength(200);
    expect(run.data.params.find((p) => p.key === 'p0')?.value).toHaveLength(6000);
    expect(Object.keys(tagMap(run.data.tags)).filter((k) => /^t\d+$/.test(k))).toHaveLength(150);
    expect(run.data.metrics.find((m) => m.key === 'loss')).toMatchObject({ step: 1999, value: Math.sin(1999) });
    const loss = await client.getMetricHistory(runId, 'loss');
    expect(loss).toHaveLength(2000);
    expect(loss.map((m) => m.step).sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(await client.getMetricHistory(runId, 'val/rps')).toHaveLength(500);
  });

  it('accepts a param logged again with its value and types a changed one', async () => {
    const { runId } = await client.createRun({ experimentId });
    await client.logBatch(runId, { params: [{ key: 'lr', value: '0.1' }] });
    await client.logBatch(runId, { params: [{ key: 'lr', value: '0.1' }] });
    const error = await client.logBatch(runId, { params: [{ key: 'lr', value: '0.2' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowParamChanged);
    expect(error).toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE', status: 400 });
    expect((error as Error).message).toContain("'old_value': '0.1'");
  });

  it('round-trips NaN and logs a metric twice without duplicating it', async () => {
    const { runId } = await client.createRun({ experimentId });
    const m = [
      { key: 'ece', value: NaN, timestamp: T0, step: 0 },
      { key: 'rps', value: 0.2, timestamp: T0, step: 0 },
    ];
    await client.logBatch(runId, { metrics: m });
    await client.logBatch(runId, { metrics: m });
    const run = await client.getRun(runId);
    expect(Number.isNaN(run.data.metrics.find((x) => x.key === 'ece')?.value)).toBe(true);
    expect(await client.getMetricHistory(runId, 'rps')).toHaveLength(1);
  });

  it('records dataset inputs and tags', async () => {
    const { runId } = await client.createRun({ experimentId });
    const dataset = {
      name: 'E0 2019-2020',
      digest: 'a1b2c3d4',
      sourceType: 'local',
      source: '{"uri": "fixtures/E0.csv"}',
      schema: '{"cols": 3}',
      profile: '{"num_rows": 380}',
    };
    await client.logInputs(runId, [
      { dataset, context: 'training' },
      { dataset: { ...dataset, name: 'E0 2020-2021', digest: 'ffff' }, context: 'evaluation' },
    ]);
    await client.setTag(runId, 'stage', 'one');
    await client.setTag(runId, 'stage', 'two');
    const run = await client.getRun(runId);
    expect(run.inputs).toHaveLength(2);
    expect(run.inputs.find((i) => i.context === 'training')).toEqual({ dataset, context: 'training' });
    expect(tagMap(run.data.tags).stage).toBe('two');
  });

  it('searches runs with filter, order and pages', async () => {
    const name = uniqueName('search');
    const exp = await client.createExperiment(name);
    for (let i = 0; i < 5; i++) {
      const { runId } = await client.createRun({ experimentId: exp, runName: `r${i}` });
      await client.logBatch(runId, { metrics: [{ key: 'score', value: i, timestamp: T0, step: 0 }], params: [{ key: 'i', value: String(i) }] });
    }
    const first = await client.searchRuns({ experimentIds: [exp], filter: 'metrics.score >= 1', orderBy: ['metrics.score DESC'], maxResults: 2 });
    expect(first.runs.map((r) => r.info.runName)).toEqual(['r4', 'r3']);
    expect(first.nextPageToken).toBeTruthy();
    const second = await client.searchRuns({
      experimentIds: [exp],
      filter: 'metrics.score >= 1',
      orderBy: ['metrics.score DESC'],
      maxResults: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.runs.map((r) => r.info.runName)).toEqual(['r2', 'r1']);
    const all: string[] = [];
    for await (const run of client.searchAllRuns({ experimentIds: [exp], filter: "params.i != '0'", orderBy: ['metrics.score ASC'], maxResults: 3 })) {
      all.push(run.info.runName ?? '');
    }
    expect(all).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('uploads, lists and downloads artifacts byte for byte', async () => {
    const { runId } = await client.createRun({ experimentId });
    const binary = new Uint8Array(Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(300_000)]));
    await client.uploadArtifact(runId, 'model/model.onnx', binary);
    await client.uploadArtifact(runId, 'notes/ü file (1).txt', 'héllo', 'text/plain; charset=utf-8');

    const local = tempDir();
    await mkdir(path.join(local, 'pkg', 'sub'), { recursive: true });
    await writeFile(path.join(local, 'pkg', 'MLmodel'), 'flavors: {}\n');
    await writeFile(path.join(local, 'pkg', 'sub', 'weights.bin'), randomBytes(1000));
    await client.uploadArtifactDir(runId, path.join(local, 'pkg'), 'package');

    expect(await client.listArtifacts(runId)).toEqual([
      { path: 'model', isDir: true },
      { path: 'notes', isDir: true },
      { path: 'package', isDir: true },
    ]);
    expect(await client.listArtifacts(runId, 'model')).toEqual([{ path: 'model/model.onnx', isDir: false, fileSize: binary.length }]);
    expect(Buffer.from(await client.downloadArtifact(runId, 'model/model.onnx')).equals(Buffer.from(binary))).toBe(true);
    expect(new TextDecoder().decode(await client.downloadArtifact(runId, 'notes/ü file (1).txt'))).toBe('héllo');

    const dest = tempDir();
    const files = await client.downloadArtifacts(runId, 'package', dest);
    expect(files.map((f) => path.relative(dest, f)).sort()).toEqual(['package/MLmodel', 'package/sub/weights.bin']);
    expect(await readFile(path.join(dest, 'package', 'sub', 'weights.bin'))).toEqual(await readFile(path.join(local, 'pkg', 'sub', 'weights.bin')));
    const one = await client.downloadArtifacts(runId, 'model/model.onnx', dest);
    expect(Buffer.from(await readFile(one[0] as string)).equals(Buffer.from(binary))).toBe(true);
    expect(await client.downloadArtifacts(runId, '', tempDir())).toHaveLength(4);

    const viaUri = tempDir();
    const uriFiles = await client.downloadArtifactUri(`runs:/${runId}/package`, viaUri);
    expect(uriFiles.map((f) => path.relative(viaUri, f)).sort()).toEqual(['package/MLmodel', 'package/sub/weights.bin']);

    await expect(client.downloadArtifact(runId, 'model/missing.onnx')).rejects.toBeInstanceOf(MlflowNotFound);
    await expect(client.downloadArtifacts(runId, 'nothing/here', tempDir())).rejects.toBeInstanceOf(MlflowNotFound);
  });

  it('registers models and versions, waits for READY, and moves aliases', async () => {
    const name = uniqueName('oracx-model');
    const { runId, artifactUri } = await client.createRun({ experimentId });
    await client.uploadArtifact(runId, 'model/model.onnx', new Uint8Array([1, 2, 3]));

    const created = await Promise.all(
      [testClient(url), testClient(url)].map((c) => c.createRegisteredModel(name, { description: 'd', tags: { owner: 'oracx' } })),
    );
    expect(created.map((m) => m.name)).toEqual([name, name]);
    await client.setRegisteredModelTag(name, 'stage', 'dev');
    expect(await client.getRegisteredModel(name)).toMatchObject({ name, description: 'd', tags: { owner: 'oracx', stage: 'dev' }, aliases: {} });

    const v1 = await client.createModelVersion({ name, source: `${artifactUri}/model`, runId, tags: { 'oracx.kind': 'logreg' }, description: 'first' });
    expect(v1).toMatchObject({ name, version: '1', runId, source: `${artifactUri}/model` });
    const ready = await client.waitModelVersionReady(name, v1.version, { timeoutMs: 30_000, pollMs: 100 });
    expect(ready).toMatchObject({ status: 'READY', tags: { 'oracx.kind': 'logreg' }, description: 'first' });
    const v2 = await client.createModelVersion({ name, source: `runs:/${runId}/model`, runId });
    await client.waitModelVersionReady(name, v2.version);
    await client.setModelVersionTag(name, v2.version, 'validated', 'yes');
    expect((await client.getModelVersion(name, v2.version)).tags).toEqual({ validated: 'yes' });

    const versions = await client.searchModelVersions({ filter: `name = '${name}'`, orderBy: ['version_number DESC'] });
    expect(versions.versions.map((v) => v.version)).toEqual(['2', '1']);

    expect(await client.getVersionByAlias(name, 'champion')).toBeNull();
    await client.setAlias(name, 'champion', '1');
    expect(await client.getVersionByAlias(name, 'champion')).toMatchObject({ version: '1', aliases: ['champion'] });
    await client.setAlias(name, 'champion', '2');
    expect((await client.getRegisteredModel(name)).aliases).toEqual({ champion: '2' });
    await client.deleteAlias(name, 'champion');
    expect(await client.getVersionByAlias(name, 'champion')).toBeNull();
    // MLflow answers an unknown model like an unset alias.
    expect(await client.getVersionByAlias(uniqueName('nope'), 'champion')).toBeNull();

    const pulled = tempDir();
    const files = await client.downloadArtifactUri(v1.source, pulled);
    expect(files.map((f) => path.relative(pulled, f))).toEqual(['model/model.onnx']);
    expect([...(await readFile(files[0] as string))]).toEqual([1, 2, 3]);
    const pulledRuns = tempDir();
    expect(await client.downloadArtifactUri(v2.source, pulledRuns)).toHaveLength(1);

    await client.deleteModelVersion(name, v2.version);
    await expect(client.getModelVersion(name, v2.version)).rejects.toBeInstanceOf(MlflowNotFound);
    await client.deleteRegisteredModel(name);
    await expect(client.getRegisteredModel(name)).rejects.toBeInstanceOf(MlflowNotFound);
  });

  it('pages through registered models', async () => {
    const prefix = uniqueName('paged');
    for (let i = 0; i < 3; i++) await client.createRegisteredModel(`${prefix}-${i}`);
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.searchRegisteredModels({ filter: `name LIKE '${prefix}-%'`, maxResults: 2, pageToken });
      seen.push(...page.models.map((m) => m.name));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual([0, 1, 2].map((i) => `${prefix}-${i}`));
  });

  it('types a missing run as MlflowNotFound', async () => {
    const error = await client.getRun('0'.repeat(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowNotFound);
    expect(error).toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST', status: 404, endpoint: '/api/2.0/mlflow/runs/get' });
  });
});

describe.skipIf(!mlflowOrSkip())('MLflow server restarted in the middle of a run', () => {
  let server: MlflowServer;

  beforeAll(async () => {
    server = await startMlflowServer();
    console.log(`[mlflow] own server started in ${(server.startupMs / 1000).toFixed(1)} s`);
  }, 120_000);
  afterAll(async () => server?.stop());

  it('retries until the server is back and the run ends with all its data', async () => {
    const retries: { reason: string; delayMs: number }[] = [];
    const client = testClient(server.url, { maxRetries: 12, backoffMs: 200, maxBackoffMs: 2000 }, { onRetry: (r) => void retries.push(r) });
    const experimentId = await client.getOrCreateExperiment('restart');
    const { runId } = await client.createRun({ experimentId, runName: 'survivor' });
    await client.logBatch(runId, { metrics: points('loss', 1500), params: [{ key: 'seed', value: '7' }] });

    await server.pause();
    const back = new Promise<number>((resolve, reject) => {
      setTimeout(() => server.resume().then(resolve, reject), 1500);
    });
    // Sent while the server is down: retried until it is back.
    await client.logBatch(runId, {
      metrics: points('loss', 1500, 1500),
      params: [
        { key: 'seed', value: '7' },
        { key: 'lr', value: '0.1' },
      ],
    });
    const restartMs = await back;
    await client.updateRun(runId, { status: 'FINISHED' });
    console.log(`[mlflow] restart took ${(restartMs / 1000).toFixed(1)} s; ${retries.length} retries (${retries.map((r) => r.reason).join(', ')})`);

    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]?.reason).toMatch(/ECONNREFUSED|ECONNRESET|socket|other side closed/i);
    const run = await client.getRun(runId);
    expect(run.info.status).toBe('FINISHED');
    expect(tagMap(run.data.params)).toEqual({ seed: '7', lr: '0.1' });
    const loss = await client.getMetricHistory(runId, 'loss');
    expect(loss).toHaveLength(3000);
    expect(new Set(loss.map((m) => m.step)).size).toBe(3000);
  }, 120_000);
});
