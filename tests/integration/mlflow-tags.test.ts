// What an MLflow 3 user sees of an oracx run with MlflowClient: whose commit mlflow.source.git.commit is, the oracx
// version and run kind, and MLFLOW_EXPERIMENT_ID honoured as MLflow's fluent API resolves it (also for spooled runs).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainResult } from '../../pipelines/train.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/types.js';
import { FIXTURES, ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tagsOf = (r: Run) => Object.fromEntries(r.data.tags.map((t) => [t.key, t.value]));

describe.skipIf(!mlflowOrSkip())('MLflow run tags and experiment choice', () => {
  let url = '';
  let client: MlflowClient;
  /** The user's project: a git repository of its own, where the store lives and every command runs. */
  let project = '';
  let projectCommit = '';
  const experiment = uniqueName('oracx-tags');
  const env = (extra: Record<string, string> = {}) => ({
    MLFLOW_TRACKING_URI: url,
    MLFLOW_EXPERIMENT_NAME: experiment,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
    ...extra,
  });
  const trainArgs = ['train', '--model', 'logreg', '--competitions', 'E0', '--param', 'l2=10', '--json'];
  const train = async (environment: Record<string, string | undefined>) => {
    const r = await runCli(trainArgs, { cwd: project, env: environment });
    return { ...r, result: r.code === 0 ? r.json<TrainResult & { mlflowRunId: string | null }>() : null };
  };
  /** Runs of this project (its commit is unique to this test) in any experiment of the server. */
  const projectRuns = async () => {
    const res = await fetch(`${url}/api/2.0/mlflow/experiments/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max_results: 1000, view_type: 'ALL' }),
    });
    const ids = ((await res.json()) as { experiments: { experiment_id: string }[] }).experiments.map((e) => e.experiment_id);
    const runs: Run[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      runs.push(
        ...(
          await client.searchRuns({ experimentIds: ids.slice(i, i + 100), filter: `tags.\`oracx.project.git.commit\` = '${projectCommit}'`, maxResults: 1000 })
        ).runs,
      );
    }
    return runs;
  };
  const pendingSpool = async () => {
    const r = await runCli(['mlflow', 'sync', '--dry-run', '--json'], { cwd: project, env: {} });
    expect(r.code, r.stderr).toBe(0);
    return r.json<{ pending: { experiment: string; experimentId?: string }[] }>().pending;
  };

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
    project = tempDir('oracx-project-');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    git('init', '-q');
    writeFileSync(path.join(project, 'README.md'), 'a football project that uses oracx\n');
    writeFileSync(path.join(project, '.gitignore'), '.oracx/\n*.db*\n');
    git('add', 'README.md', '.gitignore');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
    projectCommit = git('rev-parse', 'HEAD');
    const c = await runCli(['collect', 'football-data', path.join(FIXTURES, 'E0_2019-2020.csv'), '-q'], { cwd: project });
    expect(c.code, c.stderr).toBe(0);
  });

  it("tags a training run (built CLI, run from another git repository) with oracx's version and commit, not the project's, and oracx.kind=train", async () => {
    const r = await spawnCli(trainArgs, { cwd: project, env: env() }).done;
    expect(r.code, r.stderr).toBe(0);
    const id = r.json<{ mlflowRunId: string | null }>().mlflowRunId;
    expect(id, r.stderr).toMatch(/^[0-9a-f]{32}$/);
    const tags = tagsOf(await client.getRun(id!));
    expect(tags['mlflow.source.git.commit']).not.toBe(projectCommit);
    expect(tags).toMatchObject({ 'oracx.kind': 'train', 'oracx.version': VERSION, 'oracx.project.git.commit': projectCommit });
    // oracx's own checkout (the tests run from one), or none for a copy without .git.
    let own: string | undefined;
    try {
      own = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      own = undefined;
    }
    expect(tags['mlflow.source.git.commit']).toBe(own);
    expect(tags['oracx.git.commit']).toBe(own);
  });

  it('logs to the experiment MLFLOW_EXPERIMENT_ID names', async () => {
    const id = await client.createExperiment(uniqueName('oracx-by-id'));
    const r = await train({ ...env({ MLFLOW_EXPERIMENT_ID: id }), MLFLOW_EXPERIMENT_NAME: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect((await client.getRun(r.result!.mlflowRunId!)).info.experimentId).toBe(id);
  });

  it('fails (exit 1, naming the id) before training when MLFLOW_EXPERIMENT_ID names no experiment, and logs nothing anywhere', async () => {
    const before = (await projectRuns()).length;
    const missing = '987654321';
    const r = await train({ ...env({ MLFLOW_EXPERIMENT_ID: missing }), MLFLOW_EXPERIMENT_NAME: undefined });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`MLFLOW_EXPERIMENT_ID=${missing}`);
    expect(r.stderr).toMatch(/no experiment with this id/);
    expect(r.stderr).toMatch(/existing experiment|MLFLOW_EXPERIMENT_NAME/);
    expect((await projectRuns()).length).toBe(before);
    expect(await pendingSpool()).toEqual([]);
  });

  it('refuses MLFLOW_EXPERIMENT_ID contradicting an existing MLFLOW_EXPERIMENT_NAME, as MLflow does', async () => {
    await client.getOrCreateExperiment(experiment);
    const other = await client.createExperiment(uniqueName('oracx-other'));
    const r = await train(env({ MLFLOW_EXPERIMENT_ID: other }));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`MLFLOW_EXPERIMENT_ID=${other} does not match experiment "${experiment}"`);
  });

  it('keeps the experiment id of a run spooled while MLflow was down, whatever the environment of the sync', async () => {
    const id = await client.createExperiment(uniqueName('oracx-spooled'));
    const down = await train({ ...env({ MLFLOW_EXPERIMENT_ID: id, MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' }), MLFLOW_EXPERIMENT_NAME: undefined });
    expect(down.code, down.stderr).toBe(0);
    expect(down.result!.mlflowRunId).toBeNull();
    expect(await pendingSpool()).toEqual([expect.objectContaining({ experimentId: id })]);
    const sync = await runCli(['mlflow', 'sync', '--json'], { cwd: project, env: env({ MLFLOW_EXPERIMENT_NAME: uniqueName('elsewhere') }) });
    expect(sync.code, sync.stderr).toBe(0);
    const synced = sync.json<{ synced: { trainingRunId: number; mlflowRunId: string }[] }>().synced;
    expect(synced.map((s) => s.trainingRunId)).toEqual([down.result!.runId]);
    const run = await client.getRun(synced[0]!.mlflowRunId);
    expect(run.info.experimentId).toBe(id);
    expect(tagsOf(run)).toMatchObject({ 'oracx.kind': 'train', 'oracx.version': VERSION });
  });
});
