/** `oracx evaluate`: walk-forward evaluation against the bookmaker and naive baselines, with CI gates. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { EvaluationResult } from '../pipelines/evaluate.js';
import { GateFailed } from '../src/errors.js';
import { parseGate, type Gate } from '../src/ml/evaluation/gates.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import type { MarginMethod } from '../src/ml/margins.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, PARAM_OPTION, requireWindow, SEED_OPTION, windowOptions, type WindowFlags } from './model-options.js';
import { loadParams } from './params.js';
import { integer } from './parse.js';

interface Options extends WindowFlags {
  param?: Record<string, ParamValue>;
  paramsFile?: string;
  bookmaker: boolean;
  margin: MarginMethod;
  gate?: Gate[];
  report?: string;
  run?: number;
  betting?: boolean;
  track: boolean;
}

/** Accumulates repeated --gate flags (gates.ts is small and dependency-free, so it loads with the CLI). */
function gateParser(value: string, previous?: unknown): Gate[] {
  return [...((previous as Gate[] | undefined) ?? []), parseGate(value)];
}

const fmt = (m: MetricSummary | undefined) => (m ? [m.n, m.rps.toFixed(4), m.logLoss.toFixed(4), m.brier.toFixed(4), m.accuracy.toFixed(3), m.ece.toFixed(4)] : ['', '', '', '', '', '']);

export const evaluateCommand = defineCommand<Options>({
  path: ['evaluate'],
  description: 'walk-forward evaluation (refit at each origin) with RPS, log loss, Brier, accuracy and ECE against baselines',
  options: [
    MODEL_OPTION,
    FEATURES_OPTION,
    ...windowOptions('test'),
    SEED_OPTION,
    PARAM_OPTION,
    { flags: '--params-file <file>', description: 'JSON or YAML file of hyperparameters' },
    { flags: '--no-bookmaker', description: 'skip the bookmaker baseline (and score matches without odds too)' },
    { flags: '--margin <method>', description: 'bookmaker margin removal', defaultValue: 'multiplicative', choices: ['multiplicative', 'additive', 'power', 'shin'] },
    { flags: '--gate <expr>', description: 'fail with exit 3 unless it holds, e.g. "rps<=0.205" or "rps<=bookmaker+0.005"; repeatable', parse: gateParser },
    { flags: '--run <id>', description: 'evaluate a trained run\'s model as it is (no refit) on --seasons after its training window', parse: integer(1) },
    { flags: '--betting', description: 'add a betting simulation (flat and quarter-Kelly at the best available prices; information only)' },
    { flags: '--report <file.html>', description: 'write an HTML report (plus .reliability and .rps charts as SVG and PNG beside it)' },
    { flags: '--no-track', description: 'do not log the evaluation to MLflow even when MLFLOW_TRACKING_URI is set' },
  ],
  examples: [
    'oracx evaluate --model dixon-coles --competitions E0 --seasons 2017-2018,2018-2019 --walk-forward season --report eval.html',
    'oracx evaluate --model logreg --competitions E0 --seasons 2019-2020 --gate "rps<=0.205" && echo deploy',
  ],
  async run(ctx, _args, options) {
    requireWindow(options, options.run !== undefined);
    const startedAt = Date.now();
    const store = await ctx.store();
    const { evaluate } = await import('../pipelines/evaluate.js');
    const progress = await ctx.output.progress(`evaluating ${options.model}`);
    const params = await loadParams(options.paramsFile, options.param, ctx.io.cwd);
    const result = await evaluate(store, {
      model: options.model,
      featureSet: options.features,
      competitions: options.competitions ?? [],
      seasons: options.seasons ?? [],
      lastSeasons: options.lastSeasons,
      walkForward: options.walkForward,
      trainSeasons: options.trainSeasons,
      seed: options.seed,
      params,
      bookmaker: options.bookmaker,
      margin: options.margin,
      gates: options.gate ?? [],
      run: options.run,
      betting: options.betting,
      signal: ctx.signal,
      onFold: (f, i, n) => {
        progress.update(`evaluating ${options.model}: fold ${i + 1}/${n} (${f.origin})`);
        ctx.logger.debug(`fold ${f.origin}: ${f.trainMatches} train, ${f.testMatches} test, ${f.fitMs} ms`);
      },
    }).finally(() => progress.stop());
    if (result.excludedNoOdds > 0) ctx.logger.warn(`${result.excludedNoOdds} test match(es) without odds left out, so every figure is on the same matches`);

    const reportFiles: string[] = [];
    if (options.report) {
      const { renderReport, reportCharts } = await import('../src/ml/evaluation/html.js');
      const file = path.resolve(ctx.io.cwd, options.report);
      const input = { title: `oracx evaluate: ${result.model} on ${result.competitions.join(', ')} ${result.seasons.join(', ')}`, ...result };
      const charts = reportCharts(input);
      const base = file.replace(/\.html?$/i, '');
      await writeFile(file, renderReport(input));
      await writeFile(`${base}.reliability.svg`, charts.reliability);
      await writeFile(`${base}.rps.svg`, charts.rps);
      reportFiles.push(file, `${base}.reliability.svg`, `${base}.rps.svg`);
      const { svgToPng } = await import('../src/ml/evaluation/png.js');
      for (const [name, svg] of Object.entries(charts)) {
        const png = await svgToPng(svg);
        if (png) {
          await writeFile(`${base}.${name}.png`, png);
          reportFiles.push(`${base}.${name}.png`);
        }
        else ctx.logger.warn('PNG charts skipped: @resvg/resvg-js is not available on this platform (the SVG files are written)');
      }
      ctx.logger.info(`report written to ${file}`);
    }

    const doc = {
      overall: result.overall,
      byCompetition: result.byCompetition,
      baselines: result.baselines,
      baselinesByCompetition: result.baselinesByCompetition,
      model: result.model,
      featureSet: result.featureSet,
      walkForward: result.walkForward,
      excludedNoOdds: result.excludedNoOdds,
      folds: result.folds,
      gates: result.gates,
      ...(result.betting ? { betting: { ...result.betting, note: 'information only: not a measure of model quality' } } : {}),
    };
    if (options.track) await trackEvaluation(ctx, store, result, doc, reportFiles, { startedAt, params, seed: options.seed, margin: options.margin });
    if (ctx.output.json) {
      ctx.output.printJson(doc);
    } else {
      const rows: (string | number)[][] = [['model', ...fmt(result.overall)]];
      for (const [name, m] of Object.entries(result.baselines)) rows.push([name, ...fmt(m)]);
      ctx.output.printTable({ head: ['', 'n', 'RPS', 'log loss', 'Brier', 'accuracy', 'ECE'], rows });
      if (Object.keys(result.byCompetition).length > 1) {
        ctx.output.printTable({
          head: ['competition', 'n', 'RPS', 'bookmaker RPS', 'naive RPS', 'elo RPS'],
          rows: Object.entries(result.byCompetition).map(([c, m]) => {
            const b = result.baselinesByCompetition[c] ?? {};
            return [c, m.n, m.rps.toFixed(4), b.bookmaker?.rps.toFixed(4) ?? '', b.naive?.rps.toFixed(4) ?? '', b.elo?.rps.toFixed(4) ?? ''];
          }),
        });
      }
      if (result.betting) {
        const b = result.betting;
        ctx.output.printLine(
          `betting (information only): flat ${b.flat.bets} bets, ROI ${(100 * b.flat.roi).toFixed(1)}%; quarter-Kelly bankroll 1 → ${b.kelly.finalBankroll.toFixed(3)} (max drawdown ${(100 * b.kelly.maxDrawdown).toFixed(1)}%)`,
        );
      }
      for (const g of result.gates) ctx.output.printLine(`gate ${g.gate}: ${g.actual.toFixed(4)} vs ${g.threshold.toFixed(4)} — ${g.passed ? 'passed' : 'FAILED'}`);
    }
    const failed = result.gates.filter((g) => !g.passed);
    if (failed.length > 0) {
      throw new GateFailed(`gate failed: ${failed.map((g) => `${g.gate} (actual ${g.actual.toFixed(4)}, threshold ${g.threshold.toFixed(4)})`).join('; ')}`);
    }
  },
});

/**
 * Logs the evaluation to MLflow when configured (an MLflow run with the figures, evaluation.json and the report
 * files); spooled like training runs when the server is unreachable.
 */
async function trackEvaluation(
  ctx: Context,
  store: Store,
  result: EvaluationResult,
  doc: object,
  reportFiles: string[],
  options: { startedAt: number; params: Record<string, unknown>; seed: number; margin: string },
): Promise<void> {
  const { mlflowSettingsFromEnv } = await import('../src/mlflow/settings.js');
  if (!mlflowSettingsFromEnv(ctx.io.env)) return;
  const { logToMlflow } = await import('../pipelines/track.js');
  const { openContext } = await import('./registry-context.js');
  const { randomUUID } = await import('node:crypto');
  const { copyFile, mkdir } = await import('node:fs/promises');
  const { evaluationPayload } = await import('../pipelines/track.js');
  // Kept on disk until synced: the spool refers to this folder.
  const dir = path.resolve(ctx.io.cwd, '.oracx', 'artifacts', 'evaluations', `${new Date(options.startedAt).toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'evaluation.json'), `${JSON.stringify(doc, null, 2)}\n`);
  for (const file of reportFiles) await copyFile(file, path.join(dir, path.basename(file)));
  await logToMlflow(openContext(ctx), store, 'evaluation', {
    trainingRunId: null,
    payload: () => evaluationPayload(result, { ...options, storeLocation: store.location, cwd: ctx.io.cwd }),
    artifactDir: dir,
  });
}
