/**
 * `oracx evaluate`: walk-forward evaluation against the bookmaker and naive baselines, with CI gates; `--models`
 * compares several models on the same matches (evaluate-models.ts).
 */
import { defineCommand } from '../src/command.js';
import { GateFailed, UsageError } from '../src/errors.js';
import { parseGate, type Gate } from '../src/ml/evaluation/gates.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import type { MarginMethod } from '../src/ml/margins.js';
import type { ParamValue } from '../src/ml/models/index.js';
import type { FixedModel } from '../pipelines/evaluate.js';
import { FEATURES_OPTION, MODEL_OPTION, PARAM_OPTION, requireWindow, SEED_OPTION, windowOptions, type WindowFlags } from './model-options.js';
import { loadParams } from './params.js';
import { integer, list } from './parse.js';
import { parseRegistered, type RegisteredSpec } from './evaluate-registered.js';
import { REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';

/** Parsed flags of evaluate (exported for the --models handler in evaluate-models.ts). */
export interface Options extends Omit<WindowFlags, 'model'> {
  /** No default here, so --model next to --models can be refused; one model means logreg when neither is given. */
  model?: string;
  models?: string[];
  param?: Record<string, ParamValue>;
  paramsFile?: string;
  bookmaker: boolean;
  margin: MarginMethod;
  gate?: Gate[];
  report?: string;
  run?: number;
  registered?: RegisteredSpec;
  registry: RegistryChoice;
  betting?: boolean;
  track: boolean;
}

/** Accumulates repeated --gate flags (gates.ts is small and dependency-free, so it loads with the CLI). */
function gateParser(value: string, previous?: unknown): Gate[] {
  return [...((previous as Gate[] | undefined) ?? []), parseGate(value)];
}

/** The default of --model (the shared MODEL_OPTION's). */
const DEFAULT_MODEL = String(MODEL_OPTION.defaultValue);

const fmt = (m: MetricSummary | undefined) =>
  m ? [m.n, m.rps.toFixed(4), m.logLoss.toFixed(4), m.brier.toFixed(4), m.accuracy.toFixed(3), m.ece.toFixed(4)] : ['', '', '', '', '', ''];

export const evaluateCommand = defineCommand<Options>({
  path: ['evaluate'],
  description: 'walk-forward evaluation (refit at each origin) with RPS, log loss, Brier, accuracy and ECE against baselines',
  options: [
    { flags: MODEL_OPTION.flags, description: `${MODEL_OPTION.description} (default: ${DEFAULT_MODEL})` },
    {
      flags: '--models <names>',
      description: 'several models, comma-separated, compared on the same matches with paired tests (instead of --model)',
      parse: list,
    },
    FEATURES_OPTION,
    ...windowOptions('test'),
    SEED_OPTION,
    { ...PARAM_OPTION, description: `${PARAM_OPTION.description}; with --models, key=value goes to every model with that key, model.key=value to one` },
    { flags: '--params-file <file>', description: 'JSON or YAML file of hyperparameters' },
    { flags: '--no-bookmaker', description: 'skip the bookmaker baseline (and score matches without odds too)' },
    {
      flags: '--margin <method>',
      description: 'bookmaker margin removal',
      defaultValue: 'multiplicative',
      choices: ['multiplicative', 'additive', 'power', 'shin'],
    },
    {
      flags: '--gate <expr>',
      description: 'fail with exit 3 unless it holds (for every model of --models), e.g. "rps<=0.205" or "rps<=bookmaker+0.005"; repeatable',
      parse: gateParser,
    },
    { flags: '--run <id>', description: "evaluate a trained run's model as it is (no refit) on --seasons after its training window", parse: integer(1) },
    {
      flags: '--registered <model>',
      description: 'evaluate a registered model version as it is (no refit): NAME/VERSION, NAME@ALIAS or NAME (latest), as with --run',
      parse: parseRegistered,
    },
    { ...REGISTRY_OPTION, description: `${REGISTRY_OPTION.description} (with --registered)` },
    { flags: '--betting', description: 'add a betting simulation (flat and quarter-Kelly at the best available prices; information only)' },
    {
      flags: '--report <file.html>',
      description: 'write an HTML report (plus .reliability and .rps charts as SVG and PNG beside it; .reliability-<model> per model with --models)',
    },
    { flags: '--no-track', description: 'do not log the evaluation to MLflow even when MLFLOW_TRACKING_URI is set' },
  ],
  examples: [
    'oracx evaluate --model dixon-coles --competitions E0 --seasons 2017-2018,2018-2019 --walk-forward season --report eval.html',
    'oracx evaluate --model logreg --competitions E0 --seasons 2019-2020 --gate "rps<=0.205" && echo deploy',
    'oracx evaluate --models logreg,dixon-coles,elo-ordered --param logreg.l2=0.1 --competitions E0 --seasons 2018-2019,2019-2020 --report compare.html',
    'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 oracx evaluate --registered oracx-e0@champion --seasons 2019-2020 --betting --json   # a linked MLflow run',
  ],
  async run(ctx, _args, options) {
    if (options.track) {
      const { checkTrackingExperiment } = await import('./registry-context.js');
      await checkTrackingExperiment(ctx);
    }
    if (options.models) {
      const { evaluateModels } = await import('./evaluate-models.js');
      return evaluateModels(ctx, { ...options, models: options.models });
    }
    if (options.run !== undefined && options.registered)
      throw new UsageError('--run and --registered cannot be combined', { hint: 'evaluate one trained model at a time' });
    requireWindow(options, options.run !== undefined || options.registered !== undefined);
    const model = options.model ?? DEFAULT_MODEL;
    const store = await ctx.store();
    const { evaluate } = await import('../pipelines/evaluate.js');
    const params = await loadParams(options.paramsFile, options.param, ctx.io.cwd);
    const { sharedEvaluateOptions } = await import('./evaluate-output.js');
    const { evaluationTracker, untracked } = await import('./evaluate-track.js');
    const tracker = options.track ? await evaluationTracker(ctx, store, { margin: options.margin }) : null;
    const progress = await ctx.output.progress(`evaluating ${model}`);
    const evaluation = (fixed?: FixedModel) =>
      evaluate(store, {
        ...sharedEvaluateOptions(options, ctx.signal),
        model,
        params,
        run: options.run,
        fixed,
        onStart: (start) => tracker?.start(start),
        onFold: (f, i, n, predictions) => {
          tracker?.fold(i, predictions);
          progress.update(`evaluating ${model}: fold ${i + 1}/${n} (${f.origin})`);
          ctx.logger.debug(`fold ${f.origin}: ${f.trainMatches} train, ${f.testMatches} test, ${f.fitMs} ms`);
        },
      });
    const { withRegisteredModel } = await import('./evaluate-registered.js');
    const registered = options.registered;
    // Everything up to the MLflow run's end, so that however it fails the run is ended: KILLED on Ctrl-C, FAILED on
    // an error (also one writing the report), never left RUNNING.
    const evaluated = async () => {
      const result = await (registered ? withRegisteredModel(ctx, store, registered, options.registry, evaluation) : evaluation()).finally(() =>
        progress.stop(),
      );
      const { logFitWarnings, evaluationDoc } = await import('./evaluate-output.js');
      logFitWarnings(ctx, result);
      if (result.excludedNoOdds > 0) ctx.logger.warn(`${result.excludedNoOdds} test match(es) without odds left out, so every figure is on the same matches`);
      let reportFiles: string[] = [];
      if (options.report) {
        const { renderReport, reportCharts } = await import('../src/ml/evaluation/html.js');
        const { writeReport } = await import('./evaluate-output.js');
        const input = { title: `oracx evaluate: ${result.model} on ${result.competitions.join(', ')} ${result.seasons.join(', ')}`, ...result };
        reportFiles = await writeReport(ctx, options.report, renderReport(input), reportCharts(input));
      }
      const doc = evaluationDoc(result);
      const mlflow = tracker ? await tracker.finish(result, doc, reportFiles) : untracked(ctx, options.track);
      return { result, doc, mlflow };
    };
    const { result, doc, mlflow } = await evaluated().catch(async (error: unknown) => {
      progress.stop();
      await tracker?.stop(error);
      throw error;
    });
    if (ctx.output.json) {
      ctx.output.printJson({ ...doc, ...mlflow });
    } else {
      const rows: (string | number)[][] = [['model', ...fmt(result.overall)]];
      for (const [name, m] of Object.entries(result.baselines)) rows.push([name, ...fmt(m)]);
      ctx.output.printTable({ head: ['', 'n', 'RPS', 'log loss', 'Brier', 'accuracy', 'ECE'], rows });
      if (result.vsBookmaker) {
        const { describePaired } = await import('../src/ml/evaluation/comparison.js');
        ctx.output.printLine(
          `RPS minus bookmaker RPS, paired per match: ${describePaired(result.vsBookmaker, `Diebold–Mariano, Newey–West lag ${result.vsBookmaker.lag}`)}`,
        );
      }
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
      for (const g of result.gates)
        ctx.output.printLine(`gate ${g.gate}: ${g.actual.toFixed(4)} vs ${g.threshold.toFixed(4)} — ${g.passed ? 'passed' : 'FAILED'}`);
    }
    const failed = result.gates.filter((g) => !g.passed);
    if (failed.length > 0) {
      throw new GateFailed(`gate failed: ${failed.map((g) => `${g.gate} (actual ${g.actual.toFixed(4)}, threshold ${g.threshold.toFixed(4)})`).join('; ')}`);
    }
  },
});
