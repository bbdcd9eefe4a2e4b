// What MLflow's own Python client reads of a training run's dataset and curves: the dataset schema is MLflow's colspec
// of the columns the model reads, its source names the store without local paths or passwords, a Dixon–Coles run has
// its Newton iterations per competition and an ensemble run each member's fit.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, uniqueName } from '../helpers/mlflow.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

interface Seen {
  status: string;
  sourceType: string;
  source: Record<string, unknown>;
  context: string;
  /** (name, type, required) of mlflow.types.Schema.from_json over the colspec. */
  columns: [string, string, boolean][];
  profile: Record<string, number>;
  /** Why mlflow.data.get_source fails for the oracx-store source type ('' when it does not). */
  getSource: string;
  metrics: Record<string, { step: number; value: number }[]>;
}

// Reads one run the way a Python user would, with every metric's full history.
const READ_RUN = `
import json, sys, mlflow
from mlflow import MlflowClient
from mlflow.types import Schema
c = MlflowClient()
run = c.get_run(sys.argv[1])
inp = run.inputs.dataset_inputs[0]
ds = inp.dataset
schema = Schema.from_json(json.dumps(json.loads(ds.schema)["mlflow_colspec"]))
try:
    mlflow.data.get_source(ds)
    why = ""
except Exception as e:
    why = str(e)
metrics = {k: [{"step": m.step, "value": m.value} for m in sorted(c.get_metric_history(run.info.run_id, k), key=lambda m: m.step)] for k in run.data.metrics}
print(json.dumps({
    "status": run.info.status,
    "sourceType": ds.source_type,
    "source": json.loads(ds.source),
    "context": {t.key: t.value for t in inp.tags}.get("mlflow.data.context"),
    "columns": [[s.name, s.type.name, s.required] for s in schema.inputs],
    "profile": json.loads(ds.profile),
    "getSource": why,
    "metrics": metrics,
}))
`;

describe.skipIf(!mlflowOrSkip())('training runs as MLflow reads them: dataset and per-iteration curves', () => {
  let url = '';
  beforeAll(async () => {
    url = await mlflowServer();
  });

  async function trained(args: string[], options: { store?: string } = {}): Promise<{ dir: string; seen: Seen; stdout: string }> {
    const dir = tempDir();
    const storeArgs = options.store ? ['--store', options.store] : [];
    const c = await runCli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q', ...storeArgs], { cwd: dir });
    expect(c.code, c.stderr).toBe(0);
    const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: uniqueName('oracx-train-data') };
    const out = await runCli(['train', ...args, '--json', ...storeArgs], { cwd: dir, env });
    expect(out.code, out.stderr).toBe(0);
    const runId = out.json<{ mlflowRunId: string | null }>().mlflowRunId;
    expect(runId, out.stderr).toBeTruthy();
    return { dir, seen: await pythonMlflow<Seen>(url, READ_RUN, [runId!]), stdout: out.stdout };
  }

  it('Dixon–Coles: a colspec of the columns it reads (not the 62 features), a relative source, and its Newton iterations', async () => {
    const { dir, seen } = await trained(['--model', 'dixon-coles', '--competitions', 'E0']);
    expect(seen.status).toBe('FINISHED');
    expect(seen.columns).toEqual([
      ['date', 'string', true],
      ['competition', 'string', true],
      ['home_team', 'long', true],
      ['away_team', 'long', true],
      ['home_goals', 'long', true],
      ['away_goals', 'long', true],
    ]);
    expect(seen.profile).toEqual({ num_rows: 1140, num_elements: 1140 * 6 });
    expect(seen.context).toBe('training');
    expect(seen.sourceType).toBe('oracx-store');
    expect(seen.source).toMatchObject({
      uri: 'sqlite:oracx.db',
      featureSet: expect.stringMatching(/^core@\d+$/),
      competitions: ['E0'],
      from: '2017-08-11',
      until: '2020-07-26',
    });
    expect(JSON.stringify(seen.source)).not.toContain(dir);
    // MLflow has no resolver for oracx stores: the dataset reads cleanly, get_source says so.
    expect(seen.getSource).toMatch(/unrecognized source type: oracx-store/);

    const curve = seen.metrics['E0.loss']!;
    expect(curve.map((m) => m.step)).toEqual(curve.map((_, i) => i));
    expect(curve.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.value).toBeLessThanOrEqual(curve[i - 1]!.value + 1e-12);
    expect(curve.at(-1)!.value).toBeLessThan(curve[0]!.value - 0.01);
    const grad = seen.metrics['E0.grad_norm']!;
    expect(grad).toHaveLength(curve.length);
    expect(grad.at(-1)!.value).toBeLessThan(grad[0]!.value * 1e-3);
    // The second pass, newcomers pulled towards the weakest teams, is a curve of its own (its objective differs).
    expect(seen.metrics['E0.priors.loss']?.length).toBeGreaterThanOrEqual(1);
    expect(seen.metrics.loss).toBeUndefined();
  }, 120_000);

  it("an ensemble: the union of its members' columns and each member's fit as its own curve", async () => {
    const { seen } = await trained(['--model', 'ensemble', '--competitions', 'E0', '--param', 'members=dixon-coles,logreg']);
    const names = seen.columns.map(([name]) => name);
    expect(names.slice(0, 7)).toEqual(['date', 'competition', 'season', 'home_team', 'away_team', 'home_goals', 'away_goals']);
    expect(names).toContain('elo_diff');
    expect(names.at(-1)).toBe('result');
    expect(seen.columns.filter(([, type]) => type === 'double').length).toBeGreaterThan(10);
    for (const key of ['logreg.loss', 'dixon-coles.E0.loss', 'dixon-coles.E0.grad_norm']) {
      expect(seen.metrics[key]?.length, key).toBeGreaterThanOrEqual(4);
    }
    const logreg = seen.metrics['logreg.loss']!;
    expect(logreg.at(-1)!.value).toBeLessThan(logreg[0]!.value);
    expect(seen.metrics).toHaveProperty('train_rps');
  }, 180_000);

  it('two models trained on one window in one experiment each keep their own dataset schema', async () => {
    // MLflow links a run logging an existing (experiment, name, digest) to the dataset logged first: the digest must
    // tell the columns apart, or the logreg run would show Dixon–Coles's six columns.
    const dir = tempDir();
    expect((await runCli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd: dir })).code).toBe(0);
    const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: uniqueName('oracx-train-same-window') };
    const seen: Seen[] = [];
    for (const model of ['dixon-coles', 'logreg']) {
      const out = await runCli(['train', '--model', model, '--competitions', 'E0', '--param', model === 'logreg' ? 'l2=1' : 'xi=0.003', '--json'], {
        cwd: dir,
        env,
      });
      expect(out.code, out.stderr).toBe(0);
      seen.push(await pythonMlflow<Seen>(url, READ_RUN, [out.json<{ mlflowRunId: string }>().mlflowRunId]));
    }
    expect(seen[0]!.columns).toHaveLength(6);
    expect(seen[1]!.columns.map(([name]) => name)).toContain('elo_diff');
    expect(seen[1]!.columns.at(-1)).toEqual(['result', 'string', true]);
  }, 180_000);

  const pg = DIALECTS.find((d) => d.name === 'postgres')!;
  it.skipIf(!pg.available)(
    'a PostgreSQL store: the source names host, database and schema, never the password or user',
    async () => {
      // Trust authentication accepts any password: the one in the URL must not reach MLflow.
      const location = pg.newLocation().replace(/^postgres:\/\/([^:@/]+)(:[^@/]*)?@/, 'postgres://$1:Secret-pw-42@');
      expect(location).toContain(':Secret-pw-42@');
      const { seen } = await trained(['--model', 'dixon-coles', '--competitions', 'E0'], { store: location });
      const source = JSON.stringify(seen.source);
      expect(source).not.toContain('Secret-pw-42');
      expect(source).not.toContain('***');
      const schema = new URL(location).searchParams.get('schema');
      expect(seen.source.uri).toBe(`postgres://${new URL(location).host}${new URL(location).pathname}?schema=${schema}`);
    },
    120_000,
  );
});
