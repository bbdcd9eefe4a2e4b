/**
 * A pipeline run in MLflow, as the MLflow UI nests runs: one parent run per pipeline run (tags oracx.pipeline,
 * oracx.pipeline_run; FINISHED, FAILED or KILLED) and a child run per stage (tag mlflow.parentRunId) with the stage's
 * input hash, status, params, duration and outputs; an evaluate stage's metrics and gate results are metrics. A train
 * stage's child is its full training run (pipeline-track.ts nests it). Skipped stages get a child too (status tag
 * `skipped`, the outputs they pass on), as DVC users expect to see them. Tracking never fails the pipeline: a failed
 * MLflow call is a warning and tracking stops for that run.
 */
import type { MlflowClient } from '../src/mlflow/client.js';
import type { Metric, Param, RunStatus, RunTag } from '../src/mlflow/types.js';
import type { PipelineReport, PipelineTracker, StageReport } from './pipeline-run.js';
import type { PipelineSpec } from './pipeline-spec.js';
import type { StageEnv } from './pipeline-stages.js';

/** MLflow metric and param keys allow letters, digits, _ - . / space and colon. */
const key = (text: string) => text.replace(/[^\w.\-/ :]/g, '_').slice(0, 250);
const clip = (text: string, n: number) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);

/** A stage's params flattened to MLflow params (`params.l2`, lists as JSON). */
export function flatParams(params: Record<string, unknown>, prefix = ''): Param[] {
  const out: Param[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    const name = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatParams(v as Record<string, unknown>, name));
    else out.push({ key: key(name), value: clip(typeof v === 'string' ? v : JSON.stringify(v), 6000) });
  }
  return out;
}

/** The metrics a stage's outputs carry: its numbers, and each gate's actual, threshold and passed (1/0). */
export function stageMetrics(report: StageReport, timestamp: number): Metric[] {
  const m = (k: string, value: number): Metric => ({ key: key(k), value, timestamp, step: 0 });
  const out = [m('duration_ms', report.durationMs)];
  // A skipped stage measured nothing this time: its numbers belong to the run it reuses.
  if (report.status === 'skipped' || !report.outputs) return out;
  for (const [k, v] of Object.entries(report.outputs)) if (typeof v === 'number' && Number.isFinite(v)) out.push(m(k, v));
  const gates = Array.isArray(report.outputs.gates) ? (report.outputs.gates as { actual: number; threshold: number; passed: boolean }[]) : [];
  gates.forEach((g, i) => {
    out.push(m(`gate.${i}.actual`, g.actual), m(`gate.${i}.threshold`, g.threshold), m(`gate.${i}.passed`, g.passed ? 1 : 0));
  });
  return out;
}

const STAGE_STATUS: Partial<Record<StageReport['status'], RunStatus>> = { ran: 'FINISHED', skipped: 'FINISHED', failed: 'FAILED', 'gate-failed': 'FAILED' };

/** A tracker logging the pipeline run to MLflow, or null when MLFLOW_TRACKING_URI is unset. */
export async function mlflowPipelineTracker(spec: PipelineSpec, env: StageEnv, codeVersion: string): Promise<PipelineTracker | null> {
  // Without MLflow nothing is imported: a run where every stage is skipped stays as cheap as a read.
  if (!env.env.MLFLOW_TRACKING_URI?.trim()) return null;
  const { mlflowClient } = await import('../src/registry/open.js');
  // Not the run's signal: an interrupted run must still end its MLflow runs (KILLED); the client's timeouts bound that.
  const client = await mlflowClient({ env: env.env, cwd: env.cwd, logger: env.logger });
  if (!client) return null;
  let experimentId = '';
  let pipelineRunId = 0;
  let broken = false;
  const guard = async (what: string, fn: (c: MlflowClient) => Promise<void>) => {
    if (broken) return;
    try {
      await fn(client);
    } catch (error) {
      broken = true;
      env.logger.warn(`MLflow: ${what} failed (${(error as Error).message}); the rest of this pipeline run is not tracked in MLflow (the store has it)`);
    }
  };
  const tracker: PipelineTracker & { parentRunId: string | null } = {
    parentRunId: null,
    async start(id) {
      pipelineRunId = id;
      await guard('starting the pipeline run', async (c) => {
        const { experimentTarget } = await import('./track.js');
        experimentId = await c.resolveExperiment(experimentTarget(env.env));
        const run = await c.createRun({
          experimentId,
          runName: `${spec.name} #${id}`,
          tags: { 'oracx.pipeline': spec.name, 'oracx.pipeline_run': String(id), 'oracx.file': spec.file, 'oracx.code_version': codeVersion },
        });
        tracker.parentRunId = run.runId;
      });
    },
    async stage(report, params) {
      const parent = tracker.parentRunId;
      if (!parent) return;
      const status = STAGE_STATUS[report.status];
      if (!status) return;
      await guard(`logging stage ${report.stage}`, async (c) => {
        const tags: RunTag[] = [
          { key: 'oracx.stage_status', value: report.status },
          { key: 'oracx.reason', value: clip(report.reason, 5000) },
          ...(report.inputHash ? [{ key: 'oracx.input_hash', value: report.inputHash }] : []),
          ...(report.outputs ? [{ key: 'oracx.outputs', value: clip(JSON.stringify(report.outputs), 8000) }] : []),
          ...(report.error ? [{ key: 'oracx.error', value: clip(report.error, 5000) }] : []),
        ];
        const now = Date.now();
        const trained = report.kind === 'train' && report.status === 'ran' ? report.outputs?.mlflowRunId : undefined;
        if (typeof trained === 'string') {
          // The training run is this stage's child already (nested when it was synced): add the stage's own record.
          await c.logBatch(trained, { tags, metrics: [{ key: 'stage_duration_ms', value: report.durationMs, timestamp: now, step: 0 }] });
          return;
        }
        const run = await c.createRun({
          experimentId,
          runName: report.stage,
          startTime: now - report.durationMs,
          tags: {
            'mlflow.parentRunId': parent,
            'oracx.pipeline': spec.name,
            'oracx.pipeline_run': String(pipelineRunId),
            'oracx.stage': report.stage,
            'oracx.stage_kind': report.kind,
          },
        });
        const gates = Array.isArray(report.outputs?.gates) ? (report.outputs.gates as { gate: string; passed: boolean }[]) : [];
        gates.forEach((g, i) => {
          tags.push({ key: `oracx.gate.${i}`, value: `${g.gate}: ${g.passed ? 'passed' : 'failed'}` });
        });
        await c.logBatch(run.runId, { params: flatParams(params), metrics: stageMetrics(report, now), tags });
        await c.updateRun(run.runId, { status, endTime: now });
      });
    },
    async finish(status: PipelineReport['status'] | 'interrupted') {
      const parent = tracker.parentRunId;
      if (!parent) return;
      await guard('ending the pipeline run', async (c) => {
        await c.setTag(parent, 'oracx.status', status);
        await c.updateRun(parent, { status: status === 'succeeded' ? 'FINISHED' : status === 'interrupted' ? 'KILLED' : 'FAILED' });
      });
    },
  };
  return tracker;
}
