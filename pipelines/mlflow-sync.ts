/**
 * Replays spooled runs to MLflow, stage by stage, exactly once: a run created before a crash is found again by its
 * oracx.run_key tag, metrics/params/inputs are idempotent on the server (identical points and values are stored once),
 * artifacts are overwritten with the same bytes, and each finished stage is recorded in the store.
 */
import { existsSync } from 'node:fs';
import type { MlflowClient } from '../src/mlflow/client.js';
import type { Metric } from '../src/mlflow/types.js';
import { advance, pendingEntries, recordFailure, RUN_KEY_TAG, type SpoolEntry } from '../src/tracking/spool.js';
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

/** The MLflow run of an entry: the one recorded, else one carrying its run key (created before a crash), else a new one. */
async function ensureRun(store: Store, client: MlflowClient, e: SpoolEntry): Promise<string> {
  if (e.mlflowRunId) return e.mlflowRunId;
  const experimentId = await client.getOrCreateExperiment(e.experiment);
  const found = await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`${RUN_KEY_TAG}\` = ${quote(e.runKey)}`, maxResults: 1 });
  const runId =
    found.runs[0]?.info.runId ??
    (await client.createRun({ experimentId, runName: e.payload.runName, startTime: e.payload.startTime, tags: e.payload.tags })).runId;
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
    if (e.artifactDir && existsSync(e.artifactDir)) await client.uploadArtifactDir(runId, e.artifactDir, 'oracx');
    else if (e.artifactDir) {
      warning = `artifacts folder ${e.artifactDir} no longer exists: run synced without its artifacts`;
      await client.setTag(runId, 'oracx.artifacts_missing', e.artifactDir);
    }
    await advance(store, e.id, 'uploaded');
    stage = 'uploaded';
  }
  if (stage === 'uploaded') {
    await client.updateRun(runId, { status: e.payload.status, endTime: e.payload.endTime });
    await advance(store, e.id, 'synced');
  }
  return { runId, warning };
}

/** Syncs every pending entry (or only `ids`); a failing entry is recorded and the others still go. */
export async function syncSpool(store: Store, client: MlflowClient, options: { ids?: number[]; signal?: AbortSignal; onRun?: (r: SyncedRun) => void } = {}): Promise<SyncReport> {
  const report: SyncReport = { synced: [], failed: [] };
  for (const e of await pendingEntries(store, options.ids)) {
    if (options.signal?.aborted) break;
    try {
      const { runId: mlflowRunId, warning } = await syncEntry(store, client, e);
      const r: SyncedRun = { spoolId: e.id, trainingRunId: e.trainingRunId, mlflowRunId, ok: true, ...(warning ? { warning } : {}) };
      report.synced.push(r);
      options.onRun?.(r);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await recordFailure(store, e.id, message);
      const r = { spoolId: e.id, trainingRunId: e.trainingRunId, mlflowRunId: e.mlflowRunId, ok: false, error: message };
      report.failed.push(r);
      options.onRun?.(r);
    }
  }
  return report;
}
