// `oracx run` with MLFLOW_TRACKING_URI: a train stage's run is logged to the real MLflow server and tagged with the
// pipeline run, so the runs of one `oracx run` can be found together.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

describe.skipIf(!mlflowOrSkip())('oracx run tracked in MLflow', () => {
  let url = '';
  beforeAll(async () => {
    url = await mlflowServer();
  }, 60_000);

  it('logs the train stage run with oracx.pipeline_run, oracx.pipeline and oracx.stage tags', async () => {
    const dir = tempDir();
    const experiment = uniqueName('oracx-run');
    writeFileSync(
      path.join(dir, 'oracx.yaml'),
      stringify({
        name: 'tracked',
        stages: {
          collect: { inputs: [path.join(FIXTURES, 'full')] },
          fit: { kind: 'train', model: 'logreg', competitions: ['E0'], 'train-until': '2019-06-30', params: { l2: 0.1 } },
        },
      }),
    );
    const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' };
    const r = await runCli(['run', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<PipelineReport>();
    const fit = report.stages.find((s) => s.stage === 'fit')!;
    const mlflowRunId = fit.outputs!.mlflowRunId as string;
    expect(mlflowRunId).toMatch(/^[0-9a-f]{32}$/);
    const run = await testClient(url).getRun(mlflowRunId);
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'oracx.pipeline': 'tracked', 'oracx.pipeline_run': String(report.pipelineRunId), 'oracx.stage': 'fit' });
    expect(run.info.status).toBe('FINISHED');

    // Skipped on the next run: no second MLflow run, the recorded one is passed on.
    const again = (await runCli(['run', '--json'], { cwd: dir, env })).json<PipelineReport>();
    expect(again.stages.find((s) => s.stage === 'fit')).toMatchObject({ status: 'skipped', outputs: { mlflowRunId } });
  }, 60_000);
});
