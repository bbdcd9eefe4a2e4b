/**
 * `evaluate`'s MLflow run, logged as the evaluation goes (see pipelines/track-evaluate.ts): RUNNING from the first
 * fold, per-fold figures live, ended FINISHED with the artifacts (evaluation.json, predictions.csv, the report), or
 * FAILED, or KILLED the moment Ctrl-C/SIGTERM arrives, with the folds so far.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { SpoolMetric } from '../src/tracking/spool.js';
import type { EvaluationResult, EvaluationStart, Prediction } from '../pipelines/evaluate.js';
import type { ComparisonTracking, EvaluationTracking } from '../pipelines/track-evaluate.js';
import type { LiveRunEnd } from './mlflow-live.js';

/** Where the evaluation's MLflow run went, for `--json`: its id, or null and why. */
export interface MlflowOutcome {
  mlflowRunId: string | null;
  /** Why there is no run id: not tracked, or still spooled (replayed by `oracx mlflow sync`). */
  mlflowReason?: string;
}

/** Why an evaluation has no MLflow run when nothing tracked it. */
export function untracked(ctx: Context, track: boolean): MlflowOutcome {
  if (!track) return { mlflowRunId: null, mlflowReason: 'not tracked (--no-track)' };
  return { mlflowRunId: null, mlflowReason: ctx.io.env.MLFLOW_TRACKING_URI ? 'not tracked' : 'not tracked: MLFLOW_TRACKING_URI is not set' };
}

const outcomeOf = (end: LiveRunEnd): MlflowOutcome =>
  end.mlflowRunId !== null
    ? { mlflowRunId: end.mlflowRunId }
    : { mlflowRunId: null, mlflowReason: `${end.error ?? 'not logged'}; replay it with oracx mlflow sync` };

/**
 * Writes what an evaluation's run uploads into a folder of its own under .oracx/artifacts/evaluations (kept until
 * synced: the spool refers to it): evaluation.json, predictions.csv, comparison.json in a comparison, the report.
 */
async function writeArtifacts(
  ctx: Context,
  store: Store,
  result: EvaluationResult,
  files: { doc: object; reportFiles: readonly string[]; startedAt: number; comparison?: { doc: object } },
): Promise<string> {
  const { randomUUID } = await import('node:crypto');
  const { predictionsCsv } = await import('../pipelines/track-evaluate.js');
  const stamp = `${new Date(files.startedAt).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const dir = path.resolve(ctx.io.cwd, '.oracx', 'artifacts', 'evaluations', files.comparison ? `${stamp}-${result.model}` : stamp);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'evaluation.json'), `${JSON.stringify(files.doc, null, 2)}\n`);
  await writeFile(path.join(dir, 'predictions.csv'), await predictionsCsv(store, result.predictions));
  if (files.comparison) await writeFile(path.join(dir, 'comparison.json'), `${JSON.stringify(files.comparison.doc, null, 2)}\n`);
  for (const file of files.reportFiles) await copyFile(file, path.join(dir, path.basename(file)));
  return dir;
}

export interface EvaluationTracker {
  /** Creates the RUNNING run (before the first fold); ends it KILLED as soon as the command is interrupted. */
  start(s: EvaluationStart): Promise<void>;
  /** Logs a fold's figures at step = its index. */
  fold(index: number, predictions: readonly Prediction[]): void;
  /**
   * Ends the run FINISHED with every figure and the artifacts (in a comparison, its tags and comparison.json); throws
   * Interrupted when Ctrl-C ended it KILLED first.
   */
  finish(result: EvaluationResult, doc: object, reportFiles: readonly string[], comparison?: ComparisonTracking & { doc: object }): Promise<MlflowOutcome>;
  /** Ends the run KILLED (interrupted) or FAILED, with the folds so far; once, however often it is called. */
  stop(error: unknown): Promise<void>;
}

/** The tracker of one `evaluate` when MLFLOW_TRACKING_URI is set, else null. */
export async function evaluationTracker(ctx: Context, store: Store, options: { margin: string }): Promise<EvaluationTracker | null> {
  const { liveRun } = await import('./mlflow-live.js');
  const run = await liveRun(ctx, store, () => null);
  if (!run) return null;
  const { randomUUID } = await import('node:crypto');
  const { evaluationPayload, evaluationStartPayload, evaluationStopPayload, foldMetrics, trainingMlflowRunId } = await import('../pipelines/track-evaluate.js');
  const { Interrupted } = await import('../src/errors.js');
  const tracking: EvaluationTracking = { id: randomUUID(), startedAt: Date.now(), margin: options.margin, storeLocation: store.location, cwd: ctx.io.cwd };
  let started: EvaluationStart | null = null;
  const metrics: SpoolMetric[] = [];
  // Once the run is being ended one way, the other ways do nothing (an abort during the FINISHED end, a fold after Ctrl-C).
  let ending: 'finished' | 'stopped' | null = null;
  let stopped: Promise<void> | null = null;
  // A call, not a comparison: Ctrl-C can stop the run while finish() awaits, which narrowing would not see.
  const isStopped = () => ending === 'stopped';
  const onAbort = () => void tracker.stop(ctx.signal.reason ?? new Interrupted());
  const tracker: EvaluationTracker = {
    async start(s) {
      if (ctx.signal.aborted) return;
      started = s;
      tracking.trainingMlflowRunId = (s.trainedRun ? await trainingMlflowRunId(store, s.trainedRun.runId) : null) ?? s.registered?.mlflowRunId ?? null;
      await run.start(evaluationStartPayload(s, tracking));
      // Ended at once, not when the walk-forward next checks the signal: a second Ctrl-C then waits for this end
      // (src/shutdown.ts) instead of leaving the run RUNNING.
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (ctx.signal.aborted) onAbort();
    },
    fold(index, predictions) {
      if (ending) return;
      const points = foldMetrics(index, predictions, Date.now());
      metrics.push(...points);
      run.log(points);
    },
    async finish(result, doc, reportFiles, comparison) {
      // Interrupted once the walk-forward was done (before or while the artifacts are written): the run was ended
      // KILLED, and so is the command.
      const killed = async () => {
        await stopped;
        throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Interrupted();
      };
      if (isStopped() || !started) return killed();
      let dir: string;
      try {
        dir = await writeArtifacts(ctx, store, result, {
          doc,
          reportFiles,
          startedAt: tracking.startedAt,
          ...(comparison ? { comparison: { doc: comparison.doc } } : {}),
        });
      } catch (error) {
        await tracker.stop(error);
        throw error;
      }
      if (isStopped()) return killed();
      ending = 'finished';
      ctx.signal.removeEventListener('abort', onAbort);
      const compared = comparison ? { comparison: { id: comparison.id, models: comparison.models, best: comparison.best, row: comparison.row } } : {};
      return outcomeOf(
        await run.end(
          comparison ? `evaluation of ${result.model}` : 'evaluation',
          evaluationPayload(result, { ...tracking, ...compared, foldMetrics: metrics }),
          dir,
        ),
      );
    },
    stop(error) {
      if (ending === 'finished' || !started) return Promise.resolve();
      ending = 'stopped';
      ctx.signal.removeEventListener('abort', onAbort);
      const s = started;
      stopped ??= (async () => {
        const status = error instanceof Interrupted ? 'KILLED' : 'FAILED';
        const message = error instanceof Error ? error.message : String(error);
        await run.end(`evaluation (${status})`, evaluationStopPayload(s, { status, error: message, metrics, at: Date.now() }, tracking), null);
      })();
      return stopped;
    },
  };
  return tracker;
}
