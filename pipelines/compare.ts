/**
 * `evaluate --models`: several models walked forward on the same window, folds and seeds, scored on exactly the same
 * matches, with paired RPS tests against the bookmaker and the best model.
 */
import { UserError } from '../src/errors.js';
import { compareForecasts, type Comparison, type Forecaster } from '../src/ml/evaluation/comparison.js';
import type { ParamValue } from '../src/ml/models/index.js';
import type { Store } from '../src/store/connect.js';
import { checkModelParams } from './train.js';
import {
  checkGates,
  evaluate,
  summarisePredictions,
  type EvaluateOptions,
  type EvaluationResult,
  type EvaluationStart,
  type FoldResult,
  type Prediction,
} from './evaluate.js';

/** One model of a comparison and the hyperparameters it gets. */
export interface ModelChoice {
  name: string;
  params: Record<string, ParamValue>;
}

export interface CompareOptions extends Omit<EvaluateOptions, 'model' | 'params' | 'run' | 'fixed' | 'onStart' | 'onFold'> {
  models: readonly ModelChoice[];
  /** A model's walk-forward is about to start (its first fit), as a single evaluation's onStart. */
  onStart?: (model: string, modelIndex: number, start: EvaluationStart) => void | Promise<void>;
  onFold?: (model: string, modelIndex: number, fold: FoldResult, index: number, count: number, predictions: readonly Prediction[]) => void;
}

/** One model's evaluation restricted to the common matches (figures and gates recomputed on them). */
export interface ModelEvaluation extends EvaluationResult {
  params: Record<string, ParamValue>;
}

export interface CompareResult {
  models: string[];
  featureSet: string;
  competitions: string[];
  seasons: string[];
  walkForward: string;
  /** Test matches left out for want of odds (as in a single evaluation). */
  excludedNoOdds: number;
  /** Matches some model scored but another did not, left out so every row is on the same matches. */
  excludedNotCommon: number;
  evaluations: ModelEvaluation[];
  /** The baselines on the common matches (they learn from the same folds whatever the model). */
  baselines: EvaluationResult['baselines'];
  baselinesByCompetition: EvaluationResult['baselinesByCompetition'];
  comparison: Comparison;
}

/**
 * The first model's predictions of the matches every model scored (in its order), and how many matches some model
 * scored that are left out. Evaluations on one plan score the same matches; this guards the comparison if not.
 */
export function commonMatches(perModel: readonly (readonly Prediction[])[]): { common: Prediction[]; excluded: number } {
  if (perModel.length === 0) return { common: [], excluded: 0 };
  const ids = perModel.map((preds) => new Set(preds.map((p) => p.matchId)));
  const common = perModel[0]!.filter((p) => ids.every((s) => s.has(p.matchId)));
  const scored = new Set(perModel.flatMap((preds) => preds.map((p) => p.matchId)));
  return { common, excluded: scored.size - common.length };
}

/** Evaluates every model on the same walk-forward plan and compares them on the matches all of them scored. */
export async function compareModels(store: Store, options: CompareOptions): Promise<CompareResult> {
  if (options.models.length === 0) throw new UserError('no model to compare');
  // Every model's params are checked before the first fit, so a bad value for the last model costs no time.
  for (const m of options.models) checkModelParams(m.name, m.params);
  const runs: ModelEvaluation[] = [];
  for (const [i, m] of options.models.entries()) {
    // Gates are checked below, on the common matches; a single run checks none.
    const result = await evaluate(store, {
      ...options,
      model: m.name,
      params: m.params,
      gates: [],
      onStart: (start) => options.onStart?.(m.name, i, start),
      onFold: (fold, index, count, predictions) => options.onFold?.(m.name, i, fold, index, count, predictions),
    });
    runs.push({ ...result, params: m.params });
  }

  const { common, excluded } = commonMatches(runs.map((r) => r.predictions));
  const byModel = runs.map((r) => new Map(r.predictions.map((p) => [p.matchId, p])));
  if (common.length < 2) {
    throw new UserError(`the models have ${common.length} scored match(es) in common; a paired comparison needs at least 2`, {
      hint: 'widen --seasons or --competitions',
    });
  }
  const evaluations = runs.map((r, i): ModelEvaluation => {
    const predictions = common.map((c) => byModel[i]!.get(c.matchId)!);
    const figures = summarisePredictions(predictions, options);
    return { ...r, ...figures, predictions, gates: checkGates(options.gates, figures.overall, figures.baselines) };
  });

  const pick = (f: (p: Prediction) => Forecaster['probs'][number] | null) => common.map((p) => f(p)!);
  const forecasters: Forecaster[] = [
    ...evaluations.map((e): Forecaster => ({ name: e.model, kind: 'model', probs: e.predictions.map((p) => p.model) })),
    ...(options.bookmaker ? [{ name: 'bookmaker', kind: 'baseline' as const, probs: pick((p) => p.bookmaker) }] : []),
    { name: 'naive', kind: 'baseline', probs: pick((p) => p.naive) },
    { name: 'elo', kind: 'baseline', probs: pick((p) => p.elo) },
  ];
  const first = evaluations[0]!;
  return {
    models: evaluations.map((e) => e.model),
    featureSet: first.featureSet,
    competitions: first.competitions,
    seasons: first.seasons,
    walkForward: first.walkForward,
    excludedNoOdds: first.excludedNoOdds,
    excludedNotCommon: excluded,
    evaluations,
    baselines: first.baselines,
    baselinesByCompetition: first.baselinesByCompetition,
    comparison: compareForecasts(common, forecasters, { bookmaker: options.bookmaker ? 'bookmaker' : undefined }),
  };
}
