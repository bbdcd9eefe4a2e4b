// `oracx run` with MLFLOW_TRACKING_URI against the real MLflow server, read back with Python's MlflowClient as the
// MLflow UI sees it: one parent run per pipeline run, a nested run per stage (mlflow.parentRunId) with its input
// hash, status, params and outputs; the train stage's nested run is its full training run; evaluate logs its metrics
// and gates; skipped stages are nested runs too; a gate failure ends the parent FAILED.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, uniqueName } from '../helpers/mlflow.js';
import { openStore } from '../../src/store/connect.js';
import { tempDir } from '../helpers/stores.js';

interface PyRun {
  id: string;
  name: string;
  status: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

// Every run of the experiment, as MlflowClient returns them (the UI nests by the mlflow.parentRunId tag).
const SCRIPT = `
import json, sys
from mlflow.tracking import MlflowClient
c = MlflowClient()
exp = c.get_experiment_by_name(sys.argv[1])
runs = c.search_runs([exp.experiment_id], filter_string=f"tags.\\"oracx.pipeline_run\\" = '{sys.argv[2]}'", max_results=1000)
print(json.dumps([{"id": r.info.run_id, "name": r.info.run_name, "status": r.info.status, "tags": r.data.tags, "params": r.data.params, "metrics": r.data.metrics} for r in runs]))
`;

const stages = (gate: string) => ({
  collect: { inputs: [path.join(FIXTURES, 'full')] },
  features: { set: 'core@2' },
  fit: { kind: 'train', model: 'logreg', competitions: ['E0'], 'train-until': '2019-06-30', params: { l2: 0.1 } },
  evaluate: { seasons: ['2019-2020'], gate: [gate] },
});

describe.skipIf(!mlflowOrSkip())('a pipeline run nested in MLflow', () => {
  let url = '';
  beforeAll(async () => {
    url = await mlflowServer();
  }, 60_000);

  it('parent run, nested stage runs (the training run among them), evaluate metrics and gates, skipped stages', { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const experiment = uniqueName('oracx-pipeline');
    const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' };
    const file = path.join(dir, 'oracx.yaml');
    writeFileSync(file, stringify({ name: 'nested', stages: stages('rps<=0.25') }));
    const first = await runCli(['run', '--json'], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    const r1 = first.json<PipelineReport>();
    const runs = await pythonMlflow<PyRun[]>(url, SCRIPT, [experiment, String(r1.pipelineRunId)]);
    const parent = runs.find((r) => r.tags['mlflow.parentRunId'] === undefined)!;
    expect(parent).toMatchObject({
      name: `nested #${r1.pipelineRunId}`,
      status: 'FINISHED',
      tags: { 'oracx.pipeline': 'nested', 'oracx.status': 'succeeded' },
    });
    const children = runs.filter((r) => r.tags['mlflow.parentRunId'] === parent.id);
    expect(children).toHaveLength(4);
    expect(runs).toHaveLength(5);
    const byStage = Object.fromEntries(children.map((c) => [c.tags['oracx.stage'], c]));
    for (const s of r1.stages) {
      expect(byStage[s.stage], s.stage).toMatchObject({ status: 'FINISHED', tags: { 'oracx.stage_status': 'ran', 'oracx.input_hash': s.inputHash! } });
    }
    // The train stage's child is its full training run (model params, training metrics), not an extra run.
    const fit = r1.stages.find((s) => s.stage === 'fit')!;
    expect(byStage.fit!.id).toBe(fit.outputs!.mlflowRunId);
    expect(byStage.fit!.params).toMatchObject({ model: 'logreg', 'model.l2': '0.1', competitions: 'E0' });
    expect(byStage.fit!.metrics.stage_duration_ms).toBeGreaterThan(0);
    const evaluate = r1.stages.find((s) => s.stage === 'evaluate')!;
    expect(byStage.evaluate!.params).toMatchObject({ seasons: '["2019-2020"]', gate: '["rps<=0.25"]', margin: 'multiplicative' });
    expect(byStage.evaluate!.metrics).toMatchObject({ rps: evaluate.outputs!.rps, n: evaluate.outputs!.n, 'gate.0.passed': 1, 'gate.0.threshold': 0.25 });
    expect(byStage.evaluate!.tags['oracx.gate.0']).toBe('rps<=0.25: passed');
    expect(byStage.collect!.params.inputs).toBe(JSON.stringify([path.join(FIXTURES, 'full')]));
    expect(JSON.parse(byStage.collect!.tags['oracx.outputs']!)).toMatchObject({ files: 3 });

    // A failing gate: the stages before it are skipped (nested, tagged skipped), evaluate FAILED, the parent FAILED.
    writeFileSync(file, stringify({ name: 'nested', stages: stages('rps<=0.1') }));
    const second = await runCli(['run', '--json'], { cwd: dir, env });
    expect(second.code, second.stderr).toBe(3);
    const r2 = second.json<PipelineReport>();
    const runs2 = await pythonMlflow<PyRun[]>(url, SCRIPT, [experiment, String(r2.pipelineRunId)]);
    const parent2 = runs2.find((r) => r.tags['mlflow.parentRunId'] === undefined)!;
    expect(parent2).toMatchObject({ status: 'FAILED', tags: { 'oracx.status': 'gate_failed' } });
    const kids = Object.fromEntries(runs2.filter((r) => r.tags['mlflow.parentRunId'] === parent2.id).map((c) => [c.tags['oracx.stage'], c]));
    expect(Object.keys(kids).sort()).toEqual(['collect', 'evaluate', 'features', 'fit']);
    for (const name of ['collect', 'features', 'fit']) {
      expect(kids[name], name).toMatchObject({ status: 'FINISHED', tags: { 'oracx.stage_status': 'skipped' } });
      expect(kids[name]!.tags['oracx.reason']).toMatch(/^unchanged since stage run \d+$/);
    }
    // The skipped train stage points at the training run it reuses (in its outputs), and no new training run exists.
    expect(JSON.parse(kids.fit!.tags['oracx.outputs']!)).toMatchObject({ mlflowRunId: fit.outputs!.mlflowRunId });
    expect(kids.evaluate).toMatchObject({ status: 'FAILED', tags: { 'oracx.stage_status': 'gate-failed', 'oracx.gate.0': 'rps<=0.1: failed' } });
    expect(kids.evaluate!.metrics['gate.0.passed']).toBe(0);
    expect(kids.evaluate!.tags['oracx.error']).toMatch(/^gate failed: rps<=0\.1/);
  });

  it('an interrupted pipeline run ends KILLED, its running stage FAILED', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const experiment = uniqueName('oracx-pipeline-killed');
    const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' };
    const store = path.join(dir, 'store.db');
    writeFileSync(
      path.join(dir, 'oracx.yaml'),
      stringify({ name: 'stopped', stages: { collect: { inputs: [path.join(FIXTURES, 'full')] }, features: { set: 'core@2' } } }),
    );
    const stop = new AbortController();
    const running = runCli(['--store', store, 'run', '--json'], { cwd: dir, env, signal: stop.signal });
    // Ctrl-C once the collect stage is running.
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await openStore(store).catch(() => null);
      const n = s
        ? await s.db
            .selectFrom('stage_runs')
            .select('id')
            .where('status', '=', 'running')
            .execute()
            .catch(() => [])
        : [];
      await s?.close();
      if (n.length > 0) break;
      if (Date.now() > end) throw new Error('the collect stage never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    const r = await running;
    expect(r.code, r.stderr).toBe(130);
    const report = r.json<PipelineReport>();
    const runs = await pythonMlflow<PyRun[]>(url, SCRIPT, [experiment, String(report.pipelineRunId)]);
    const parent = runs.find((x) => x.tags['mlflow.parentRunId'] === undefined)!;
    expect(parent).toMatchObject({ status: 'KILLED', tags: { 'oracx.status': 'interrupted' } });
    const collect = runs.find((x) => x.tags['oracx.stage'] === 'collect')!;
    expect(collect).toMatchObject({ status: 'FAILED', tags: { 'mlflow.parentRunId': parent.id, 'oracx.stage_status': 'failed' } });
  });
});
