/**
 * `oracx run`: executes the stages of a pipeline in dependency order, skipping a stage whose input hash equals that
 * of its last succeeded run (its recorded outputs are reused downstream), as DVC does. Every stage considered is
 * recorded in stage_runs under one pipeline_runs row; a failure stops the run and later stages are not run.
 */
import { GateFailed, Interrupted, UserError } from '../src/errors.js';
import { version } from '../src/version.js';
import { hashOf } from './pipeline-inputs.js';
import type { PipelineSpec, StageKind } from './pipeline-spec.js';
import { closeAbandoned, finishStage, insertPipelineRun, lastSucceeded, recordStage } from './pipeline-records.js';
import { preflight, runStage, stageInputs, StageGateFailed, UNHASHED, type Outputs, type StageEnv } from './pipeline-stages.js';

export type StageStatus = 'ran' | 'skipped' | 'would-run' | 'would-skip' | 'failed' | 'gate-failed' | 'not-run';

export interface StageReport {
  stage: string;
  kind: StageKind;
  status: StageStatus;
  /** Why it ran or not: "never run", "forced", "changed: params, data", "unchanged since stage run 12"… */
  reason: string;
  /** Top-level inputs that differ from the last succeeded run (empty when it never ran or nothing changed). */
  changed: string[];
  inputHash: string | null;
  outputs: Outputs | null;
  durationMs: number;
  error?: string;
}

export interface PipelineReport {
  pipeline: string;
  file: string;
  /** The pipeline_runs row: null with --dry, and when every stage was skipped (nothing is recorded then). */
  pipelineRunId: number | null;
  codeVersion: string;
  dry: boolean;
  status: 'succeeded' | 'failed' | 'gate_failed' | 'dry';
  stages: StageReport[];
  durationMs: number;
}

export interface RunPipelineOptions {
  /** Stages to rerun whatever their inputs; true = all. */
  force: true | readonly string[];
  dry: boolean;
  onStage?: (report: StageReport) => void;
  /**
   * Awaited once before the first write (e.g. SQLite's integrity check): a run where every stage is skipped writes
   * nothing, so it costs no more than reading the last stage runs and hashing the inputs.
   */
  beforeWrite?: () => Promise<void>;
  /**
   * Takes the pipeline's lease (pipeline-lock.ts) before the first write. The stage history read until then may be
   * stale (another run may have just finished), so the run starts over under the lease, reading it again: of two
   * concurrent runs, the second skips what the first ran. A run where every stage is skipped takes no lease.
   */
  lock?: () => Promise<void>;
  /** MLflow (or any) tracking of the pipeline run and its stages; see pipeline-mlflow.ts. */
  tracker?: PipelineTracker;
  /**
   * Executes a stage that must run (default: runStage, in this process); `oracx run --distributed` passes one that
   * runs it as a stage job on a worker (stage-distributed.ts). Everything else (skips, records, lease) stays here.
   */
  runStage?: StageRunner;
}

/** Executes one stage: its outputs, or StageGateFailed / another error, as runStage does. */
export type StageRunner = typeof runStage;

/** Receives the pipeline run and its stages as they happen (e.g. to log them to MLflow). */
export interface PipelineTracker {
  /** The pipeline run has a store row; returns the tags stages pass on to the runs they log (e.g. the parent run). */
  start(pipelineRunId: number): Promise<void>;
  /** The MLflow run a stage's own runs nest under, once started. */
  readonly parentRunId: string | null;
  /** A stage finished (ran, skipped, failed or gate-failed). */
  stage(report: StageReport, params: Record<string, unknown>): Promise<void>;
  finish(status: PipelineReport['status'] | 'interrupted'): Promise<void>;
}

/** Thrown inside an unlocked attempt at its first write: the caller takes the lease and starts over. */
const NEEDS_LOCK = Symbol('needs lock');

/** The result of a run, with the error that stopped it (the command prints the report, then throws it). */
export interface PipelineOutcome {
  report: PipelineReport;
  error: Error | null;
}

const now = () => new Date().toISOString();

/** Runs (or, dry, explains) the pipeline; records every stage considered unless dry. */
export async function runPipeline(spec: PipelineSpec, env: StageEnv, options: RunPipelineOptions): Promise<PipelineOutcome> {
  if (options.dry || !options.lock) return attempt(spec, env, options, true);
  // Stage reports of the unlocked attempt are held back: it is replayed under the lease when it needs to write.
  const held: StageReport[] = [];
  try {
    const outcome = await attempt(spec, env, { ...options, onStage: (r) => held.push(r) }, false);
    for (const r of held) options.onStage?.(r);
    return outcome;
  } catch (error) {
    if (error !== NEEDS_LOCK) throw error;
  }
  await options.lock();
  return attempt(spec, env, options, true);
}

async function attempt(spec: PipelineSpec, env: StageEnv, options: RunPipelineOptions, locked: boolean): Promise<PipelineOutcome> {
  const started = Date.now();
  const { store } = env;
  const tracker = options.dry ? undefined : options.tracker;
  const forced = (name: string) => options.force === true || options.force.includes(name);
  if (options.force !== true) {
    for (const name of options.force) {
      if (!spec.stages.some((s) => s.name === name)) {
        const { closest } = await import('../src/predict/directory.js');
        const near = closest(
          name,
          spec.stages.map((s) => s.name),
          1,
        );
        throw new UserError(`--force ${name}: no such stage in ${spec.file}${near.length ? ` — did you mean "${near[0]}"?` : ''}`, {
          hint: `stages: ${spec.stages.map((s) => s.name).join(', ')}`,
        });
      }
    }
  }
  const codeVersion = version();
  // --dry reports what a real run would refuse before its first stage.
  if (options.dry) await preflight(spec.stages);
  let pipelineRunId: number | null = null;
  // Skips seen before the first stage that runs, recorded with the pipeline run once there is one.
  const pendingSkips: Parameters<typeof recordStage>[] = [];
  const startRecording = async (): Promise<number> => {
    if (pipelineRunId !== null) return pipelineRunId;
    await preflight(spec.stages);
    if (!locked) throw NEEDS_LOCK;
    await options.beforeWrite?.();
    // Under the lease no other run of this pipeline is going on: a run still marked running was abandoned (killed).
    if (options.lock) await closeAbandoned(store, spec.name);
    const id = await insertPipelineRun(store, spec, codeVersion);
    for (const args of pendingSkips) await recordStage(...(args.map((a, i) => (i === 1 ? id : a)) as Parameters<typeof recordStage>));
    pipelineRunId = id;
    if (tracker) {
      await tracker.start(id);
      for (const r of reports) await tracker.stage(r, paramsOf(r.stage));
    }
    return id;
  };
  const kinds = new Map(spec.stages.map((s) => [s.name, s.kind]));
  const paramsOf = (name: string) => (spec.stages.find((s) => s.name === name)?.params ?? {}) as Record<string, unknown>;
  const outputs = new Map<string, Outputs>();
  const willRun = new Set<string>();
  const reports: StageReport[] = [];
  let error: Error | null = null;
  for (const stage of spec.stages) {
    const base = { stage: stage.name, kind: stage.kind };
    if (error) {
      reports.push({ ...base, status: 'not-run', reason: 'an earlier stage failed', changed: [], inputHash: null, outputs: null, durationMs: 0 });
      continue;
    }
    const t0 = Date.now();
    const last = await lastSucceeded(store, spec.name, stage.name);
    const upstreamRuns = stage.deps.filter((d) => willRun.has(d));
    if (options.dry && upstreamRuns.length > 0) {
      // Its inputs depend on what the upstream stages will produce: it may still be skipped when run for real.
      willRun.add(stage.name);
      await report({
        ...base,
        status: 'would-run',
        reason: `upstream ${upstreamRuns.join(', ')} will run`,
        changed: [],
        inputHash: null,
        outputs: null,
        durationMs: Date.now() - t0,
      });
      continue;
    }
    let inputs: Outputs;
    try {
      inputs = { ...(await stageInputs(stage, env, { outputs, kinds }, last ? (JSON.parse(last.inputs) as Outputs) : undefined)), codeVersion };
    } catch (e) {
      error = wrap(e, stage.name, stage.kind);
      if (!options.dry) {
        const id = await recordStage(store, await startRecording(), spec.name, stage, '', {}, { status: 'running', outputs: null, ms: null });
        await finishStage(store, id, { status: 'failed', outputs: null, ms: Date.now() - t0, error: error.message });
      }
      await report({
        ...base,
        status: 'failed',
        reason: 'its inputs could not be read',
        changed: [],
        inputHash: null,
        outputs: null,
        durationMs: Date.now() - t0,
        error: error.message,
      });
      continue;
    }
    const inputHash = hashOf({ ...inputs, [UNHASHED]: undefined });
    const changed = last ? changedKeys({ ...(JSON.parse(last.inputs) as Outputs), [UNHASHED]: undefined }, { ...inputs, [UNHASHED]: undefined }) : [];
    const upToDate = last !== null && last.input_hash === inputHash;
    const reason = forced(stage.name) ? 'forced' : !last ? 'never run' : upToDate ? `unchanged since stage run ${last.id}` : `changed: ${changed.join(', ')}`;
    if (upToDate && !forced(stage.name)) {
      const previous = JSON.parse(last.outputs ?? '{}') as Outputs;
      outputs.set(stage.name, previous);
      if (!options.dry) {
        const args: Parameters<typeof recordStage> = [
          store,
          pipelineRunId ?? 0,
          spec.name,
          stage,
          inputHash,
          inputs,
          { status: 'skipped', outputs: previous, ms: Date.now() - t0 },
        ];
        if (pipelineRunId === null) pendingSkips.push(args);
        else await recordStage(...args);
      }
      await report({ ...base, status: options.dry ? 'would-skip' : 'skipped', reason, changed: [], inputHash, outputs: previous, durationMs: Date.now() - t0 });
      continue;
    }
    willRun.add(stage.name);
    if (options.dry) {
      await report({ ...base, status: 'would-run', reason, changed, inputHash, outputs: null, durationMs: Date.now() - t0 });
      continue;
    }
    const runId = await startRecording();
    const stageRunId = await recordStage(store, runId, spec.name, stage, inputHash, inputs, { status: 'running', outputs: null, ms: null });
    env.logger.info(`stage ${stage.name} (${stage.kind}): running — ${reason}`);
    try {
      const out = await (options.runStage ?? runStage)(
        stage,
        env,
        { outputs, kinds },
        { pipeline: spec.name, pipelineRunId: runId, stage: stage.name, parentRunId: tracker?.parentRunId ?? null, inputHash },
      );
      outputs.set(stage.name, out);
      const ms = Date.now() - t0;
      await finishStage(store, stageRunId, { status: 'succeeded', outputs: out, ms });
      await report({ ...base, status: 'ran', reason, changed, inputHash, outputs: out, durationMs: ms });
    } catch (e) {
      error = wrap(e, stage.name, stage.kind);
      const gate = error instanceof GateFailed;
      const out = e instanceof StageGateFailed ? e.outputs : null;
      const ms = Date.now() - t0;
      await finishStage(store, stageRunId, { status: gate ? 'gate_failed' : 'failed', outputs: out, ms, error: error.message });
      await report({ ...base, status: gate ? 'gate-failed' : 'failed', reason, changed, inputHash, outputs: out, durationMs: ms, error: error.message });
    }
  }
  const status = options.dry ? 'dry' : error === null ? 'succeeded' : error instanceof GateFailed ? 'gate_failed' : 'failed';
  if (pipelineRunId !== null) {
    await store.db
      .updateTable('pipeline_runs')
      .set({ status, error: error?.message ?? null, finished_at: now() })
      .where('id', '=', pipelineRunId)
      .execute();
    await tracker?.finish(error instanceof Interrupted ? 'interrupted' : status);
  }
  return {
    report: { pipeline: spec.name, file: spec.file, pipelineRunId, codeVersion, dry: options.dry, status, stages: reports, durationMs: Date.now() - started },
    error,
  };

  async function report(r: StageReport) {
    reports.push(r);
    options.onStage?.(r);
    if (pipelineRunId !== null && r.status !== 'not-run') await tracker?.stage(r, paramsOf(r.stage));
  }
}

/** Keeps gate failures (exit 3), interruptions and user errors; anything else becomes a user error naming the stage (exit 1). */
function wrap(error: unknown, stage: string, kind: StageKind): Error {
  if (error instanceof Interrupted) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StageGateFailed) return error;
  if (error instanceof GateFailed) return new GateFailed(`stage "${stage}" (${kind}): ${message}`, { cause: error });
  if (error instanceof UserError) return new UserError(`stage "${stage}" (${kind}): ${message}`, { hint: error.hint, cause: error });
  return new UserError(`stage "${stage}" (${kind}) failed: ${message}`, { cause: error });
}

/**
 * The inputs that differ, as paths: an oracx.yaml key ("seed", "params.l2", "gate") or an input the stage reads
 * ("data", "featureSet", "files.E0_2019-2020.csv", "trainRun", "codeVersion").
 */
function changedKeys(before: unknown, after: unknown, prefix = '', top = true): string[] {
  if (hashOf(before) === hashOf(after)) return [];
  const plain = (v: unknown): v is Outputs => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!plain(before) || !plain(after)) return [prefix || 'inputs'];
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    // The stage's own settings are shown by their oracx.yaml key.
    const path = top && k === 'params' ? '' : prefix ? `${prefix}.${k}` : k;
    out.push(...changedKeys(before[k], after[k], path, false));
  }
  return out;
}
