// train → MLflow run, spool when the server is down → mlflow sync exactly once, register to MLflow's registry,
// promote/rollback there, and the registered model loaded by Python's mlflow.pyfunc and served by `mlflow models serve`.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainResult } from '../../pipelines/train.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { loadModel } from '../../src/ml/models/index.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { MLFLOW, mlflowModelsServe, mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { PACKAGE_FILES_LISTED } from '../helpers/servable.js';
import { tempDir } from '../helpers/stores.js';
import { loadUniverse, toDataset, trainingMatches } from '../../pipelines/dataset.js';
import { readFileSync, rmSync } from 'node:fs';

const run = promisify(execFile);

/** A local HTTP server answering every request with `status` and `body` (a tracking server that refuses us). */
async function fakeServer(handler: (url: string) => { status: number; body: string }): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const { status, body } = handler(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe.skipIf(!mlflowOrSkip())('MLflow lifecycle through the CLI', () => {
  let url = '';
  let dir = '';
  let client: MlflowClient;
  const experiment = uniqueName('oracx-cli');
  const model = uniqueName('oracx-e0');
  const env = () => ({ MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1', ORACX_ACTOR: 'ci-bot' });
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...env(), ...extra } });
  const train = async (extra: string[], envExtra: Record<string, string> = {}) => {
    const r = await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--json', ...extra], envExtra);
    expect(r.code, r.stderr).toBe(0);
    return { result: r.json<TrainResult & { mlflowRunId: string | null }>(), stderr: r.stderr };
  };
  let tracked: TrainResult & { mlflowRunId: string | null };

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
    dir = tempDir();
    const c = await runCli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd: dir });
    expect(c.code, c.stderr).toBe(0);
    tracked = (await train(['--param', 'l2=10'])).result;
  });

  it('logs a training run: params, per-epoch metrics with their times, tags, dataset and artifacts', async () => {
    expect(tracked.mlflowRunId).toMatch(/^[0-9a-f]{32}$/);
    const r = await client.getRun(tracked.mlflowRunId!);
    expect(r.info.status).toBe('FINISHED');
    const params = Object.fromEntries(r.data.params.map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ model: 'logreg', feature_set: 'core@2', competitions: 'E0', 'model.l2': '10', seed: '0', n_matches: '760' });
    const tags = Object.fromEntries(r.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'oracx.run_id': String(tracked.runId), 'mlflow.source.type': 'LOCAL', 'oracx.data_hash': tracked.dataHash });
    expect(tags['mlflow.runName']).toBe(`logreg-core@2-run${tracked.runId}`);
    const loss = await client.getMetricHistory(tracked.mlflowRunId!, 'loss');
    expect(loss.length).toBe(tracked.epochs);
    expect(loss.map((m) => m.step)).toEqual(Array.from({ length: tracked.epochs }, (_, i) => i + 1));
    expect(loss[0]!.timestamp).toBeGreaterThanOrEqual(tracked.startedAt);
    expect(r.data.metrics.find((m) => m.key === 'train_rps')?.value).toBeCloseTo(tracked.trainMetrics.rps, 12);
    expect(r.inputs[0]?.dataset).toMatchObject({ digest: expect.stringMatching(/^[0-9a-f]{36}$/), sourceType: 'oracx-store' });
    const files = (await client.listArtifacts(tracked.mlflowRunId!, 'oracx')).map((f) => f.path).sort();
    expect(files).toEqual(['oracx/metadata.json', 'oracx/model.json']);
  });

  it('logs an evaluation as a run: figures, baselines, gates, evaluation.json and the report', async () => {
    const r = await cli([
      'evaluate',
      '--model',
      'logreg',
      '--param',
      'l2=10',
      '--competitions',
      'E0',
      '--seasons',
      '2019-2020',
      '--gate',
      'rps<=bookmaker+0.05',
      '--report',
      'eval.html',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ overall: { rps: number; n: number }; baselines: { bookmaker: { rps: number } } }>();
    const id = /evaluation logged to MLflow as run ([0-9a-f]{32})/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    const run = await client.getRun(id!);
    const metric = (key: string) => run.data.metrics.find((m) => m.key === key)?.value;
    expect(metric('rps')).toBeCloseTo(doc.overall.rps, 12);
    expect(metric('n')).toBe(doc.overall.n);
    expect(metric('bookmaker_rps')).toBeCloseTo(doc.baselines.bookmaker.rps, 12);
    expect(metric('E0_rps')).toBeCloseTo(doc.overall.rps, 12);
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'oracx.kind': 'evaluation', 'oracx.gates_passed': 'true' });
    expect(tags['oracx.version']).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
    expect(Object.fromEntries(run.data.params.map((p) => [p.key, p.value]))).toMatchObject({ seasons: '2019-2020', walk_forward: 'season', 'model.l2': '10' });
    const files = (await client.listArtifacts(id!, 'oracx')).map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['oracx/evaluation.json', 'oracx/eval.html', 'oracx/eval.rps.svg']));
  });

  it('logs evaluate --models as one run per model, tagged with the comparison, with the paired figures and comparison.json', async () => {
    const r = await cli(['evaluate', '--models', 'elo-ordered,logreg', '--competitions', 'E0', '--seasons', '2019-2020', '--json']);
    expect(r.code, r.stderr).toBe(0);
    type Paired = { meanDiff: number; stdErr: number; pValue: number };
    const doc = r.json<{ comparison: { best: string; rows: { name: string; rps: number; vsBookmaker: Paired; vsBest: Paired }[] } }>();
    const logged = [...r.stderr.matchAll(/evaluation of (\S+) logged to MLflow as run ([0-9a-f]{32})/g)].map((m) => ({ model: m[1]!, id: m[2]! }));
    expect(
      logged.map((l) => l.model),
      r.stderr,
    ).toEqual(['elo-ordered', 'logreg']);
    const comparisons = new Set<string>();
    for (const { model, id } of logged) {
      const run = await client.getRun(id);
      const row = doc.comparison.rows.find((x) => x.name === model)!;
      const metric = (key: string) => run.data.metrics.find((m) => m.key === key)?.value;
      expect(metric('rps')).toBeCloseTo(row.rps, 12);
      expect(metric('rps_diff_bookmaker')).toBeCloseTo(row.vsBookmaker.meanDiff, 12);
      expect(metric('rps_diff_bookmaker_se')).toBeCloseTo(row.vsBookmaker.stdErr, 12);
      expect(metric('rps_diff_bookmaker_p')).toBeCloseTo(row.vsBookmaker.pValue, 12);
      expect(metric('rps_diff_best')).toBeCloseTo(row.vsBest.meanDiff, 12);
      const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
      expect(tags).toMatchObject({
        'oracx.kind': 'evaluation',
        'oracx.model': model,
        'oracx.comparison_models': 'elo-ordered,logreg',
        'oracx.comparison_best': doc.comparison.best,
      });
      comparisons.add(tags['oracx.comparison']!);
      const files = (await client.listArtifacts(id, 'oracx')).map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['oracx/evaluation.json', 'oracx/comparison.json']));
    }
    // Both runs carry the same comparison id, so one search finds the whole comparison.
    expect(comparisons.size).toBe(1);
  });

  it('spools a run while the server is unreachable and syncs it exactly once, also after a crash mid-sync', async () => {
    const down = await train(['--param', 'l2=10'], { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' });
    expect(down.result.mlflowRunId).toBeNull();
    expect(down.stderr).toMatch(/not logged to MLflow .*spooled in the store: replay it with oracx mlflow sync/);
    const pending = (await cli(['mlflow', 'sync', '--dry-run', '--json'])).json<{ pending: { trainingRunId: number; stage: string }[] }>().pending;
    expect(pending).toEqual([expect.objectContaining({ trainingRunId: down.result.runId, stage: 'pending' })]);

    const sync = await cli(['mlflow', 'sync', '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    const synced = sync.json<{ synced: { trainingRunId: number; mlflowRunId: string }[] }>().synced;
    expect(synced.map((s) => s.trainingRunId)).toEqual([down.result.runId]);
    const runId = synced[0]!.mlflowRunId;
    const history = async () => (await client.getMetricHistory(runId, 'loss')).length;
    const epochs = await history();
    expect(epochs).toBe(down.result.epochs);
    expect((await cli(['mlflow', 'sync', '--json'])).json()).toEqual({ synced: [], failed: [] });

    // As if the process died right after creating the MLflow run, before recording it: the replay must find that run.
    const store = await openStore(path.join(dir, 'oracx.db'));
    const key = await store.db.selectFrom('mlflow_spool').select('run_key').where('training_run_id', '=', down.result.runId).executeTakeFirstOrThrow();
    await store.db.updateTable('mlflow_spool').set({ stage: 'pending', mlflow_run_id: null }).where('training_run_id', '=', down.result.runId).execute();
    await store.close();
    const again = await cli(['mlflow', 'sync', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ synced: { mlflowRunId: string }[] }>().synced[0]!.mlflowRunId).toBe(runId);
    const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
    const found = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`oracx.run_key\` = '${key.run_key}'` });
    expect(found.runs.length).toBe(1);
    expect(await history()).toBe(epochs);
  });

  it('syncs a spooled run whose artifacts folder was deleted, tagging and reporting what is missing', async () => {
    const down = await train(['--param', 'l2=10', '--seed', '5'], { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' });
    rmSync(down.result.artifactPath, { recursive: true });
    const sync = await cli(['mlflow', 'sync', '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toMatch(/no longer exists: run synced without its artifacts/);
    const synced = sync.json<{ synced: { mlflowRunId: string; warning?: string }[] }>().synced;
    expect(synced).toHaveLength(1);
    const r = await client.getRun(synced[0]!.mlflowRunId);
    expect(r.data.tags.find((t) => t.key === 'oracx.artifacts_missing')?.value).toBe(down.result.artifactPath);
    expect(r.info.status).toBe('FINISHED');
  });

  it('registers to MLflow (READY, aliased), promotes and rolls back there, and pulls the package', async () => {
    // Five months of matches and a weak pinned L2 (l2=auto would fall back to a strong one and not be weak).
    const weak = (await train(['--train-from', '2019-02-01', '--param', 'l2=0.001'])).result;
    const v1 = await cli(['register', '--run', String(tracked.runId), '--name', model, '--json']);
    expect(v1.code, v1.stderr).toBe(0);
    expect(v1.json()).toMatchObject({ registry: 'mlflow', version: { version: 1, status: 'READY', mlflowRunId: tracked.mlflowRunId, featureSet: 'core@2' } });
    // By MLflow run id too.
    const v2 = await cli(['register', '--run', weak.mlflowRunId!, '--name', model, '--alias', 'challenger', '--json']);
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.json()).toMatchObject({ version: { version: 2, aliases: ['challenger'] } });
    const mv = await client.getModelVersion(model, '2');
    // MLflow 3: the version points at the LoggedModel the package was logged as (see mlflow-logged-model.test.ts).
    expect(mv.source).toMatch(/^models:\/m-[0-9a-f]{32}$/);
    expect(mv.tags).toMatchObject({ 'oracx.feature_set': 'core@2', 'oracx.model_kind': 'logreg' });

    const first = await cli(['models', 'promote', `${model}/1`, '--require', 'rps<=champion']);
    expect(first.code, first.stderr).toBe(0);
    const refused = await cli(['models', 'promote', model, '--require', 'rps<=champion']);
    expect(refused.code).toBe(3);
    expect((await client.getVersionByAlias(model, 'champion'))?.version).toBe('1');
    expect((await cli(['models', 'promote', model, '--require', 'rps<=champion+0.1'])).code).toBe(0);
    expect((await client.getVersionByAlias(model, 'champion'))?.version).toBe('2');
    const back = await cli(['models', 'rollback', model, '--json']);
    expect(back.json()).toMatchObject({ from: 2, to: 1 });
    expect((await client.getVersionByAlias(model, 'champion'))?.version).toBe('1');

    const list = (await cli(['models', 'list', '--json'])).json<{
      registry: string;
      models: { name: string; aliases: Record<string, number>; versions: number }[];
    }>();
    expect(list.registry).toBe('mlflow');
    expect(list.models.find((m) => m.name === model)).toMatchObject({ versions: 2, aliases: { champion: 1, challenger: 2 } });
    const pull = await cli(['models', 'pull', `${model}@champion`, '--out', 'pulled', '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(
      pull
        .json<{ files: string[] }>()
        .files.map((f) => path.relative(path.join(dir, 'pulled'), f))
        .sort(),
    ).toEqual(PACKAGE_FILES_LISTED);
  });

  it("is loaded by mlflow.pyfunc from models:/NAME@champion and served by mlflow models serve, giving the model's probabilities", async () => {
    const store = await openStore(path.join(dir, 'oracx.db'));
    const universe = await loadUniverse(store, 'core@2');
    await store.close();
    const rows = trainingMatches(universe, { competitions: ['E0'], from: '2019-08-01', finishedOnly: true }).slice(0, 20);
    const data = toDataset(universe, rows);
    const expected = loadModel(JSON.parse(readFileSync(path.join(tracked.artifactPath, 'model.json'), 'utf8'))).predict(data);
    // A pandas user's frame: one float64 column per feature, by name.
    const frame = { columns: data.featureNames, data: data.X.map((x) => Array.from(x)) };

    const script = [
      'import json, sys, pandas as pd, mlflow',
      `m = mlflow.pyfunc.load_model('models:/${model}@champion')`,
      'f = json.loads(sys.argv[1])',
      'out = m.predict(pd.DataFrame(f["data"], columns=f["columns"], dtype="float64"))',
      'print(json.dumps(out[["home", "draw", "away"]].to_numpy().tolist()))',
    ].join('\n');
    const py = await run(MLFLOW.python, ['-c', script, JSON.stringify(frame)], { env: { ...process.env, MLFLOW_TRACKING_URI: url }, maxBuffer: 1 << 24 });
    const got = JSON.parse(py.stdout.trim().split('\n').pop()!) as number[][];
    expect(got).toHaveLength(expected.length);
    got.forEach((p, i) => {
      p.forEach((v, k) => {
        expect(Math.abs(v - expected[i]![k]!)).toBeLessThan(1e-5);
      });
    });

    // mlflow models serve --env-manager local on a free port, scored over HTTP.
    const server = await mlflowModelsServe(url, `models:/${model}@champion`);
    try {
      const res = await server.invoke({ dataframe_split: frame });
      const body: unknown = res.ok ? await res.json() : null;
      expect(body, `mlflow models serve answered ${res.status}; its log ends with:\n${server.log()}`).not.toBeNull();
      const predictions = (body as { predictions: Array<{ home: number; draw: number; away: number }> }).predictions;
      const probs = predictions.map((p) => [p.home, p.draw, p.away]);
      expect(probs).toHaveLength(expected.length);
      probs.forEach((p, i) => {
        p.forEach((v, k) => {
          expect(Math.abs(v - expected[i]![k]!)).toBeLessThan(1e-5);
        });
      });
    } finally {
      server.stop();
    }
  }, 180_000);

  it('refuses wrong credentials and unsupported servers with a clear error, registering nothing', async () => {
    const denied = await fakeServer(() => ({ status: 401, body: '' }));
    const old = await fakeServer((u) => (u.startsWith('/version') ? { status: 200, body: '1.30.0' } : { status: 404, body: '{}' }));
    try {
      const r401 = await cli(['register', '--run', String(tracked.runId), '--name', model], {
        MLFLOW_TRACKING_URI: denied.url,
        MLFLOW_TRACKING_USERNAME: 'ana',
        MLFLOW_TRACKING_PASSWORD: 's3cret',
      });
      expect(r401.code).toBe(1);
      expect(r401.stderr).toMatch(/401/);
      expect(r401.stderr).toMatch(/MLFLOW_TRACKING_USERNAME|credentials/i);
      expect(r401.stderr).not.toContain('s3cret');
      const rOld = await cli(['models', 'list'], { MLFLOW_TRACKING_URI: old.url });
      expect(rOld.code).toBe(1);
      expect(rOld.stderr).toMatch(/1\.30\.0/);
      expect((await client.searchModelVersions({ filter: `name='${model}'` })).versions.length).toBe(2);
    } finally {
      await denied.close();
      await old.close();
    }
  });
});
