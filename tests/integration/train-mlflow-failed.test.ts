// A training that fails mid-fit, as MLflow's Python client sees it: the run ends FAILED with the losses logged so far
// and the error, and `oracx train` exits 1 saying what went wrong. No real model diverges on the bundled data (finite,
// standardised features; even mlp with lr=1 and no regularisation stays finite), so the real logreg fit is made to
// meet a non-finite loss at its 6th iteration, as an optimiser blowing up would: the fit, the store, the CLI and
// MLflow are real. A bad --artifacts folder, by contrast, is refused before anything is trained or logged.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { collectedWorkspace, FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, uniqueName } from '../helpers/mlflow.js';

const fault = vi.hoisted(() => ({ divergeAt: 0 }));

vi.mock('../../src/ml/models/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/ml/models/index.js')>();
  const fitModel: typeof real.fitModel = (name, data, params, options) => {
    if (fault.divergeAt === 0) return real.fitModel(name, data, params, options);
    return real.fitModel(name, data, params, {
      ...options,
      onEpoch: (log) => {
        if (log.epoch >= fault.divergeAt) throw new real.TrainingDiverged('logreg', log.epoch, Number.NaN);
        options.onEpoch?.(log);
      },
    });
  };
  return { ...real, fitModel };
});

interface Seen {
  runs: { status: string; endTime: number | null; error: string | null; loss: { step: number; value: number }[]; runId: string | null }[];
}

// Every run of the experiment, read with MLflow's own client.
const READ_EXPERIMENT = `
import json, sys
from mlflow import MlflowClient
c = MlflowClient()
e = c.get_experiment_by_name(sys.argv[1])
runs = c.search_runs([e.experiment_id]) if e else []
print(json.dumps({"runs": [{
    "status": r.info.status,
    "endTime": r.info.end_time,
    "error": r.data.tags.get("oracx.error"),
    "runId": r.data.tags.get("oracx.run_id"),
    "loss": [{"step": m.step, "value": m.value} for m in sorted(c.get_metric_history(r.info.run_id, "loss"), key=lambda m: m.step)],
} for r in runs]}))
`;

describe.skipIf(!mlflowOrSkip())('train runs that fail, in MLflow', () => {
  let url = '';
  beforeAll(async () => {
    url = await mlflowServer();
  });

  const workspace = () => collectedWorkspace(path.join(FIXTURES, 'full', 'E0_2017-2018.csv'));
  const env = (experiment: string) => ({ MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });

  it('a fit that diverges mid-way ends its run FAILED with the losses so far and the error; the CLI exits 1 saying so', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-train-failed');
    fault.divergeAt = 6;
    let out: Awaited<ReturnType<typeof runCli>>;
    try {
      out = await runCli(['train', '--model', 'logreg', '--competitions', 'E0', '--param', 'l2=0.01'], { cwd: dir, env: env(experiment) });
    } finally {
      fault.divergeAt = 0;
    }
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toMatch(/training diverged: logreg training diverged at epoch 6: loss is NaN/);
    expect(out.stderr).toMatch(/nothing was registered/);
    expect(out.stderr).toMatch(/\(FAILED\) logged to MLflow as run/);

    const { runs } = await pythonMlflow<Seen>(url, READ_EXPERIMENT, [experiment]);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.status).toBe('FAILED');
    expect(run.endTime).not.toBeNull();
    expect(run.error).toMatch(/training diverged at epoch 6: loss is NaN/);
    expect(run.loss.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    // The same losses the store kept for the failed run.
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      const stored = await store.db.selectFrom('training_runs').selectAll().execute();
      expect(stored.map((r) => [r.id, r.status])).toEqual([[Number(run.runId), 'failed']]);
      const logs = await store.db.selectFrom('training_logs').select(['epoch', 'loss']).orderBy('epoch').execute();
      expect(run.loss).toEqual(logs.map((l) => ({ step: l.epoch, value: l.loss })));
      expect(await store.db.selectFrom('model_versions').selectAll().execute()).toHaveLength(0);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('an --artifacts path that is a file is refused before the fit: exit 1, nothing recorded or logged', async () => {
    const dir = await workspace();
    const experiment = uniqueName('oracx-train-bad-artifacts');
    writeFileSync(path.join(dir, 'models'), 'not a folder');
    const out = await runCli(['train', '--model', 'dixon-coles', '--competitions', 'E0', '--artifacts', 'models'], { cwd: dir, env: env(experiment) });
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toContain(`cannot save models in ${path.join(dir, 'models')}: it is a file, not a folder`);
    expect(out.stderr).toMatch(/--artifacts/);
    expect((await pythonMlflow<Seen>(url, READ_EXPERIMENT, [experiment])).runs).toEqual([]);
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      expect(await store.db.selectFrom('training_runs').selectAll().execute()).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
