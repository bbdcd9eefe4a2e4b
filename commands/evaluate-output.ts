/** What `evaluate` writes besides stdout: the HTML report with its charts, and the MLflow run(s). */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { EvaluationResult } from '../pipelines/evaluate.js';
import type { ComparisonTracking } from '../pipelines/track.js';
import type { Options } from './evaluate.js';

/** The `--json` document of one model's evaluation (also its evaluation.json in MLflow). */
export function evaluationDoc(result: EvaluationResult) {
  return {
    overall: result.overall,
    byCompetition: result.byCompetition,
    baselines: result.baselines,
    baselinesByCompetition: result.baselinesByCompetition,
    vsBookmaker: result.vsBookmaker,
    model: result.model,
    featureSet: result.featureSet,
    walkForward: result.walkForward,
    excludedNoOdds: result.excludedNoOdds,
    folds: result.folds,
    gates: result.gates,
    warnings: result.warnings,
    ...(result.betting ? { betting: { ...result.betting, note: 'information only: not a measure of model quality' } } : {}),
  };
}

/**
 * Logs what the model's fits warned about during an evaluation (e.g. l2=auto falling back on a short window), once per
 * message with the folds it concerned, so that a fall-back inside a walk-forward is as visible as in `train`.
 */
export function logFitWarnings(ctx: Context, result: Pick<EvaluationResult, 'warnings' | 'folds'>): void {
  for (const w of result.warnings) {
    const where = w.folds.length === 1 ? `fold ${w.folds[0]}` : `${w.folds.length} of ${result.folds.length} folds, first ${w.folds[0]}`;
    ctx.logger.warn(`${w.message} (${where})`);
  }
}

/** Writes the report page and each chart beside it as `<base>.<name>.svg` (and `.png` where resvg runs); returns the files. */
export async function writeReport(ctx: Context, report: string, html: string, charts: Record<string, string>): Promise<string[]> {
  const file = path.resolve(ctx.io.cwd, report);
  const base = file.replace(/\.html?$/i, '');
  await writeFile(file, html);
  const files = [file];
  for (const [name, svg] of Object.entries(charts)) {
    await writeFile(`${base}.${name}.svg`, svg);
    files.push(`${base}.${name}.svg`);
  }
  const { svgToPng } = await import('../src/ml/evaluation/png.js');
  for (const [name, svg] of Object.entries(charts)) {
    const png = await svgToPng(svg);
    if (png) {
      await writeFile(`${base}.${name}.png`, png);
      files.push(`${base}.${name}.png`);
    } else ctx.logger.warn('PNG charts skipped: @resvg/resvg-js is not available on this platform (the SVG files are written)');
  }
  ctx.logger.info(`report written to ${file}`);
  return files;
}

/**
 * Logs one evaluation to MLflow when configured (an MLflow run with the figures, evaluation.json and the report
 * files); spooled like training runs when the server is unreachable. In a comparison, each model gets such a run,
 * tagged with the comparison and carrying the whole comparison document as comparison.json.
 */
export async function trackEvaluation(
  ctx: Context,
  store: Store,
  result: EvaluationResult,
  doc: object,
  reportFiles: string[],
  options: { startedAt: number; params: Record<string, unknown>; seed: number; margin: string; comparison?: ComparisonTracking & { doc: object } },
): Promise<void> {
  const { mlflowSettingsFromEnv } = await import('../src/mlflow/settings.js');
  if (!mlflowSettingsFromEnv(ctx.io.env)) return;
  const { logToMlflow, evaluationPayload } = await import('../pipelines/track.js');
  const { openContext } = await import('./registry-context.js');
  const { randomUUID } = await import('node:crypto');
  // Kept on disk until synced: the spool refers to this folder.
  const stamp = `${new Date(options.startedAt).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const dir = path.resolve(ctx.io.cwd, '.oracx', 'artifacts', 'evaluations', options.comparison ? `${stamp}-${result.model}` : stamp);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'evaluation.json'), `${JSON.stringify(doc, null, 2)}\n`);
  if (options.comparison) await writeFile(path.join(dir, 'comparison.json'), `${JSON.stringify(options.comparison.doc, null, 2)}\n`);
  for (const file of reportFiles) await copyFile(file, path.join(dir, path.basename(file)));
  const { comparison, ...rest } = options;
  await logToMlflow(openContext(ctx), store, options.comparison ? `evaluation of ${result.model}` : 'evaluation', {
    trainingRunId: null,
    payload: () => evaluationPayload(result, { ...rest, storeLocation: store.location, cwd: ctx.io.cwd, ...(comparison ? { comparison } : {}) }),
    artifactDir: dir,
  });
}

/**
 * What `evaluate` and `evaluate --models` pass on from the flags alike (window, walk-forward, scoring, gates): one
 * place, so a new flag reaches both (--train-seasons once reached only the first).
 */
export function sharedEvaluateOptions(options: Options, signal: AbortSignal) {
  return {
    featureSet: options.features,
    competitions: options.competitions ?? [],
    seasons: options.seasons ?? [],
    lastSeasons: options.lastSeasons,
    walkForward: options.walkForward,
    trainSeasons: options.trainSeasons,
    seed: options.seed,
    bookmaker: options.bookmaker,
    margin: options.margin,
    gates: options.gate ?? [],
    betting: options.betting,
    signal,
  };
}
