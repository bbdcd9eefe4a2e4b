/** What `evaluate` writes besides stdout: the `--json` document, the HTML report with its charts (MLflow: evaluate-track.ts). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../src/context.js';
import type { EvaluationResult } from '../pipelines/evaluate.js';
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
