/** `evaluate --models`: checks the model list and per-model params, runs the comparison and renders it. */
import { randomUUID } from 'node:crypto';
import type { Context } from '../src/context.js';
import { GateFailed, UsageError } from '../src/errors.js';
import { describePaired, type ComparisonRow } from '../src/ml/evaluation/comparison.js';
import type { PairedTest } from '../src/ml/evaluation/paired.js';
import { MODEL_NAMES, MODELS, type ModelName, type ParamSpec, type ParamValue } from '../src/ml/models/index.js';
import type { CompareResult, ModelChoice, ModelEvaluation } from '../pipelines/compare.js';
import type { BaselineName } from '../pipelines/evaluate.js';
import type { Options } from './evaluate.js';
import type { EvaluationTracker, MlflowOutcome } from './evaluate-track.js';
import { evaluationDoc, logFitWarnings, sharedEvaluateOptions } from './evaluate-output.js';
import { requireWindow } from './model-options.js';
import { loadParams } from './params.js';

/** Usage errors for --models: next to --model or --run, a name listed twice, or a name the registry does not know. */
export function checkModelList(models: readonly string[], options: { model?: string; run?: number; registered?: unknown }): void {
  if (options.model !== undefined)
    throw new UsageError('--model and --models cannot be combined', { hint: 'pass one model with --model, or several with --models' });
  if (options.run !== undefined) throw new UsageError('--run evaluates one trained model as it is; it cannot be combined with --models');
  if (options.registered !== undefined) throw new UsageError('--registered evaluates one registered version as it is; it cannot be combined with --models');
  const unknown = models.filter((m) => !(MODEL_NAMES as readonly string[]).includes(m));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown model${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${m}'`).join(', ')} in --models; valid models: ${MODEL_NAMES.join(', ')}`,
    );
  }
  const twice = models.find((m, i) => models.indexOf(m) !== i);
  if (twice) throw new UsageError(`--models lists ${twice} twice`, { hint: 'each model is evaluated once' });
}

const specsOf = (model: string): readonly ParamSpec[] => MODELS[model as ModelName].params;
const paramList = (model: string) =>
  `${model}: ${specsOf(model)
    .map((s) => s.name)
    .join(', ')}`;

/**
 * Which hyperparameters each model gets: `name=value` goes to every model of the list that has a parameter of that
 * name, `model.name=value` to that model only (and wins over the plain form). A name no listed model has, or a
 * prefix naming a model that is not listed, is a usage error. Values are checked later, as for a single model.
 */
export function paramsPerModel(models: readonly string[], given: Readonly<Record<string, ParamValue>>): ModelChoice[] {
  const plain: [string, ParamValue][] = [];
  const qualified = new Map<string, Record<string, ParamValue>>(models.map((m) => [m, {}]));
  for (const [key, value] of Object.entries(given)) {
    const dot = key.indexOf('.');
    const prefix = dot > 0 ? key.slice(0, dot) : '';
    if ((MODEL_NAMES as readonly string[]).includes(prefix)) {
      const name = key.slice(dot + 1);
      if (!models.includes(prefix)) throw new UsageError(`parameter ${key}: ${prefix} is not one of --models (${models.join(', ')})`);
      if (!specsOf(prefix).some((s) => s.name === name)) {
        throw new UsageError(`parameter ${key}: ${prefix} has no parameter '${name}'`, { hint: `valid parameters: ${paramList(prefix)}` });
      }
      qualified.get(prefix)![name] = value;
      continue;
    }
    if (!models.some((m) => specsOf(m).some((s) => s.name === key))) {
      throw new UsageError(`unknown parameter '${key}': no model of --models has it`, { hint: `valid parameters: ${models.map(paramList).join('; ')}` });
    }
    plain.push([key, value]);
  }
  return models.map((m) => {
    const own = Object.fromEntries(plain.filter(([key]) => specsOf(m).some((s) => s.name === key)));
    return { name: m, params: { ...own, ...qualified.get(m) } };
  });
}

/** The fields of a model's entry in the comparison document (the baselines are shared, so they sit outside). */
function modelEntry(e: ModelEvaluation) {
  return {
    model: e.model,
    params: e.params,
    overall: e.overall,
    byCompetition: e.byCompetition,
    vsBookmaker: e.vsBookmaker,
    folds: e.folds,
    gates: e.gates,
    warnings: e.warnings,
    ...(e.betting ? { betting: { ...e.betting, note: 'information only: not a measure of model quality' } } : {}),
  };
}

/** The `--json` document of a comparison. */
export function comparisonDoc(result: CompareResult) {
  return {
    models: result.models,
    featureSet: result.featureSet,
    competitions: result.competitions,
    seasons: result.seasons,
    walkForward: result.walkForward,
    excludedNoOdds: result.excludedNoOdds,
    excludedNotCommon: result.excludedNotCommon,
    comparison: result.comparison,
    baselines: result.baselines,
    baselinesByCompetition: result.baselinesByCompetition,
    evaluations: result.evaluations.map(modelEntry),
  };
}

/** Runs `evaluate --models …`. */
export async function evaluateModels(ctx: Context, options: Options & { models: string[] }): Promise<void> {
  checkModelList(options.models, options);
  requireWindow(options);
  const choices = paramsPerModel(options.models, await loadParams(options.paramsFile, options.param, ctx.io.cwd));
  const store = await ctx.store();
  const { compareModels } = await import('../pipelines/compare.js');
  const { evaluationTracker } = await import('./evaluate-track.js');
  // One MLflow run per model, RUNNING from its first fold as in a single evaluation; all are ended together once the
  // comparison is known (FINISHED), or KILLED/FAILED with their folds so far.
  const trackers: (EvaluationTracker | null)[] = [];
  const progress = await ctx.output.progress(`evaluating ${options.models.join(', ')}`);
  const compared = compareModels(store, {
    models: choices,
    ...sharedEvaluateOptions(options, ctx.signal),
    onStart: async (_model, m, start) => {
      trackers[m] = options.track ? await evaluationTracker(ctx, store, { margin: options.margin }) : null;
      await trackers[m]?.start(start);
    },
    onFold: (model, m, f, i, n, predictions) => {
      trackers[m]?.fold(i, predictions);
      progress.update(`evaluating ${model} (${m + 1}/${choices.length}): fold ${i + 1}/${n} (${f.origin})`);
      ctx.logger.debug(`${model} fold ${f.origin}: ${f.trainMatches} train, ${f.testMatches} test, ${f.fitMs} ms`);
    },
  }).finally(() => progress.stop());
  const stopAll = async (error: unknown) => {
    await Promise.all(trackers.map((t) => t?.stop(error)));
    throw error;
  };
  const result = await compared.catch(stopAll);
  for (const e of result.evaluations) logFitWarnings(ctx, e);
  if (result.excludedNoOdds > 0) ctx.logger.warn(`${result.excludedNoOdds} test match(es) without odds left out, so every figure is on the same matches`);
  if (result.excludedNotCommon > 0) {
    ctx.logger.warn(`${result.excludedNotCommon} match(es) not scored by every model left out: all rows are on the same ${result.comparison.n} matches`);
  }

  const { runs, doc } = await finishComparison(ctx, result, options, trackers).catch(stopAll);
  if (ctx.output.json) ctx.output.printJson({ ...doc, evaluations: doc.evaluations.map((e, i) => ({ ...e, ...runs[i] })) });
  else printComparison(ctx, result);

  const failed = result.evaluations.flatMap((e) => e.gates.filter((g) => !g.passed).map((g) => ({ model: e.model, ...g })));
  if (failed.length > 0) {
    throw new GateFailed(
      `gate failed: ${failed.map((g) => `${g.model}: ${g.gate} (actual ${g.actual.toFixed(4)}, threshold ${g.threshold.toFixed(4)})`).join('; ')}`,
    );
  }
}

/** The report, then each model's MLflow run ended FINISHED with the comparison's tags and comparison.json. */
async function finishComparison(ctx: Context, result: CompareResult, options: Options, trackers: readonly (EvaluationTracker | null)[]) {
  const { untracked } = await import('./evaluate-track.js');
  let reportFiles: string[] = [];
  if (options.report) {
    const { renderComparisonReport, comparisonCharts } = await import('../src/ml/evaluation/compare-html.js');
    const { writeReport } = await import('./evaluate-output.js');
    const input = {
      title: `oracx evaluate: ${result.models.join(', ')} on ${result.competitions.join(', ')} ${result.seasons.join(', ')}`,
      comparison: result.comparison,
      models: result.evaluations,
      baselinesByCompetition: result.baselinesByCompetition,
    };
    reportFiles = await writeReport(ctx, options.report, renderComparisonReport(input), comparisonCharts(input));
  }

  const doc = comparisonDoc(result);
  const runs: MlflowOutcome[] = [];
  const id = randomUUID();
  for (const [m, e] of result.evaluations.entries()) {
    const row = result.comparison.rows.find((r) => r.name === e.model)!;
    const comparison = { id, models: result.models, best: result.comparison.best, row, doc };
    const tracker = trackers[m];
    runs.push(tracker ? await tracker.finish(e, evaluationDoc(e), reportFiles, comparison) : untracked(ctx, options.track));
  }
  return { reportFiles, runs, doc };
}

function pairedCell(t: PairedTest | null, self: boolean): string {
  if (!t) return '';
  return self ? 'reference' : describePaired(t);
}

/** The human rendering: the comparison table, RPS per competition, betting and gates per model, how to read p. */
function printComparison(ctx: Context, result: CompareResult): void {
  const c = result.comparison;
  const hasBookmaker = c.rows.some((r) => r.vsBookmaker !== null);
  ctx.output.printLine(
    `${c.n} matches scored by every model (${result.competitions.join(', ')} ${result.seasons.join(', ')}, walk-forward ${result.walkForward}); best: ${c.best}`,
  );
  const row = (r: ComparisonRow) => [
    r.name === c.best ? `${r.name} (best)` : r.name,
    r.n,
    r.rps.toFixed(4),
    r.logLoss.toFixed(4),
    r.brier.toFixed(4),
    ...(hasBookmaker ? [pairedCell(r.vsBookmaker, r.name === 'bookmaker')] : []),
    pairedCell(r.vsBest, r.name === c.best),
  ];
  ctx.output.printTable({
    head: ['', 'n', 'RPS', 'log loss', 'Brier', ...(hasBookmaker ? ['Δ RPS vs bookmaker ± SE (p)'] : []), 'Δ RPS vs best ± SE (p)'],
    rows: c.rows.map(row),
  });
  const competitions = Object.keys(result.baselinesByCompetition);
  if (competitions.length > 1) {
    const baselines = c.rows.filter((r) => r.kind === 'baseline').map((r) => r.name);
    ctx.output.printTable({
      head: ['competition', 'n', ...result.models, ...baselines],
      rows: competitions.map((code) => [
        code,
        result.evaluations[0]!.byCompetition[code]?.n ?? '',
        ...result.evaluations.map((e) => e.byCompetition[code]?.rps.toFixed(4) ?? ''),
        ...baselines.map((b) => result.baselinesByCompetition[code]?.[b as BaselineName]?.rps.toFixed(4) ?? ''),
      ]),
    });
  }
  for (const e of result.evaluations) {
    if (!e.betting) continue;
    const b = e.betting;
    ctx.output.printLine(
      `betting ${e.model} (information only): flat ${b.flat.bets} bets, ROI ${(100 * b.flat.roi).toFixed(1)}%; quarter-Kelly bankroll 1 → ${b.kelly.finalBankroll.toFixed(3)} (max drawdown ${(100 * b.kelly.maxDrawdown).toFixed(1)}%)`,
    );
  }
  for (const e of result.evaluations) {
    for (const g of e.gates)
      ctx.output.printLine(`gate ${g.gate} [${e.model}]: ${g.actual.toFixed(4)} vs ${g.threshold.toFixed(4)} — ${g.passed ? 'passed' : 'FAILED'}`);
  }
  const k = result.models.length;
  ctx.output.printLine(
    `Δ: mean per-match RPS difference to the reference (negative = better) ± Newey–West standard error (lag ${c.lag}); p: two-sided Diebold–Mariano test.` +
      (k > 1 ? ` With ${k} models, hold p to 0.05/${k} = ${(0.05 / k).toFixed(3)} (Bonferroni) before calling a gain real.` : ''),
  );
}
