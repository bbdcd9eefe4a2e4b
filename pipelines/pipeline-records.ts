/** The store rows of `oracx run`: pipeline_runs, stage_runs and the last success of a stage (migration 0008). */
import type { Store } from '../src/store/connect.js';
import type { PipelineSpec } from './pipeline-spec.js';
import type { Outputs } from './pipeline-stages.js';

const now = () => new Date().toISOString();

/** The last succeeded run of a stage, or null. */
export async function lastSucceeded(store: Store, pipeline: string, stage: string) {
  return (
    (await store.db
      .selectFrom('stage_runs')
      .select(['id', 'input_hash', 'inputs', 'outputs'])
      .where('pipeline', '=', pipeline)
      .where('stage', '=', stage)
      .where('status', '=', 'succeeded')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? null
  );
}

/** Marks runs of the pipeline still `running` as abandoned (failed): call only while holding its lease. */
export async function closeAbandoned(store: Store, pipeline: string): Promise<void> {
  const error = 'abandoned: its process stopped before the run ended (killed or crashed); its lease lapsed';
  await store.db
    .updateTable('stage_runs')
    .set({ status: 'failed', error, finished_at: now() })
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'running')
    .execute();
  await store.db
    .updateTable('pipeline_runs')
    .set({ status: 'failed', error, finished_at: now() })
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'running')
    .execute();
}

/** A new pipeline_runs row, running. */
export async function insertPipelineRun(store: Store, spec: PipelineSpec, codeVersion: string): Promise<number> {
  const row = await store.db
    .insertInto('pipeline_runs')
    .values({ pipeline: spec.name, file: spec.file, code_version: codeVersion, status: 'running', started_at: now() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** A stage_runs row (running, or already finished when skipped). */
export async function recordStage(
  store: Store,
  pipelineRunId: number,
  pipeline: string,
  stage: { name: string; kind: string },
  inputHash: string,
  inputs: Outputs,
  state: { status: string; outputs: Outputs | null; ms: number | null },
): Promise<number> {
  const done = state.status !== 'running';
  const row = await store.db
    .insertInto('stage_runs')
    .values({
      pipeline_run_id: pipelineRunId,
      pipeline,
      stage: stage.name,
      kind: stage.kind,
      input_hash: inputHash,
      inputs: JSON.stringify(inputs),
      outputs: state.outputs === null ? null : JSON.stringify(state.outputs),
      status: state.status,
      started_at: now(),
      finished_at: done ? now() : null,
      duration_ms: state.ms,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Ends a stage_runs row. */
export async function finishStage(store: Store, id: number, state: { status: string; outputs: Outputs | null; ms: number; error?: string }): Promise<void> {
  await store.db
    .updateTable('stage_runs')
    .set({
      status: state.status,
      outputs: state.outputs === null ? null : JSON.stringify(state.outputs),
      error: state.error ?? null,
      finished_at: now(),
      duration_ms: state.ms,
    })
    .where('id', '=', id)
    .execute();
}
