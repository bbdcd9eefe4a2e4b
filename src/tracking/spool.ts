/**
 * The MLflow spool: a run's tracking data is written to the store before any call to MLflow, then replayed stage by
 * stage (created → logged → uploaded → synced). Each stage is idempotent and recorded, so a sync interrupted at any
 * point resumes without duplicating the run or its data.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { DatasetInput, ExperimentTarget } from '../mlflow/types.js';
import type { Store } from '../store/connect.js';
import type { MlflowSpoolTable } from '../store/schema.js';

/** One metric point as MLflow stores it. */
export interface SpoolMetric {
  key: string;
  value: number;
  /** ms since the epoch, when it was measured (not when it is synced). */
  timestamp: number;
  step: number;
}

/** Tags that together name one MLflow run (e.g. a tune study's parent run), for runs found by search rather than by id. */
export type RunRef = Record<string, string>;

/** Everything a run logs, as recorded at training time. */
export interface SpoolPayload {
  runName: string;
  startTime: number;
  /** Ignored while the status is RUNNING. */
  endTime: number;
  /** The status the run is left in; RUNNING for a run later entries log to and end (a tune study's parent). */
  status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: SpoolMetric[];
  /** Datasets for MLflow log-inputs. */
  inputs: DatasetInput[];
  /**
   * Several entries log to one run: the sync logs to the run carrying these tags (the oldest, should there be more)
   * and creates it only when there is none. Params must then be the same in every entry (MLflow params are write-once).
   */
  sharedRun?: RunRef;
  /** Nested under the run carrying these tags (mlflow.parentRunId); the sync creates nothing until that run exists. */
  parentRun?: RunRef;
  /**
   * MLFLOW_EXPERIMENT_ID as the run was spooled (the experiment column holds only the name), so a replay logs to the
   * experiment the run was meant for, whatever the environment of `oracx mlflow sync`.
   */
  experimentId?: string;
  /** Small text files uploaded as artifacts at these paths (kept in the payload, so no file has to outlive the command). */
  files?: { path: string; content: string }[];
}

export type SpoolStage = 'pending' | 'created' | 'logged' | 'uploaded' | 'synced';

export interface SpoolEntry {
  id: number;
  runKey: string;
  trainingRunId: number | null;
  experiment: ExperimentTarget;
  payload: SpoolPayload;
  artifactDir: string | null;
  mlflowRunId: string | null;
  stage: SpoolStage;
  attempts: number;
  lastError: string | null;
}

/** The tag every synced run carries, so a replay finds the run it created before a crash instead of making another. */
export const RUN_KEY_TAG = 'oracx.run_key';

/** How an experiment target reads in lists: its name, or "id <id>". */
export function experimentLabel(t: ExperimentTarget): string {
  return t.name ?? `id ${t.id ?? '?'}`;
}

/**
 * Records a run to be synced; returns its entry. `supersedes`: entries of the same shared run this one holds all of
 * (e.g. a RUNNING start whose end this is), dropped in the same transaction unless synced; replayed after this
 * entry, they would reopen the run.
 */
export async function spoolRun(
  store: Store,
  input: { trainingRunId: number | null; experiment: ExperimentTarget; payload: SpoolPayload; artifactDir: string | null; supersedes?: readonly number[] },
): Promise<SpoolEntry> {
  const runKey = randomUUID();
  const { id: experimentId } = input.experiment;
  const payload: SpoolPayload = {
    ...input.payload,
    tags: { ...input.payload.tags, [RUN_KEY_TAG]: runKey },
    ...(experimentId === undefined ? {} : { experimentId }),
  };
  const row = await store.db.transaction().execute(async (tx) => {
    if (input.supersedes?.length)
      await tx
        .deleteFrom('mlflow_spool')
        .where('id', 'in', [...input.supersedes])
        .where('stage', '!=', 'synced')
        .execute();
    return tx
      .insertInto('mlflow_spool')
      .values({
        run_key: runKey,
        training_run_id: input.trainingRunId,
        // Empty when only an id names the experiment (the payload holds it).
        experiment: input.experiment.name ?? '',
        payload: JSON.stringify(payload),
        artifact_dir: input.artifactDir,
        stage: 'pending',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  });
  return {
    id: Number(row.id),
    runKey,
    trainingRunId: input.trainingRunId,
    experiment: input.experiment,
    payload,
    artifactDir: input.artifactDir,
    mlflowRunId: null,
    stage: 'pending',
    attempts: 0,
    lastError: null,
  };
}

function entryOf(r: Selectable<MlflowSpoolTable>): SpoolEntry {
  const payload = JSON.parse(r.payload) as SpoolPayload;
  return {
    id: Number(r.id),
    runKey: r.run_key,
    trainingRunId: r.training_run_id === null ? null : Number(r.training_run_id),
    experiment: { ...(r.experiment === '' ? {} : { name: r.experiment }), ...(payload.experimentId === undefined ? {} : { id: payload.experimentId }) },
    payload,
    artifactDir: r.artifact_dir,
    mlflowRunId: r.mlflow_run_id,
    stage: r.stage as SpoolStage,
    attempts: r.attempts,
    lastError: r.last_error,
  };
}

/** Entries not yet synced (optionally only these ids), oldest first. */
export async function pendingEntries(store: Store, ids?: readonly number[]): Promise<SpoolEntry[]> {
  if (ids?.length === 0) return [];
  let q = store.db.selectFrom('mlflow_spool').selectAll().where('stage', '!=', 'synced');
  if (ids) q = q.where('id', 'in', [...ids]);
  return (await q.orderBy('id').execute()).map(entryOf);
}

/** The entry of a training run (the latest, should it have been spooled twice), or null. */
export async function entryOfTrainingRun(store: Store, trainingRunId: number): Promise<SpoolEntry | null> {
  const row = await store.db.selectFrom('mlflow_spool').selectAll().where('training_run_id', '=', trainingRunId).orderBy('id', 'desc').executeTakeFirst();
  return row ? entryOf(row) : null;
}

/** The entry that became this MLflow run, or null. */
export async function entryOfMlflowRun(store: Store, mlflowRunId: string): Promise<SpoolEntry | null> {
  const row = await store.db.selectFrom('mlflow_spool').selectAll().where('mlflow_run_id', '=', mlflowRunId).executeTakeFirst();
  return row ? entryOf(row) : null;
}

/** Records that an entry reached a stage (and its MLflow run id once known). */
export async function advance(store: Store, id: number, stage: SpoolStage, mlflowRunId?: string): Promise<void> {
  await store.db
    .updateTable('mlflow_spool')
    .set({
      stage,
      last_error: null,
      ...(mlflowRunId === undefined ? {} : { mlflow_run_id: mlflowRunId }),
      ...(stage === 'synced' ? { synced_at: new Date().toISOString() } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Records a failed attempt; the entry stays at its stage for the next sync. */
export async function recordFailure(store: Store, id: number, error: string): Promise<void> {
  await store.db
    .updateTable('mlflow_spool')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error }))
    .where('id', '=', id)
    .execute();
}
