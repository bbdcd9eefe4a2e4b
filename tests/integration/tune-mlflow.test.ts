// A tune study in a real MLflow server, as Optuna's MLflowCallback lays it out: one parent run per study (found again
// when the study resumes), its trials nested under it, a pruned trial without the objective metric; offline, all of
// it spooled and replayed by `oracx mlflow sync`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TuneResult } from '../../pipelines/tune.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/types.js';
import { openStore } from '../../src/store/connect.js';
import { collectedWorkspace, runCli, spawnCli } from '../helpers/cli.js';
import { MLFLOW, mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';

const run = promisify(execFile);
// Random sampling and 84-day folds: quick trials, and from the sixth on the median pruner stops the worse ones.
const TUNE = ['tune', '--model', 'elo-ordered', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '84d', '--sampler', 'random'];

const tag = (r: Run, key: string) => r.data.tags.find((t) => t.key === key)?.value;
const metric = (r: Run, key: string) => r.data.metrics.find((m) => m.key === key)?.value;
const params = (r: Run) => Object.fromEntries(r.data.params.map((p) => [p.key, p.value]));

describe.skipIf(!mlflowOrSkip())('tune studies in MLflow', () => {
  let url = '';
  let client: MlflowClient;
  const experiment = uniqueName('oracx-tune');

  /** A working directory with its own store, collected from the fixtures. */
  const workspace = () => collectedWorkspace();
  const env = (trackingUri: string) => ({ MLFLOW_TRACKING_URI: trackingUri, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
  const cli = (dir: string, args: string[], trackingUri = url) => runCli(args, { cwd: dir, env: env(trackingUri) });

  /** The study's runs in MLflow: its parent run(s) and its trials by number. */
  async function studyRuns(study: string): Promise<{ parents: Run[]; trials: Map<number, Run> }> {
    const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
    const runs = (await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`oracx.study\` = '${study}'` })).runs;
    const trials = new Map(runs.filter((r) => tag(r, 'oracx.kind') === 'tune-trial').map((r) => [Number(tag(r, 'oracx.trial')), r]));
    return { parents: runs.filter((r) => tag(r, 'oracx.kind') === 'tune-study'), trials };
  }

  /** The study's trials as the store holds them. */
  async function storedTrials(dir: string, study: string): Promise<{ number: number; status: string; value: number | null; intermediate: number[] }[]> {
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      const rows = await store.db
        .selectFrom('tune_trials')
        .innerJoin('tune_studies', 'tune_studies.id', 'tune_trials.study_id')
        .select(['tune_trials.number', 'tune_trials.status', 'tune_trials.value', 'tune_trials.intermediate'])
        .where('tune_studies.name', '=', study)
        .orderBy('tune_trials.number')
        .execute();
      return rows.map((r) => ({ number: r.number, status: r.status, value: r.value, intermediate: JSON.parse(r.intermediate) as number[] }));
    } finally {
      await store.close();
    }
  }

  /** Checks the parent run against the store and best-params.json: one parent, every trial nested, pruned ones without rps. */
  async function expectStudy(dir: string, study: string, result: TuneResult): Promise<Run> {
    const { parents, trials } = await studyRuns(study);
    expect(parents).toHaveLength(1);
    const parent = parents[0]!;
    const stored = await storedTrials(dir, study);
    expect([...trials.keys()].sort((a, b) => a - b)).toEqual(stored.map((t) => t.number));
    for (const t of stored) {
      const r = trials.get(t.number)!;
      expect(tag(r, 'mlflow.parentRunId'), `trial ${t.number}`).toBe(parent.info.runId);
      expect(tag(r, 'state')).toBe({ complete: 'COMPLETE', pruned: 'PRUNED', failed: 'FAIL' }[t.status]);
      expect(r.info.status).toBe(t.status === 'failed' ? 'FAILED' : 'FINISHED');
      expect(params(r)).toMatchObject({ seasons: '2019-2020', walk_forward: '84d', sampler: 'random', seed: '0', competitions: 'E0' });
      expect(r.inputs[0]?.dataset).toMatchObject({ sourceType: 'oracx-store', name: 'E0 2019-2020' });
      // MLflow's colspec of the columns the model reads, and a store uri relative to the working directory.
      const colspec = (JSON.parse(r.inputs[0]!.dataset.schema!) as { mlflow_colspec: { name: string; required: boolean }[] }).mlflow_colspec;
      expect(colspec).toEqual([
        { type: 'string', name: 'date', required: true },
        { type: 'double', name: 'elo_diff', required: true },
        { type: 'string', name: 'result', required: true },
      ]);
      expect(JSON.parse(r.inputs[0]!.dataset.source)).toMatchObject({ uri: 'sqlite:oracx.db' });
      if (t.status === 'complete') expect(metric(r, 'rps')).toBeCloseTo(t.value!, 12);
      else expect(metric(r, 'rps'), `${t.status} trial ${t.number} has an rps`).toBeUndefined();
      const curve = await client.getMetricHistory(r.info.runId, 'running_rps');
      expect(curve.sort((a, b) => a.step - b.step).map((m) => m.value)).toEqual(t.intermediate);
    }
    expect(parent.info.status).toBe('FINISHED');
    expect(tag(parent, 'mlflow.runName')).toBe(`tune:${study}`);
    expect(params(parent)).toMatchObject({ model: 'elo-ordered', feature_set: 'core@2', competitions: 'E0', seasons: '2019-2020', walk_forward: '84d' });
    expect(tag(parent, 'oracx.sampler')).toBe('random');
    expect(tag(parent, 'oracx.seed')).toBe('0');
    const best = stored.filter((t) => t.status === 'complete').sort((a, b) => a.value! - b.value!)[0]!;
    expect(result.best).toMatchObject({ number: best.number, value: best.value });
    expect(metric(parent, 'best_rps')).toBeCloseTo(best.value!, 12);
    expect(tag(parent, 'oracx.best_trial')).toBe(String(best.number));
    for (const [key, value] of Object.entries(result.best!.params)) expect(tag(parent, `best.${key}`)).toBe(String(value));
    const artifact = new TextDecoder().decode(await client.downloadArtifact(parent.info.runId, 'best-params.json'));
    expect(artifact).toBe(readFileSync(path.join(dir, 'best-params.json'), 'utf8'));
    return parent;
  }

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
  });

  it('logs a study as one parent run with its trials nested; a pruned trial has no rps; a resumed study keeps its parent', async () => {
    const dir = await workspace();
    const study = uniqueName('study');
    const first = await cli(dir, [...TUNE, '--trials', '8', '--study', study, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const a = first.json<TuneResult>();
    // The test means something only with a pruned trial to look at.
    expect(a.trials.pruned, first.stderr).toBeGreaterThan(0);
    const parent = await expectStudy(dir, study, a);

    const again = await cli(dir, [...TUNE, '--trials', '11', '--study', study, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const b = again.json<TuneResult>();
    expect(b.ranHere).toBe(3);
    expect((await expectStudy(dir, study, b)).info.runId).toBe(parent.info.runId);
    expect(tag((await studyRuns(study)).parents[0]!, 'oracx.trials_requested')).toBe('11');
    // best_rps after each part of the study, stepped by the trials ended then.
    const history = await client.getMetricHistory(parent.info.runId, 'best_rps');
    expect(history.map((m) => m.step).sort((x, y) => x - y)).toEqual([8, 11]);

    // What a Python MLflow user sees: ordering the study's runs by rps puts a complete trial, the best, first.
    const script = [
      'import json, sys, mlflow',
      `runs = mlflow.search_runs(experiment_names=[${JSON.stringify(experiment)}], filter_string="tags.\`oracx.study\` = '${study}'", order_by=["metrics.rps ASC"])`,
      'first = runs.iloc[0]',
      'kinds = sorted(runs["tags.oracx.kind"].unique().tolist())',
      'versions = sorted(runs["tags.oracx.version"].fillna("").unique().tolist())',
      'print(json.dumps({"state": first["tags.state"], "rps": first["metrics.rps"], "pruned_with_rps": int(((runs["tags.state"] == "PRUNED") & runs["metrics.rps"].notna()).sum()), "kinds": kinds, "versions": versions}))',
    ].join('\n');
    const py = await run(MLFLOW.python, ['-c', script], { env: { ...process.env, MLFLOW_TRACKING_URI: url } });
    const seen = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
      state: string;
      rps: number;
      pruned_with_rps: number;
      kinds: string[];
      versions: string[];
    };
    expect(seen).toMatchObject({ state: 'COMPLETE', pruned_with_rps: 0, kinds: ['tune-study', 'tune-trial'] });
    // Every run of the study, parent and trials, says which oracx logged it.
    expect(seen.versions).toEqual([(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version]);
    expect(seen.rps).toBeCloseTo(b.best!.value, 12);
  }, 120_000);

  it('spools the whole study while MLflow is unreachable; mlflow sync replays it nested under one parent, also after a resume', async () => {
    const dir = await workspace();
    const study = uniqueName('offline');
    const down = await cli(dir, [...TUNE, '--trials', '3', '--study', study, '--json'], 'http://127.0.0.1:9');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/5 run\(s\) of study \S+ not logged to MLflow .*spooled in the store: replay them with oracx mlflow sync/);
    expect((await studyRuns(study)).parents).toHaveLength(0);

    const sync = await cli(dir, ['mlflow', 'sync', '--json']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json<{ synced: unknown[] }>().synced).toHaveLength(5);
    const parent = await expectStudy(dir, study, down.json<TuneResult>());

    // Resumed offline again: the replay finds the same parent.
    const more = await cli(dir, [...TUNE, '--trials', '5', '--study', study, '--json'], 'http://127.0.0.1:9');
    expect(more.code, more.stderr).toBe(0);
    expect((await cli(dir, ['mlflow', 'sync', '--json'])).code).toBe(0);
    expect((await expectStudy(dir, study, more.json<TuneResult>())).info.runId).toBe(parent.info.runId);
    expect((await cli(dir, ['mlflow', 'sync', '--json'])).json()).toEqual({ synced: [], failed: [] });
  }, 120_000);

  it('Ctrl-C ends the study run KILLED (at once or at the next sync) with the trials that ended; the interrupted trial has no run', async () => {
    const dir = await workspace();
    const study = uniqueName('int');
    // MLP trials over 4-week refits take seconds, so the interrupt lands inside one.
    const args = [...TUNE, '--model', 'mlp', '--walk-forward', '28d', '--trials', '3', '--study', study, '--param', 'patience=0'];
    const child = spawnCli(args, { cwd: dir, env: env(url) });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await storedTrials(dir, study).catch(() => [])).some((t) => t.status === 'running'))
      await new Promise((r) => setTimeout(r, 50));
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);
    // MLflow calls in flight are cut by the interrupt too: what they did not log stays spooled, for the sync.
    const sync = await cli(dir, ['mlflow', 'sync']);
    expect(sync.code, sync.stderr).toBe(0);
    const { parents, trials } = await studyRuns(study);
    expect(
      parents.map((p) => p.info.status),
      done.stderr,
    ).toEqual(['KILLED']);
    const ended = (await storedTrials(dir, study)).filter((t) => t.status !== 'waiting');
    expect([...trials.keys()].sort()).toEqual(ended.map((t) => t.number));
  }, 120_000);
});
