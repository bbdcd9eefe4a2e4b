// `oracx train` in a real MLflow server as Python's tracking shows a fit: the run is RUNNING (with live losses) while
// the fit goes, then FINISHED, or KILLED with the losses so far on Ctrl-C; offline, `oracx mlflow sync` replays the
// same single run.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/types.js';
import { openStore } from '../../src/store/connect.js';
import { collectedWorkspace, runCli, spawnCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';

const TRAIN = ['train', '--model', 'mlp', '--competitions', 'E0', '--seed', '3'];
const tag = (r: Run, key: string) => r.data.tags.find((t) => t.key === key)?.value;
const params = (r: Run) => Object.fromEntries(r.data.params.map((p) => [p.key, p.value]));

describe.skipIf(!mlflowOrSkip())('train runs live in MLflow', () => {
  let url = '';
  let client: MlflowClient;

  const workspace = () => collectedWorkspace();
  const env = (experiment: string, trackingUri = url) => ({
    MLFLOW_TRACKING_URI: trackingUri,
    MLFLOW_EXPERIMENT_NAME: experiment,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
  });

  /** The experiment's training runs (none while the experiment does not exist). */
  async function trainRuns(experiment: string): Promise<Run[]> {
    const e = await client.getExperimentByName(experiment);
    if (!e) return [];
    return (await client.searchRuns({ experimentIds: [e.experimentId], filter: "tags.`oracx.kind` = 'train'" })).runs;
  }

  /** The losses the store logged for a training run, by epoch. */
  async function storedLosses(dir: string, runId: number): Promise<number[]> {
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      return (await store.db.selectFrom('training_logs').select(['loss']).where('run_id', '=', runId).orderBy('epoch').execute()).map((l) => l.loss);
    } finally {
      await store.close();
    }
  }

  /** Whether the store holds a training run still running (false before the store exists). */
  async function runningRun(dir: string): Promise<boolean> {
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      return (await store.db.selectFrom('training_runs').select('id').where('status', '=', 'running').executeTakeFirst()) !== undefined;
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
  });

  it('is RUNNING with live losses during the fit, and KILLED with the losses so far after Ctrl-C (exit 130)', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-train-live');
    const child = spawnCli([...TRAIN, '--param', 'epochs=2000', '--param', 'patience=0', '--param', 'l2=0.01'], { cwd: dir, env: env(experiment) });
    let live: Run | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.child.exitCode === null) {
      live = (await trainRuns(experiment))[0];
      if (live && (await client.getMetricHistory(live.info.runId, 'loss')).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(child.child.exitCode, 'the fit ended before its run showed live losses').toBeNull();
    expect(live?.info.status).toBe('RUNNING');
    expect(params(live!)).toMatchObject({ model: 'mlp', competitions: 'E0', seed: '3' });
    expect(live!.inputs[0]?.dataset).toMatchObject({ sourceType: 'oracx-store' });
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);

    const runs = await trainRuns(experiment);
    expect(runs, done.stderr).toHaveLength(1);
    const killed = runs[0]!;
    expect(killed.info.runId).toBe(live!.info.runId);
    expect(killed.info.status).toBe('KILLED');
    expect(killed.info.endTime).toBeGreaterThanOrEqual(killed.info.startTime!);
    expect(tag(killed, 'oracx.error')).toMatch(/interrupted/);
    const oracxRun = Number(tag(killed, 'oracx.run_id'));
    const history = (await client.getMetricHistory(killed.info.runId, 'loss')).sort((a, b) => a.step - b.step);
    const stored = await storedLosses(dir, oracxRun);
    expect(stored.length).toBeGreaterThan(0);
    expect(history.map((m) => m.value)).toEqual(stored);
    expect(history.map((m) => m.step)).toEqual(stored.map((_, i) => i + 1));
  }, 120_000);

  it('offline, a train interrupted by Ctrl-C is spooled and synced as one KILLED run with its losses', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-train-killed-offline');
    const child = spawnCli([...TRAIN, '--param', 'epochs=2000', '--param', 'patience=0', '--param', 'l2=0.01'], {
      cwd: dir,
      env: env(experiment, 'http://127.0.0.1:9'),
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await runningRun(dir))) await new Promise((r) => setTimeout(r, 100));
    // A few epochs in.
    await new Promise((r) => setTimeout(r, 1500));
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);
    expect(done.stderr).toMatch(/KILLED\) not logged to MLflow .*replay it with oracx mlflow sync/);
    const sync = await runCli(['mlflow', 'sync', '--json'], { cwd: dir, env: env(experiment) });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json<{ synced: unknown[] }>().synced).toHaveLength(1);
    const runs = await trainRuns(experiment);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.info.status).toBe('KILLED');
    expect(params(runs[0]!)).toMatchObject({ model: 'mlp', competitions: 'E0' });
    const stored = await storedLosses(dir, Number(tag(runs[0]!, 'oracx.run_id')));
    expect(stored.length).toBeGreaterThan(0);
    expect((await client.getMetricHistory(runs[0]!.info.runId, 'loss')).sort((a, b) => a.step - b.step).map((m) => m.value)).toEqual(stored);
  }, 120_000);

  it('ends FINISHED as one run with the whole fit; offline, the sync replays the same run', async () => {
    const dir = await workspace();
    const args = [...TRAIN, '--param', 'epochs=4', '--json'];
    const experiment = uniqueName('oracx-train-done');
    const online = await runCli(args, { cwd: dir, env: env(experiment) });
    expect(online.code, online.stderr).toBe(0);
    const offlineExperiment = uniqueName('oracx-train-offline');
    const offline = await runCli(args, { cwd: dir, env: env(offlineExperiment, 'http://127.0.0.1:9') });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.json<{ mlflowRunId: string | null }>().mlflowRunId).toBeNull();
    const sync = await runCli(['mlflow', 'sync', '--json'], { cwd: dir, env: env(offlineExperiment) });
    expect(sync.code, sync.stderr).toBe(0);
    // One entry: the run's end superseded its start, spooled while the server was down.
    expect(sync.json<{ synced: unknown[] }>().synced).toHaveLength(1);

    for (const [name, out] of [
      [experiment, online],
      [offlineExperiment, offline],
    ] as const) {
      const runs = await trainRuns(name);
      expect(runs, name).toHaveLength(1);
      const r = runs[0]!;
      const result = out.json<{ runId: number; mlflowRunId: string | null; epochs: number }>();
      if (result.mlflowRunId) expect(r.info.runId).toBe(result.mlflowRunId);
      expect(r.info.status).toBe('FINISHED');
      expect(tag(r, 'oracx.run_id')).toBe(String(result.runId));
      expect(tag(r, 'mlflow.runName')).toBe(`mlp-${tag(r, 'oracx.feature_set')}-run${result.runId}`);
      expect(params(r)).toMatchObject({ model: 'mlp', competitions: 'E0', seed: '3', 'model.epochs': '4' });
      expect(r.data.metrics.map((m) => m.key)).toEqual(expect.arrayContaining(['loss', 'train_rps', 'train_log_loss']));
      expect((await client.getMetricHistory(r.info.runId, 'loss')).map((m) => m.value).sort()).toEqual((await storedLosses(dir, result.runId)).sort());
      expect((await client.listArtifacts(r.info.runId, 'oracx')).map((f) => f.path).sort()).toEqual(['oracx/metadata.json', 'oracx/model.json']);
    }
  }, 120_000);
});
