// `oracx evaluate` in a real MLflow server, read back with MLflow's own Python client: the run is RUNNING with
// per-fold metrics while the walk-forward goes, then FINISHED with the fold history, betting metrics and
// predictions.csv, linked to the training run it evaluates (`--run`); Ctrl-C (once or twice) leaves one KILLED run
// with the folds so far; offline, `oracx mlflow sync` replays the same single run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/types.js';
import { openStore } from '../../src/store/connect.js';
import { collectedWorkspace, runCli, spawnCli, type Spawned } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, testClient, uniqueName } from '../helpers/mlflow.js';

/** What MLflow's Python client sees of an experiment's evaluation runs (argv: experiment, then "csv" to read predictions.csv). */
const INSPECT = `
import json, sys
import mlflow
from mlflow import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name(sys.argv[1])
runs = [] if exp is None else c.search_runs([exp.experiment_id], filter_string="tags.\`oracx.kind\` = 'evaluation'")
out = []
for r in runs:
    rid = r.info.run_id
    history = {k: sorted([m.step, m.value] for m in c.get_metric_history(rid, k)) for k in ['fold_rps', 'fold_log_loss', 'fold_brier', 'fold_n', 'fold_bookmaker_rps']}
    artifacts = [a.path for a in c.list_artifacts(rid, 'oracx')]
    predictions = None
    if len(sys.argv) > 2 and 'oracx/predictions.csv' in artifacts:
        import pandas as pd
        df = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=rid, artifact_path='oracx/predictions.csv'))
        predictions = {
            'rows': len(df),
            'columns': list(df.columns),
            'folds': sorted(int(f) for f in df['fold'].unique()),
            'fold_sizes': {str(int(k)): int(v) for k, v in df.groupby('fold').size().items()},
            'max_sum_error': float((df.p_home + df.p_draw + df.p_away - 1).abs().max()),
            'results': sorted(df['result'].unique().tolist()),
            'teams': bool(df['home'].map(lambda t: isinstance(t, str) and len(t) > 0).all()),
        }
    out.append({
        'id': rid, 'status': r.info.status, 'start': r.info.start_time, 'end': r.info.end_time,
        'params': r.data.params, 'tags': r.data.tags, 'metrics': r.data.metrics, 'history': history,
        'artifacts': artifacts, 'predictions': predictions,
        'inputs': [{'name': d.dataset.name, 'digest': d.dataset.digest, 'context': [t.value for t in d.tags if t.key == 'mlflow.data.context']} for d in r.inputs.dataset_inputs],
    })
print(json.dumps(out))
`;

interface PyRun {
  id: string;
  status: string;
  start: number;
  end: number | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  history: Record<string, [number, number][]>;
  artifacts: string[];
  predictions: {
    rows: number;
    columns: string[];
    folds: number[];
    fold_sizes: Record<string, number>;
    max_sum_error: number;
    results: string[];
    teams: boolean;
  } | null;
  inputs: { name: string; digest: string; context: string[] }[];
}

/** An mlp refitted every 14 days: 26 folds (20 with matches) of a second or two each, long enough to watch and interrupt. */
const SLOW = ['evaluate', '--model', 'mlp', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '14d', '--seed', '5'];

describe.skipIf(!mlflowOrSkip())('evaluate runs live in MLflow', () => {
  let url = '';
  let client: MlflowClient;

  const workspace = () => collectedWorkspace();
  const env = (experiment: string, trackingUri = url) => ({
    MLFLOW_TRACKING_URI: trackingUri,
    MLFLOW_EXPERIMENT_NAME: experiment,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
  });
  const inspect = (experiment: string, csv = false) => pythonMlflow<PyRun[]>(url, INSPECT, csv ? [experiment, 'csv'] : [experiment]);

  async function evaluationRuns(experiment: string): Promise<Run[]> {
    const e = await client.getExperimentByName(experiment);
    if (!e) return [];
    return (await client.searchRuns({ experimentIds: [e.experimentId], filter: "tags.`oracx.kind` = 'evaluation'" })).runs;
  }

  /** Polls (with oracx's client, quick) until the evaluation's run has `folds` fold_rps points; the CLI must still be running. */
  async function liveRun(experiment: string, child: Spawned, folds: number): Promise<Run> {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && child.child.exitCode === null) {
      const run = (await evaluationRuns(experiment))[0];
      if (run && (await client.getMetricHistory(run.info.runId, 'fold_rps')).length >= folds) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = child.child.exitCode === null ? null : await child.done;
    throw new Error(`no evaluation run with ${folds} fold(s) while the CLI ran (exit ${child.child.exitCode}): ${done?.stderr ?? ''}`);
  }

  /** Spool entries not yet synced (0 before the store exists). */
  async function spooled(dir: string): Promise<number> {
    if (!existsSync(path.join(dir, 'oracx.db'))) return 0;
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      return (await store.db.selectFrom('mlflow_spool').select('id').where('stage', '!=', 'synced').execute()).length;
    } finally {
      await store.close();
    }
  }

  /** Steps from 0, each fold once, in order (a fold with no test match, e.g. in 2020's break, has no point). */
  const byFold = (points: [number, number][]) => {
    const steps = points.map(([step]) => step);
    expect(steps[0]).toBe(0);
    expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
  };

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
  });

  it('is RUNNING with per-fold metrics during the walk-forward, and KILLED with the folds so far after Ctrl-C (exit 130)', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-live');
    const child = spawnCli(SLOW, { cwd: dir, env: env(experiment) });
    await liveRun(experiment, child, 2);
    const [running] = await inspect(experiment);
    expect(child.child.exitCode, 'the evaluation ended before it could be seen running').toBeNull();
    expect(running!.status).toBe('RUNNING');
    expect(running!.params).toMatchObject({ model: 'mlp', competitions: 'E0', seasons: '2019-2020', walk_forward: '14d', seed: '5', folds: '26' });
    expect(running!.history.fold_rps!.length).toBeGreaterThanOrEqual(2);
    byFold(running!.history.fold_rps!);
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);

    const runs = await inspect(experiment);
    expect(runs, done.stderr).toHaveLength(1);
    const killed = runs[0]!;
    expect(killed.id).toBe(running!.id);
    expect(killed.status).toBe('KILLED');
    expect(killed.end).toBeGreaterThanOrEqual(killed.start);
    expect(killed.tags['oracx.error']).toMatch(/interrupted by SIGINT/);
    // The folds logged live are all there, and no more than were planned; no final figures.
    const folds = killed.history.fold_rps!;
    expect(folds.length).toBeGreaterThanOrEqual(running!.history.fold_rps!.length);
    expect(folds.length).toBeLessThan(20);
    byFold(folds);
    expect(killed.history.fold_log_loss).toHaveLength(folds.length);
    for (const [, rps] of folds) expect(rps).toBeGreaterThan(0);
    expect(killed.metrics.rps).toBeUndefined();
  }, 150_000);

  it('evaluate --models: a RUNNING run per model from its first fold; Ctrl-C during the second ends both KILLED', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-models-live');
    const args = ['evaluate', '--models', 'logreg,mlp', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '14d', '--seed', '5'];
    const child = spawnCli(args, { cwd: dir, env: env(experiment) });
    // The second model's run exists (RUNNING) while the first's, its walk-forward done, waits for the comparison.
    const deadline = Date.now() + 120_000;
    let runs: Run[] = [];
    while (Date.now() < deadline && child.child.exitCode === null) {
      runs = await evaluationRuns(experiment);
      const mlp = runs.find((r) => r.data.params.some((p) => p.key === 'model' && p.value === 'mlp'));
      if (runs.length === 2 && mlp && (await client.getMetricHistory(mlp.info.runId, 'fold_rps')).length >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(child.child.exitCode, 'the comparison ended before both runs were seen').toBeNull();
    const seen = await inspect(experiment);
    expect(seen.map((r) => r.status)).toEqual(['RUNNING', 'RUNNING']);
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);
    const ended = await inspect(experiment);
    expect(ended).toHaveLength(2);
    const byModel = Object.fromEntries(ended.map((r) => [r.params.model, r]));
    expect(byModel.logreg!.status).toBe('KILLED');
    expect(byModel.mlp!.status).toBe('KILLED');
    // The first model's walk-forward was complete: every fold is in its history; the second has the folds so far.
    expect(byModel.logreg!.history.fold_rps!.length).toBeGreaterThan(byModel.mlp!.history.fold_rps!.length);
    byFold(byModel.logreg!.history.fold_rps!);
    expect(byModel.logreg!.tags['oracx.comparison']).toBeUndefined();
  }, 180_000);

  it('signalled twice (SIGINT then SIGTERM at once) still leaves one KILLED run, not a RUNNING one', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-twice');
    const child = spawnCli(SLOW, { cwd: dir, env: env(experiment) });
    await liveRun(experiment, child, 1);
    child.child.kill('SIGINT');
    child.child.kill('SIGTERM');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);
    // The second signal found the KILLED end under way and waited for it rather than exiting at once (the process
    // may handle the two signals in either order).
    expect(done.stderr).toMatch(/(SIGINT|SIGTERM) received, exiting once the interrupted run is recorded/);
    const runs = await inspect(experiment);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('KILLED');
    expect(runs[0]!.history.fold_rps!.length).toBeGreaterThanOrEqual(1);
    byFold(runs[0]!.history.fold_rps!);
  }, 150_000);

  it('offline, an evaluation interrupted by Ctrl-C is spooled and synced as one KILLED run with its folds', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-killed-offline');
    // -v logs a line per fold done: Ctrl-C once one is, whatever the machine's load (a fixed wait was flaky under load).
    const child = spawnCli([...SLOW, '-v'], { cwd: dir, env: env(experiment, 'http://127.0.0.1:9') });
    let log = '';
    child.child.stderr.on('data', (d: Buffer) => {
      log += d.toString('utf8');
    });
    // The start is spooled before the first fold.
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && child.child.exitCode === null && ((await spooled(dir)) === 0 || !/fold \d{4}-\d{2}-\d{2}: \d+ train/.test(log))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.stderr).toBe(130);
    expect(done.stderr).toMatch(/evaluation \(KILLED\) not logged to MLflow .*replay it with oracx mlflow sync/);
    // The KILLED end holds all the start did and replaced it in the spool.
    expect(await spooled(dir)).toBe(1);
    const sync = await runCli(['mlflow', 'sync', '--json'], { cwd: dir, env: env(experiment) });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.json<{ synced: unknown[] }>().synced).toHaveLength(1);
    const runs = await inspect(experiment);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('KILLED');
    expect(runs[0]!.params).toMatchObject({ model: 'mlp', seed: '5' });
    expect(runs[0]!.history.fold_rps!.length).toBeGreaterThanOrEqual(1);
    byFold(runs[0]!.history.fold_rps!);
  }, 150_000);

  it('ends FINISHED linked to the training run (its MLflow run, seed, params, dataset), with fold history, betting metrics and predictions.csv', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-run');
    const trained = await runCli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--seed', '7', '--json'], {
      cwd: dir,
      env: env(experiment),
    });
    expect(trained.code, trained.stderr).toBe(0);
    const train = trained.json<{ runId: number; mlflowRunId: string; params: Record<string, unknown>; dataHash: string }>();
    expect(train.mlflowRunId).toMatch(/^[0-9a-f]{32}$/);

    const args = ['evaluate', '--run', String(train.runId), '--seasons', '2019-2020', '--walk-forward', '28d', '--betting', '--json'];
    const r = await runCli(args, { cwd: dir, env: env(experiment) });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{
      mlflowRunId: string | null;
      mlflowReason?: string;
      overall: { n: number; rps: number };
      betting: { flat: { bets: number; roi: number; profit: number }; kelly: { finalBankroll: number } };
      folds: unknown[];
    }>();
    expect(doc.mlflowRunId).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.mlflowReason).toBeUndefined();

    const runs = await inspect(experiment, true);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.id).toBe(doc.mlflowRunId);
    expect(run.status).toBe('FINISHED');
    // Links: the training run (store id and MLflow run), its seed and params instead of --seed's default 0.
    expect(run.tags).toMatchObject({
      'oracx.training_run_id': String(train.runId),
      'oracx.source_mlflow_run_id': train.mlflowRunId,
      'oracx.training_data_hash': train.dataHash,
    });
    expect(run.tags['mlflow.parentRunId']).toBeUndefined();
    expect(run.params).toMatchObject({ model: 'logreg', seed: '7', walk_forward: `fixed run ${train.runId}` });
    for (const [key, value] of Object.entries(train.params)) expect(run.params[`model.${key}`]).toBe(String(value));
    const training = run.inputs.find((i) => i.context.includes('training'));
    // The training run's own dataset (same name and digest), so MLflow shows one dataset for both runs.
    const trainingInput = (await client.getRun(train.mlflowRunId)).inputs.find((i) => i.context === 'training')!.dataset;
    expect(training?.digest).toBe(trainingInput.digest);
    expect(training?.name).toBe(trainingInput.name);
    expect(run.inputs.some((i) => i.context.includes('evaluation'))).toBe(true);

    // Per-fold history (step = fold), summing to the overall figures.
    const folds = run.history.fold_rps!;
    expect(folds.length).toBe(doc.folds.length);
    expect(folds.length).toBeGreaterThan(5);
    byFold(folds);
    const sizes = run.history.fold_n!.map(([, n]) => n);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(doc.overall.n);
    const weighted = folds.reduce((sum, [, rps], i) => sum + rps * sizes[i]!, 0) / doc.overall.n;
    expect(weighted).toBeCloseTo(doc.overall.rps, 10);
    expect(run.history.fold_bookmaker_rps).toHaveLength(folds.length);

    // Betting figures as metrics, the same as in the document.
    expect(run.metrics.betting_flat_bets).toBe(doc.betting.flat.bets);
    expect(run.metrics.betting_flat_roi).toBeCloseTo(doc.betting.flat.roi, 10);
    expect(run.metrics.betting_flat_profit).toBeCloseTo(doc.betting.flat.profit, 10);
    expect(run.metrics.betting_kelly_final_bankroll).toBeCloseTo(doc.betting.kelly.finalBankroll, 10);
    expect(run.metrics.rps).toBeCloseTo(doc.overall.rps, 10);

    // predictions.csv: one row per scored match, in the folds the history shows.
    expect(run.artifacts).toEqual(expect.arrayContaining(['oracx/evaluation.json', 'oracx/predictions.csv']));
    const p = run.predictions!;
    expect(p.rows).toBe(doc.overall.n);
    expect(p.columns).toEqual(
      expect.arrayContaining([
        'match_id',
        'date',
        'competition',
        'home',
        'away',
        'result',
        'fold',
        'p_home',
        'p_draw',
        'p_away',
        'bookmaker_p_home',
        'naive_p_home',
        'elo_p_away',
      ]),
    );
    expect(p.folds).toEqual(folds.map(([step]) => step));
    expect(Object.values(p.fold_sizes)).toEqual(sizes);
    expect(p.max_sum_error).toBeLessThan(1e-9);
    expect(p.results).toEqual(['A', 'D', 'H']);
    expect(p.teams).toBe(true);
  }, 150_000);

  it('--registered NAME@ALIAS (MLflow registry) links the run to the version, its MLflow run and the training run of this store', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-registered');
    const name = uniqueName('oracx-eval-model');
    const trained = await runCli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--seed', '11', '--json'], {
      cwd: dir,
      env: env(experiment),
    });
    expect(trained.code, trained.stderr).toBe(0);
    const train = trained.json<{ runId: number; mlflowRunId: string }>();
    const registered = await runCli(['register', '--run', String(train.runId), '--name', name, '--alias', 'champion', '--json'], {
      cwd: dir,
      env: env(experiment),
    });
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.json<{ registry: string; version: { version: number } }>()).toMatchObject({ registry: 'mlflow', version: { version: 1 } });

    const r = await runCli(['evaluate', '--registered', `models:/${name}@champion`, '--seasons', '2019-2020', '--json'], { cwd: dir, env: env(experiment) });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ mlflowRunId: string | null; walkForward: string }>();
    expect(doc.walkForward).toBe(`fixed ${name} version 1`);
    const runs = await inspect(experiment);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.id).toBe(doc.mlflowRunId);
    expect(run.status).toBe('FINISHED');
    expect(run.tags).toMatchObject({
      'oracx.registered_model': name,
      'oracx.registered_version': '1',
      'oracx.source_mlflow_run_id': train.mlflowRunId,
      'oracx.training_run_id': String(train.runId),
    });
    expect(run.params).toMatchObject({ model: 'logreg', seed: '11' });

    const bad = await runCli(['evaluate', '--registered', `${name}@nope`, '--seasons', '2019-2020'], { cwd: dir, env: env(experiment) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`has no alias "nope"`);
    const both = await runCli(['evaluate', '--registered', `${name}/1`, '--run', '1', '--seasons', '2019-2020'], { cwd: dir, env: env(experiment) });
    expect(both.code).toBe(2);
    expect(await inspect(experiment)).toHaveLength(1);
  }, 150_000);

  it('offline: --json says the run is spooled, and the sync replays it as one FINISHED run with its fold history', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-offline');
    const args = ['evaluate', '--model', 'dixon-coles', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '28d', '--json'];
    const r = await runCli(args, { cwd: dir, env: env(experiment, 'http://127.0.0.1:9') });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ mlflowRunId: string | null; mlflowReason?: string; folds: unknown[] }>();
    expect(doc.mlflowRunId).toBeNull();
    expect(doc.mlflowReason).toMatch(/spooled.*oracx mlflow sync/);
    const sync = await runCli(['mlflow', 'sync', '--json'], { cwd: dir, env: env(experiment) });
    expect(sync.code, sync.stderr).toBe(0);
    // One entry: the end superseded the start spooled while the server was down.
    expect(sync.json<{ synced: unknown[] }>().synced).toHaveLength(1);
    const runs = await inspect(experiment, true);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('FINISHED');
    expect(runs[0]!.history.fold_rps).toHaveLength(doc.folds.length);
    expect(runs[0]!.predictions?.rows).toBeGreaterThan(0);

    const untracked = await runCli([...args, '--no-track'], { cwd: dir, env: env(experiment) });
    expect(untracked.json<{ mlflowRunId: string | null; mlflowReason?: string }>()).toMatchObject({
      mlflowRunId: null,
      mlflowReason: 'not tracked (--no-track)',
    });
  }, 150_000);

  it('ends FAILED with the error and the folds so far when the evaluation fails after its start (here: writing --report)', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-failed');
    const args = [
      'evaluate',
      '--model',
      'dixon-coles',
      '--competitions',
      'E0',
      '--seasons',
      '2019-2020',
      '--walk-forward',
      '28d',
      '--report',
      'no/such/dir/eval.html',
    ];
    const r = await runCli(args, { cwd: dir, env: env(experiment) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ENOENT/);
    const runs = await inspect(experiment);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('FAILED');
    expect(runs[0]!.tags['oracx.error']).toMatch(/ENOENT/);
    expect(runs[0]!.history.fold_rps!.length).toBeGreaterThan(5);
    expect(runs[0]!.metrics.rps).toBeUndefined();
  }, 60_000);

  it('refuses a fixed model tested on its own training window before any run is created (exit 1)', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-eval-overlap');
    const trained = await runCli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--json', '--no-track'], { cwd: dir });
    expect(trained.code, trained.stderr).toBe(0);
    const r = await runCli(['evaluate', '--run', String(trained.json<{ runId: number }>().runId), '--seasons', '2018-2019'], {
      cwd: dir,
      env: env(experiment),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('was trained on matches until 2019-05-12');
    expect(await evaluationRuns(experiment)).toEqual([]);
  }, 60_000);
});
