/**
 * Replays spooled runs to MLflow, stage by stage, exactly once: a run created before a crash is found again by its
 * oracx.run_key tag, metrics/params/inputs are idempotent on the server (identical points and values are stored once),
 * artifacts are overwritten with the same bytes, and each finished stage is recorded in the store.
 */
import { existsSync } from 'node:fs';
import type { MlflowClient } from '../src/mlflow/client.js';
import { TAG } from '../src/mlflow/run-tags.js';
import type { Metric } from '../src/mlflow/types.js';
import { advance, pendingEntries, recordFailure, RUN_KEY_TAG, type RunRef, type SpoolEntry } from '../src/tracking/spool.js';
import type { Store } from '../src/store/connect.js';

export interface SyncedRun {
  spoolId: number;
  trainingRunId: number | null;
  mlflowRunId: string | null;
  ok: boolean;
  error?: string;
  /** Synced, but with something missing (e.g. its artifacts folder was deleted before the sync). */
  warning?: string;
}

export interface SyncReport {
  synced: SyncedRun[];
  failed: SyncedRun[];
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The filter for runs carrying every one of `tags`. */
const tagFilter = (tags: RunRef) =>
  Object.entries(tags)
    .map(([key, value]) => `tags.\`${key}\` = ${quote(value)}`)
    .join(' and ');

/** The oldest run of the experiment carrying every one of `tags`, or null. */
async function findRun(client: MlflowClient, experimentId: string, tags: RunRef): Promise<string | null> {
  const found = await client.searchRuns({ experimentIds: [experimentId], filter: tagFilter(tags), orderBy: ['attributes.start_time ASC'], maxResults: 1 });
  return found.runs[0]?.info.runId ?? null;
}

/**
 * The MLflow run of an entry: the one recorded, else one carrying its run key (created before a crash), else the
 * shared run it logs to, else a new one (nested under its parent, which must exist by then).
 */
async function ensureRun(store: Store, client: MlflowClient, e: SpoolEntry): Promise<string> {
  if (e.mlflowRunId) return e.mlflowRunId;
  const experimentId = await client.resolveExperiment(e.experiment);
  let runId =
    (await findRun(client, experimentId, { [RUN_KEY_TAG]: e.runKey })) ??
    (e.payload.sharedRun ? await findRun(client, experimentId, e.payload.sharedRun) : null);
  if (runId === null) {
    const tags = { ...e.payload.tags };
    if (e.payload.parentRun) {
      const parent = await findRun(client, experimentId, e.payload.parentRun);
      // Before creating anything, so a run is never left outside its parent (the parent's entry is older: a full
      // sync replays it first).
      if (parent === null) throw new Error(`its parent run (${tagFilter(e.payload.parentRun)}) is not in MLflow yet; sync that first`);
      tags[TAG.parentRunId] = parent;
    }
    runId = (await client.createRun({ experimentId, runName: e.payload.runName, startTime: e.payload.startTime, tags })).runId;
  }
  await advance(store, e.id, 'created', runId);
  return runId;
}

/**
 * Brings one entry to 'synced'; throws on the first failing call (the entry keeps its last finished stage). An
 * artifacts folder deleted before the sync cannot be recovered: the run is synced without it, tagged and reported.
 */
async function syncEntry(store: Store, client: MlflowClient, e: SpoolEntry): Promise<{ runId: string; warning?: string }> {
  let warning: string | undefined;
  const runId = await ensureRun(store, client, e);
  let stage = e.stage === 'pending' ? 'created' : e.stage;
  if (stage === 'created') {
    const metrics: Metric[] = e.payload.metrics.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step }));
    await client.logBatch(runId, {
      params: Object.entries(e.payload.params).map(([key, value]) => ({ key, value })),
      tags: Object.entries(e.payload.tags).map(([key, value]) => ({ key, value })),
      metrics,
    });
    if (e.payload.inputs.length) await client.logInputs(runId, e.payload.inputs);
    await advance(store, e.id, 'logged');
    stage = 'logged';
  }
  if (stage === 'logged') {
    for (const file of e.payload.files ?? []) await client.uploadArtifact(runId, file.path, file.content);
    if (e.artifactDir && existsSync(e.artifactDir)) await client.uploadArtifactDir(runId, e.artifactDir, 'oracx');
    else if (e.artifactDir) {
      warning = `artifacts folder ${e.artifactDir} no longer exists: run synced without its artifacts`;
      await client.setTag(runId, 'oracx.artifacts_missing', e.artifactDir);
    }
    await advance(store, e.id, 'uploaded');
    stage = 'uploaded';
  }
  if (stage === 'uploaded') {
    const running = e.payload.status === 'RUNNING';
    await client.updateRun(runId, { status: e.payload.status, ...(running ? {} : { endTime: e.payload.endTime }) });
    await advance(store, e.id, 'synced');
  }
  return { runId, warning };
}

const refKey = (ref: RunRef) => JSON.stringify(Object.entries(ref).sort(([a], [b]) => a.localeCompare(b)));

/**
 * Syncs every pending entry (or only `ids`); a failing entry is recorded and the others still go, except the
 * children of a shared run that failed in this pass, which fail at once with its error (no call could succeed).
 */
export async function syncSpool(
  store: Store,
  client: MlflowClient,
  options: { ids?: number[]; signal?: AbortSignal; onRun?: (r: SyncedRun) => void } = {},
): Promise<SyncReport> {
  const report: SyncReport = { synced: [], failed: [] };
  const failedShared = new Map<string, string>();
  for (const e of await pendingEntries(store, options.ids)) {
    if (options.signal?.aborted) break;
    try {
      const parentError = e.payload.parentRun && failedShared.get(refKey(e.payload.parentRun));
      if (parentError) throw new Error(`its parent run did not sync: ${parentError}`);
      const { runId: mlflowRunId, warning } = await syncEntry(store, client, e);
      if (e.payload.sharedRun) failedShared.delete(refKey(e.payload.sharedRun));
      const r: SyncedRun = { spoolId: e.id, trainingRunId: e.trainingRunId, mlflowRunId, ok: true, ...(warning ? { warning } : {}) };
      report.synced.push(r);
      options.onRun?.(r);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (e.payload.sharedRun && !e.mlflowRunId) failedShared.set(refKey(e.payload.sharedRun), message);
      await recordFailure(store, e.id, message);
      const r = { spoolId: e.id, trainingRunId: e.trainingRunId, mlflowRunId: e.mlflowRunId, ok: false, error: message };
      report.failed.push(r);
      options.onRun?.(r);
    }
  }
  return report;
}
