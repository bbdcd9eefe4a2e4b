/**
 * MLflow for pipeline stages: a train stage's run is logged as `oracx train` logs it (spooled, then synced, as
 * `oracx register` does for an unlogged run) and tagged with the pipeline run, so the runs of one `oracx run` can be
 * found together (`tags."oracx.pipeline_run" = '12'`), and nested under the pipeline run's MLflow run
 * (pipeline-mlflow.ts). Only when MLFLOW_TRACKING_URI is set.
 */
import type { StageEnv } from './pipeline-stages.js';

/** Tags every MLflow run a pipeline stage logs. */
export interface PipelineTags {
  pipeline: string;
  pipelineRunId: number;
  stage: string;
  /** The pipeline run's MLflow run (pipeline-mlflow.ts): a stage's runs are nested under it. */
  parentRunId?: string | null;
  /** The stage's input hash, tagged on its run. */
  inputHash?: string;
}

/**
 * Logs training run `runId` to MLflow with the pipeline tags; returns its MLflow run id, or null when MLflow is not
 * configured or cannot be reached (then the run stays spooled for `oracx mlflow sync`, with a warning).
 */
export async function trackTrainingRun(env: StageEnv, runId: number, tags: PipelineTags): Promise<string | null> {
  const { mlflowClient } = await import('../src/registry/open.js');
  const client = await mlflowClient({ env: env.env, cwd: env.cwd, logger: env.logger, signal: env.signal });
  if (!client) return null;
  const { experimentTarget, spoolStoredRun } = await import('./track.js');
  const { syncSpool } = await import('./mlflow-sync.js');
  // Logged once per training run: a stage job retried after its worker died finds the entry its first attempt made
  // (synced: reused; still pending: synced now) instead of logging the run a second time.
  const earlier = await env.store.db
    .selectFrom('mlflow_spool')
    .select(['id', 'mlflow_run_id'])
    .where('training_run_id', '=', runId)
    .orderBy('id', 'desc')
    .execute();
  const done = earlier.find((e) => e.mlflow_run_id !== null)?.mlflow_run_id ?? null;
  let synced: string | null | undefined = done;
  if (!synced) {
    const spoolId = earlier[0]?.id ?? (await spoolStoredRun(env.store, runId, { experiment: experimentTarget(env.env), cwd: env.cwd }));
    const report = await syncSpool(env.store, client, { ids: [spoolId], signal: env.signal });
    synced = report.synced[0]?.mlflowRunId;
    if (!synced) {
      env.logger.warn(`training run ${runId} not logged to MLflow (${report.failed[0]?.error ?? 'not synced'}): it stays spooled; run oracx mlflow sync later`);
      return null;
    }
  }
  await client.setTag(synced, 'oracx.pipeline', tags.pipeline);
  await client.setTag(synced, 'oracx.pipeline_run', String(tags.pipelineRunId));
  await client.setTag(synced, 'oracx.stage', tags.stage);
  // mlflow.parentRunId is what the MLflow UI nests runs by.
  if (tags.parentRunId) await client.setTag(synced, 'mlflow.parentRunId', tags.parentRunId);
  if (tags.inputHash) await client.setTag(synced, 'oracx.input_hash', tags.inputHash);
  return synced;
}
