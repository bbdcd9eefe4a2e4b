// `oracx register` on MLflow 3 logs the package as a LoggedModel, checked with MLflow's own Python client against a
// real server: search_logged_models lists it READY with the training run as its source, the run lists it among its
// outputs, the version's source is models:/<id>, the MLmodel carries model_id / mlflow_version / model_size_bytes as
// mlflow.onnx.log_model writes them, mlflow.pyfunc loads NAME@champion and oracx predict pulls it. A server without
// LoggedModels (MLflow 2.x) gets the package under the run's artifacts, with a warning.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Forecast } from '../../pipelines/predict.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { MlflowNotFound } from '../../src/mlflow/errors.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, testClient, uniqueName } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

type Answer = { status: number; type: string; body: string };

/**
 * A loopback proxy in front of the real server: `answer` replaces the server's answer for some requests, everything
 * else goes through; `seen` lists the requests and `bodies` the real server's JSON answers, by request.
 */
async function proxy(target: string, answer: (method: string, url: string) => Answer | undefined) {
  const upstream = new URL(target);
  const seen: string[] = [];
  const bodies: { request: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const request = `${req.method} ${url}`;
    seen.push(request);
    const fake = answer(req.method ?? 'GET', url);
    if (fake) return void res.writeHead(fake.status, { 'content-type': fake.type }).end(fake.body);
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.concat(chunks);
          if (String(up.headers['content-type']).includes('json')) bodies.push({ request, body: body.toString('utf8') });
          res.writeHead(up.statusCode ?? 502, up.headers).end(body);
        });
      },
    );
    forward.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * MLflow 2.22 in front of the real server: /version answers 2.22.0 and every LoggedModel path (and runs/outputs)
 * answers 404 with the web framework's HTML page, as a server without those routes does. A fake only for what
 * MLflow 2.x lacks; everything else is the real server.
 */
function mlflow2Proxy(target: string) {
  return proxy(target, (_method, url) => {
    if (url === '/version') return { status: 200, type: 'text/plain', body: '2.22.0' };
    if (url.includes('/logged-models') || url.startsWith('/api/2.0/mlflow/runs/outputs')) {
      return { status: 404, type: 'text/html', body: '<!doctype html><title>404 Not Found</title><h1>Not Found</h1>' };
    }
    return undefined;
  });
}

describe.skipIf(!mlflowOrSkip())('oracx register logs an MLflow 3 LoggedModel', () => {
  let url = '';
  let dir = '';
  let client: MlflowClient;
  const experiment = uniqueName('oracx-logged');
  const model = uniqueName('oracx-logged-e0');
  const env = (over: Record<string, string> = {}) => ({
    MLFLOW_TRACKING_URI: url,
    MLFLOW_EXPERIMENT_NAME: experiment,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
    ORACX_ACTOR: 'ci-bot',
    ...over,
  });
  const cli = (args: string[], over: Record<string, string> = {}) => runCli(args, { cwd: dir, env: env(over) });
  let trained: { runId: number; mlflowRunId: string };
  let registered: { version: { version: number; source: string; mlflowRunId: string } };

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
    dir = tempDir();
    const c = await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
    expect(c.code, c.stderr).toBe(0);
    const t = await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--param', 'l2=10', '--json']);
    expect(t.code, t.stderr).toBe(0);
    trained = t.json();
    const r = await cli(['register', '--run', String(trained.runId), '--name', model, '--alias', 'champion', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/LoggedModel API/);
    registered = r.json();
  }, 180_000);

  it('is listed READY by search_logged_models, from the training run, which lists it among its outputs', async () => {
    const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
    const py = await pythonMlflow<{
      models: { id: string; status: string; run: string; name: string; params: Record<string, string>; tags: Record<string, string> }[];
      outputs: string[];
    }>(
      url,
      [
        'import json, sys, mlflow',
        'c = mlflow.MlflowClient()',
        'ms = c.search_logged_models(experiment_ids=[sys.argv[1]])',
        'outs = c.get_run(sys.argv[2]).outputs.model_outputs',
        'print(json.dumps({"models": [{"id": m.model_id, "status": str(m.status), "run": m.source_run_id, "name": m.name, "params": m.params, "tags": m.tags} for m in ms],',
        '                  "outputs": [o.model_id for o in outs]}))',
      ].join('\n'),
      [experimentId, trained.mlflowRunId],
    );
    expect(py.models).toHaveLength(1);
    const m = py.models[0]!;
    expect(m).toMatchObject({ status: 'READY', run: trained.mlflowRunId, name: model.replace(/\./g, '-') });
    // Like log_model: the training run's params and the standard source tags, plus oracx's own.
    expect(m.params).toMatchObject({ model: 'logreg', 'model.l2': '10' });
    expect(m.tags).toMatchObject({ 'mlflow.source.type': 'LOCAL', 'oracx.run_id': String(trained.runId), 'oracx.model_kind': 'logreg' });
    // The server records the registration on the logged model.
    expect(JSON.parse(m.tags['mlflow.modelVersions']!)).toEqual([{ name: model, version: 1 }]);
    expect(py.outputs).toEqual([m.id]);
    expect(registered.version.source).toBe(`models:/${m.id}`);
  });

  it('registers the version from models:/<id>, with an MLmodel stamped as MLflow stamps a logged model', async () => {
    const py = await pythonMlflow<{
      source: string;
      runId: string;
      mvModelId: string | null;
      info: Record<string, string | number | null>;
      size: number | null;
      artifactUri: string;
    }>(
      url,
      [
        'import json, sys, mlflow',
        'from mlflow.models import Model',
        'c = mlflow.MlflowClient()',
        'v = c.get_model_version(sys.argv[1], "1")',
        'i = mlflow.models.get_model_info(f"models:/{sys.argv[1]}/1")',
        'm = Model.load(f"models:/{sys.argv[1]}/1")',
        'lm = c.get_logged_model(i.model_id)',
        'print(json.dumps({"source": v.source, "runId": v.run_id, "mvModelId": v.model_id, "size": m.model_size_bytes, "artifactUri": lm.artifact_location,',
        '  "info": {"model_id": i.model_id, "model_uuid": i.model_uuid, "mlflow_version": i.mlflow_version, "artifact_path": i.artifact_path, "run_id": i.run_id}}))',
      ].join('\n'),
      [model],
    );
    const modelId = py.source.replace('models:/', '');
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    // The server takes the run from the logged model (register_model sends none either).
    expect(py.runId).toBe(trained.mlflowRunId);
    // MLflow 3.17's own registry store keeps no model_id on versions: mlflow.onnx.log_model(registered_model_name=…)
    // gives None here too. The link is the source models:/<id> (and the MLmodel's model_id below).
    expect(py.mvModelId).toBeNull();
    expect(py.info).toEqual({
      model_id: modelId,
      model_uuid: modelId,
      mlflow_version: await client.serverVersion(),
      artifact_path: py.artifactUri,
      run_id: trained.mlflowRunId,
    });
    expect(py.artifactUri).toMatch(new RegExp(`^mlflow-artifacts:/\\d+/models/${modelId}/artifacts$`));
    // model_size_bytes: the model's files, without MLmodel and the environment files (what MLflow measures).
    const pulled = path.join(dir, 'pulled');
    const pull = await cli(['models', 'pull', `${model}@champion`, '--out', pulled, '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    const files = pull.json<{ files: string[] }>().files;
    const counted = files.filter((f) => !['MLmodel', 'conda.yaml', 'python_env.yaml', 'requirements.txt'].includes(path.basename(f)));
    expect(counted.length).toBeGreaterThan(0);
    expect(py.size).toBe(counted.reduce((n, f) => n + statSync(f).size, 0));
  });

  it('is loaded by mlflow.pyfunc from models:/NAME@champion and pulled by oracx predict', async () => {
    const py = await pythonMlflow<{ loaded: string }>(
      url,
      [
        'import json, sys, mlflow',
        'm = mlflow.pyfunc.load_model(f"models:/{sys.argv[1]}@champion")',
        'print(json.dumps({"loaded": m.metadata.model_id}))',
      ].join('\n'),
      [model],
    );
    expect(py.loaded).toBe(registered.version.source.replace('models:/', ''));
    const pairing = ['--json', '--competition', 'E0', '--home', 'Arsenal', '--away', 'Chelsea', '--date', '2020-09-19'];
    const p = await cli(['predict', '--model', `${model}@champion`, ...pairing]);
    expect(p.code, p.stderr).toBe(0);
    const f = p.json<{ forecasts: Forecast[] }>().forecasts[0]!;
    expect(f.model).toMatchObject({ name: model, version: 1, alias: 'champion', kind: 'logreg' });
    // The same forecast as the training run's own model, read from the local store.
    const local = (await cli(['predict', '--run', String(trained.runId), ...pairing])).json<{ forecasts: Forecast[] }>().forecasts[0]!;
    for (const k of ['home', 'draw', 'away'] as const) expect(Math.abs(f.probabilities[k] - local.probabilities[k])).toBeLessThan(1e-5);
  });

  it('leaves nothing behind when the version cannot be created: the logged model is UPLOAD_FAILED and deleted, no output', async () => {
    // The real server refuses the version (as for a source it will not accept); everything before it is real.
    const refusing = await proxy(url, (method, u) =>
      method === 'POST' && u.startsWith('/api/2.0/mlflow/model-versions/create')
        ? { status: 400, type: 'application/json', body: '{"error_code":"INVALID_PARAMETER_VALUE","message":"Invalid model version source"}' }
        : undefined,
    );
    try {
      const name = uniqueName('oracx-refused');
      const r = await cli(['register', '--run', String(trained.runId), '--name', name], { MLFLOW_TRACKING_URI: refusing.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Invalid model version source/);
      const createdBody = refusing.bodies.find((b) => b.request === 'POST /api/2.0/mlflow/logged-models')?.body;
      const modelId = (JSON.parse(createdBody ?? '{}') as { model?: { info?: { model_id?: string } } }).model?.info?.model_id;
      expect(modelId, refusing.seen.join('\n')).toMatch(/^m-[0-9a-f]{32}$/);
      const gone = await client.getLoggedModel(modelId!, { allowDeleted: true });
      expect(gone.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');
      await expect(client.getLoggedModel(modelId!)).rejects.toBeInstanceOf(MlflowNotFound);
      const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
      expect((await client.searchLoggedModels({ experimentIds: [experimentId] })).models.map((m) => m.modelId)).not.toContain(modelId);
      expect((await client.getRun(trained.mlflowRunId)).outputs.map((o) => o.modelId)).not.toContain(modelId);
      await expect(client.getRegisteredModel(name)).rejects.toBeInstanceOf(MlflowNotFound);
    } finally {
      await refusing.close();
    }
  });

  it('falls back to run artifacts on a server without LoggedModels, warning with its version', async () => {
    const proxy = await mlflow2Proxy(url);
    try {
      const name = uniqueName('oracx-mlflow2');
      const r = await cli(['register', '--run', String(trained.runId), '--name', name, '--json'], { MLFLOW_TRACKING_URI: proxy.url });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/version 2\.22\.0 .*MLflow >= 3 is needed for LoggedModels/);
      expect(proxy.seen).toContain('POST /api/2.0/mlflow/logged-models');
      const mv = await client.getModelVersion(name, '1');
      expect(mv).toMatchObject({ status: 'READY', runId: trained.mlflowRunId });
      const folder = /^mlflow-artifacts:\/.*\/artifacts\/(oracx-model-[0-9a-f]{8})$/.exec(mv.source)?.[1];
      expect(folder, mv.source).toBeDefined();
      const mlmodel = new TextDecoder().decode(await client.downloadArtifact(trained.mlflowRunId, `${folder}/MLmodel`));
      expect(mlmodel).toMatch(new RegExp(`^artifact_path: ${folder}$`, 'm'));
      expect(mlmodel).toMatch(/^mlflow_version: 2\.22\.0$/m);
      expect(mlmodel).not.toMatch(/^model_id:/m);
      // Nothing logged as a LoggedModel for this registration: still the one from the first registration.
      const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
      expect((await client.searchLoggedModels({ experimentIds: [experimentId] })).models).toHaveLength(1);
      // And Python loads the fallback version too.
      const py = await pythonMlflow<{ ok: boolean }>(
        url,
        ['import json, sys, mlflow', 'mlflow.pyfunc.load_model(f"models:/{sys.argv[1]}/1")', 'print(json.dumps({"ok": True}))'].join('\n'),
        [name],
      );
      expect(py.ok).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});

describe.skipIf(!mlflowOrSkip())('the LoggedModel client API against a real server', () => {
  it('creates (with > 100 params), tags, uploads, finalizes, links to a run, searches, downloads via models:/<id> and deletes', async () => {
    const url = await mlflowServer();
    const client = testClient(url);
    const experimentId = await client.getOrCreateExperiment(uniqueName('oracx-logged-api'));
    const run = await client.createRun({ experimentId, runName: 'producer' });
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${String(i).padStart(3, '0')}`, String(i)]));
    const created = await client.createLoggedModel({
      experimentId,
      name: 'api-model',
      modelType: 'onnx',
      sourceRunId: run.runId,
      params,
      tags: { team: 'a', gone: 'x' },
    });
    expect(created).toMatchObject({ experimentId, name: 'api-model', status: 'LOGGED_MODEL_PENDING', modelType: 'onnx', sourceRunId: run.runId });
    expect(Object.keys(created.params)).toHaveLength(150);
    expect(created.artifactUri).toBe(`mlflow-artifacts:/${experimentId}/models/${created.modelId}/artifacts`);

    await client.setLoggedModelTags(created.modelId, { team: 'b', stage: 'test' });
    await client.deleteLoggedModelTag(created.modelId, 'gone');
    const local = tempDir();
    mkdirSync(path.join(local, 'sub'));
    writeFileSync(path.join(local, 'MLmodel'), 'artifact_path: x\n');
    writeFileSync(path.join(local, 'sub', 'data.bin'), 'abc');
    expect(await client.uploadArtifactDirToUri(created.artifactUri, local)).toEqual(['MLmodel', 'sub/data.bin']);
    expect(await client.listArtifactFilesAtUri(created.artifactUri)).toEqual(['MLmodel', 'sub/data.bin']);
    const ready = await client.finalizeLoggedModel(created.modelId, 'LOGGED_MODEL_READY');
    expect(ready.status).toBe('LOGGED_MODEL_READY');
    expect(ready.tags).toMatchObject({ team: 'b', stage: 'test' });
    expect(ready.tags).not.toHaveProperty('gone');
    await client.logOutputs(run.runId, [{ modelId: created.modelId, step: 3 }]);
    expect((await client.getRun(run.runId)).outputs).toEqual([{ modelId: created.modelId, step: 3 }]);

    const found = await client.searchLoggedModels({
      experimentIds: [experimentId],
      filter: `source_run_id = '${run.runId}'`,
      orderBy: [{ fieldName: 'creation_timestamp', ascending: false }],
    });
    expect(found.models.map((m) => m.modelId)).toEqual([created.modelId]);
    const dest = tempDir();
    const files = await client.downloadArtifactUri(`models:/${created.modelId}`, dest);
    expect(files.map((f) => path.relative(dest, f)).sort()).toEqual([path.join(created.modelId, 'MLmodel'), path.join(created.modelId, 'sub', 'data.bin')]);
    expect(readFileSync(path.join(dest, created.modelId, 'sub', 'data.bin'), 'utf8')).toBe('abc');

    // What MLflow's own client sees.
    const py = await pythonMlflow<{ status: string; params: number; team: string }>(
      url,
      [
        'import json, sys, mlflow',
        'm = mlflow.MlflowClient().get_logged_model(sys.argv[1])',
        'print(json.dumps({"status": str(m.status), "params": len(m.params), "team": m.tags["team"]}))',
      ].join('\n'),
      [created.modelId],
    );
    expect(py).toEqual({ status: 'READY', params: 150, team: 'b' });

    await client.deleteLoggedModel(created.modelId);
    await expect(client.getLoggedModel(created.modelId)).rejects.toBeInstanceOf(MlflowNotFound);
    expect((await client.getLoggedModel(created.modelId, { allowDeleted: true })).modelId).toBe(created.modelId);
    expect((await client.searchLoggedModels({ experimentIds: [experimentId] })).models).toEqual([]);
    await expect(client.createLoggedModel({ experimentId, name: 'bad.name' })).rejects.toThrow(/logged model name "bad\.name"/);
  });
});
