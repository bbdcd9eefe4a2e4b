/** `evaluate`: walk-forward (rolling-origin) evaluation with proper scores, against bookmaker, naive and Elo baselines. */
import { UserError } from '../src/errors.js';
import { checkGate, type Gate, type GateOutcome } from '../src/ml/evaluation/gates.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import type { MarginMethod } from '../src/ml/margins.js';
import { classwiseReliability, summarise, type ReliabilityBin } from '../src/ml/metrics.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fitModel, loadModel, updateEvery, type Model, type ParamValue } from '../src/ml/models/index.js';
import { simulateBetting, type BettingSummary } from '../src/ml/evaluation/betting.js';
import { pairedRps } from '../src/ml/evaluation/comparison.js';
import type { PairedTest } from '../src/ml/evaluation/paired.js';
import { outcomeOf, type MatchFact, type Outcome, type Prices, type Probs } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadUniverse, selectMatches, toDataset, type Universe } from './dataset.js';
import { bookmakerProbs, describeWalkForward, foldData, foldModel, planFolds, type FoldPlan, type WalkForwardSpec } from './walk-forward.js';
import { checkModelParams } from './train.js';

export interface EvaluateOptions extends WalkForwardSpec {
  seed: number;
  params: Record<string, ParamValue>;
  /** Evaluate this training run's model as it is (no refit) instead of walking forward. */
  run?: number;
  /** Or this already loaded model (e.g. a registered version), as it is. */
  fixed?: FixedModel;
  /** Add the betting simulation (information only). */
  betting?: boolean;
  /** Compare with the bookmaker (restricts scoring to matches with odds). */
  bookmaker: boolean;
  margin: MarginMethod;
  gates: Gate[];
  signal?: AbortSignal;
  /** Once the folds are planned, before the first fit (awaited: e.g. so a RUNNING MLflow run exists before any fold). */
  onStart?: (start: EvaluationStart) => void | Promise<void>;
  /** After each fold with test matches, with its predictions (`index` counts every planned fold). */
  onFold?: (fold: FoldResult, index: number, count: number, predictions: readonly Prediction[]) => void;
}

/** The training run a fixed model comes from (`evaluate --run`): what it was fitted with, and on which data. */
export interface TrainedRun {
  runId: number;
  seed: number;
  params: Record<string, ParamValue>;
  competitions: string[];
  trainFrom: string;
  trainUntil: string;
  nMatches: number;
  dataHash: string;
  featureNames: string[];
}

/** The registered model version a fixed model was loaded from (`evaluate --registered`). */
export interface RegisteredVersion {
  name: string;
  version: number;
  /** The MLflow run the version was registered from, when it has one. */
  mlflowRunId: string | null;
  /** MLflow 3's LoggedModel id, when the version's MLmodel names one. */
  modelId?: string;
}

/** What an evaluation is, known before its first fold: what an MLflow run logs as it starts. */
export type EvaluationStart = Pick<
  EvaluationResult,
  'model' | 'featureSet' | 'featureNames' | 'competitions' | 'seasons' | 'walkForward' | 'plannedFolds' | 'seed' | 'params' | 'trainedRun' | 'registered'
>;

/** A warning of the model's fits (e.g. l2=auto falling back), once per distinct message, with the folds it came from. */
export interface FitWarning {
  message: string;
  /** Origins of the folds whose fit or update warned. */
  folds: string[];
}

export interface FoldResult {
  origin: string;
  end: string;
  trainMatches: number;
  testMatches: number;
  /** The model's fit (or in-season update) time; the baselines' fits are not counted. */
  fitMs: number;
  /** An in-season update of the season's model (see FoldPlan.fitOrigin) rather than a full fit. */
  update: boolean;
}

export interface Prediction {
  matchId: number;
  /** Index of the walk-forward fold that scored it (in the plan, as onFold counts). */
  fold: number;
  homeTeam: number;
  awayTeam: number;
  competition: string;
  season: string;
  date: string;
  outcome: Outcome;
  model: Probs;
  bookmaker: Probs | null;
  /** Best available pre-match prices, when the file had market maxima. */
  bestPrices: Prices | null;
  naive: Probs;
  elo: Probs;
}

export type BaselineName = 'bookmaker' | 'naive' | 'elo';

export interface EvaluationResult {
  model: string;
  featureSet: string;
  /** The feature columns the model is given: the feature set's, or a fixed model's own. */
  featureNames: string[];
  competitions: string[];
  seasons: string[];
  walkForward: string;
  /** Folds planned (some may have no test match, e.g. none with odds). */
  plannedFolds: number;
  /** The seed of the model's fits: --seed for a walk-forward, the training run's seed for `--run`. */
  seed: number;
  /** The model's hyperparameters as given (--param), or the training run's for `--run`. */
  params: Record<string, ParamValue>;
  /** The training run a fixed model comes from (`--run`, or a registered version's run when this store has it). */
  trainedRun?: TrainedRun;
  /** The registered version evaluated (`--registered`). */
  registered?: RegisteredVersion;
  overall: MetricSummary;
  byCompetition: Record<string, MetricSummary>;
  baselines: Partial<Record<BaselineName, MetricSummary>>;
  baselinesByCompetition: Record<string, Partial<Record<BaselineName, MetricSummary>>>;
  /** Paired RPS difference model − bookmaker per match, with its Diebold–Mariano test; null without the bookmaker. */
  vsBookmaker: PairedTest | null;
  /** Matches left out because they had no odds (bookmaker comparison on the same matches). */
  excludedNoOdds: number;
  folds: FoldResult[];
  gates: GateOutcome[];
  reliability: ReliabilityBin[][];
  predictions: Prediction[];
  /** Information only: flat and fractional-Kelly betting at the best available prices. */
  betting?: BettingSummary;
  /** What the model's fits warned about, once per message (empty when nothing did). */
  warnings: FitWarning[];
}

const ELO_SET = 'core@1';

/** Class frequencies of the training matches (with one pseudo-count each, so none is 0). */
function naiveProbs(train: MatchFact[]): Probs {
  const counts = [1, 1, 1];
  for (const m of train) counts[outcomeOf(m)!]! += 1;
  const total = counts[0]! + counts[1]! + counts[2]!;
  return [counts[0]! / total, counts[1]! / total, counts[2]! / total];
}

function byCompetition<T>(preds: Prediction[], f: (subset: Prediction[]) => T): Record<string, T> {
  const groups = new Map<string, Prediction[]>();
  for (const p of preds) groups.set(p.competition, [...(groups.get(p.competition) ?? []), p]);
  return Object.fromEntries([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([c, subset]) => [c, f(subset)]));
}

function score(preds: Prediction[], pick: (p: Prediction) => Probs | null): MetricSummary | undefined {
  const rows = preds.filter((p) => pick(p) !== null);
  if (rows.length === 0) return undefined;
  return summarise(
    rows.map((p) => pick(p)!),
    rows.map((p) => p.outcome),
  );
}

/** A fitted model evaluated as it is, with the window it was trained on (baselines learn from the same window). */
export interface FixedModel {
  /** How messages name it: "run 12", "oracx-e0 version 3". */
  label: string;
  model: Model;
  featureSet: string;
  competitions: string[];
  trainFrom: string;
  trainUntil: string;
  trainedRun?: TrainedRun;
  registered?: RegisteredVersion;
}

/** A completed training run of the store, as an evaluation links to it (seed, params, window, dataset); null when there is none. */
export async function trainedRunOf(store: Store, runId: number): Promise<(TrainedRun & { artifactPath: string }) | null> {
  const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (run?.status !== 'completed' || !run.artifact_path) return null;
  // Only what the MLflow link needs (the dataset's schema): a run without it is still evaluated.
  const meta = await readFile(path.join(run.artifact_path, 'metadata.json'), 'utf8').then(
    (t) => JSON.parse(t) as { featureNames?: string[] },
    () => ({}) as { featureNames?: string[] },
  );
  return {
    runId,
    seed: run.seed,
    params: JSON.parse(run.params) as Record<string, ParamValue>,
    competitions: run.competitions.split(',').filter((c) => c !== ''),
    trainFrom: run.train_from ?? '',
    trainUntil: run.train_until ?? '',
    nMatches: run.n_matches,
    dataHash: run.data_hash ?? '',
    featureNames: meta.featureNames ?? [],
    artifactPath: run.artifact_path,
  };
}

/** Loads a completed training run's model from its artifacts. */
async function loadRun(store: Store, runId: number): Promise<FixedModel> {
  const run = await store.db.selectFrom('training_runs').select(['status', 'feature_set']).where('id', '=', runId).executeTakeFirst();
  if (!run) throw new UserError(`unknown training run ${runId}`, { hint: 'see the run ids printed by oracx train' });
  const trained = await trainedRunOf(store, runId);
  if (!trained) throw new UserError(`training run ${runId} is ${run.status}, not completed`);
  let serialized: unknown;
  try {
    serialized = JSON.parse(await readFile(path.join(trained.artifactPath, 'model.json'), 'utf8'));
  } catch (error) {
    throw new UserError(`cannot read the model of run ${runId} at ${trained.artifactPath}: ${(error as Error).message}`);
  }
  const { artifactPath: _path, ...trainedRun } = trained;
  return {
    label: `run ${runId}`,
    model: loadModel(serialized),
    featureSet: run.feature_set,
    competitions: trained.competitions,
    trainFrom: trained.trainFrom || '0000-01-01',
    trainUntil: trained.trainUntil || '9999-12-31',
    trainedRun,
  };
}

/** Refuses a fixed model whose test window overlaps its training window, before anything is fitted or logged. */
function checkAfterTraining(fixed: FixedModel, first: MatchFact | undefined): void {
  if (first && first.date <= fixed.trainUntil) {
    throw new UserError(`${fixed.label} was trained on matches until ${fixed.trainUntil}; its test window starts ${first.date}`, {
      hint: 'evaluate a fixed model on seasons after its training window only',
    });
  }
}

/**
 * What would stop the walk-forward on bad input, checked before anything is fitted or logged (an MLflow run is not
 * started for a window that cannot be evaluated): an empty training window, no test match with odds, a fixed model
 * tested on its own training window.
 */
function checkPlan(universe: Universe, plan: readonly FoldPlan[], options: EvaluateOptions, fixed: FixedModel | undefined): void {
  let first: MatchFact | undefined;
  for (const fold of plan) {
    const { test } = foldData(universe, fold, options);
    for (const m of test) if (!first || m.date < first.date) first = m;
  }
  if (!first) {
    throw new UserError('no test match has bookmaker odds in this window, so there is nothing to compare on', {
      hint: 'pass --no-bookmaker to evaluate without the bookmaker baseline',
    });
  }
  if (fixed) checkAfterTraining(fixed, first);
}

/** Runs the walk-forward evaluation and checks the gates. */
export async function evaluate(store: Store, options: EvaluateOptions): Promise<EvaluationResult> {
  const fixed = options.fixed ?? (options.run === undefined ? undefined : await loadRun(store, options.run));
  if (fixed)
    options = {
      ...options,
      model: fixed.model.kind,
      featureSet: fixed.featureSet,
      competitions: options.competitions.length ? options.competitions : fixed.competitions,
    };
  const params = fixed ? {} : checkModelParams(options.model, options.params);
  const universe = await loadUniverse(store, options.featureSet);
  const eloUniverse: Universe = universe.featureNames.includes('elo_diff') ? universe : await loadUniverse(store, ELO_SET);
  const predictions: Prediction[] = [];
  const foldResults: FoldResult[] = [];
  const warnings = new Map<string, string[]>();
  let excluded = 0;

  const modelDays = fixed ? undefined : updateEvery(options.model, params);
  const plan = planFolds(universe, options, modelDays);
  checkPlan(universe, plan, options, fixed);
  const start: EvaluationStart = {
    model: options.model,
    featureSet: options.featureSet,
    featureNames: fixed ? (fixed.trainedRun?.featureNames ?? fixed.model.serialize().featureNames) : universe.featureNames,
    competitions: options.competitions,
    seasons: [...new Set(plan.map((p) => p.season))].sort(),
    walkForward: fixed ? `fixed ${fixed.label}` : describeWalkForward(options.walkForward, modelDays),
    plannedFolds: plan.length,
    seed: fixed?.trainedRun?.seed ?? options.seed,
    params: fixed?.trainedRun?.params ?? options.params,
    ...(fixed?.trainedRun ? { trainedRun: fixed.trainedRun } : {}),
    ...(fixed?.registered ? { registered: fixed.registered } : {}),
  };
  await options.onStart?.(start);
  // The latest model of each test season (what an in-season update starts from), and the baselines of each full
  // fit: they learn at the walk-forward origins only, so they are the same whatever the model's update cadence.
  const latest = new Map<string, Model>();
  const baselineFits = new Map<string, { elo: Model; naive: Probs }>();
  const baselinesAt = async (fold: FoldPlan, train: MatchFact[], seed: number) => {
    const key = `${fold.season}|${fold.fitOrigin}`;
    let fits = baselineFits.get(key);
    if (!fits) {
      const from = fixed || fold.origin === fold.fitOrigin ? train : foldData(universe, { ...fold, origin: fold.fitOrigin }, options).train;
      fits = { elo: await fitModel('elo-ordered', toDataset(eloUniverse, from), {}, { seed }), naive: naiveProbs(from) };
      baselineFits.set(key, fits);
    }
    return fits;
  };
  for (const [index, fold] of plan.entries()) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('interrupted');
    const data = foldData(universe, fold, options);
    const { test } = data;
    excluded += data.excluded;
    if (test.length === 0) continue;
    // A fixed model's baselines learn from the same window the model did.
    const train = fixed
      ? selectMatches(universe, { competitions: fixed.competitions, from: fixed.trainFrom, until: fixed.trainUntil, finishedOnly: true })
      : data.train;
    const started = Date.now();
    const seed = options.seed + index;
    const update = !fixed && latest.has(fold.season) && fold.origin > fold.fitOrigin;
    const onWarning = (message: string) => {
      const seen = warnings.get(message) ?? [];
      if (!seen.includes(fold.origin)) seen.push(fold.origin);
      warnings.set(message, seen);
    };
    const model = fixed
      ? fixed.model
      : await foldModel(options.model, latest.get(fold.season), fold, toDataset(universe, train), params, { seed, signal: options.signal, onWarning });
    const fitMs = Date.now() - started;
    latest.set(fold.season, model);
    const { elo, naive } = await baselinesAt(fold, train, seed);
    const modelProbs = model.predict(toDataset(universe, test));
    const eloProbs = elo.predict(toDataset(eloUniverse, test));
    const scored = test.map(
      (m, i): Prediction => ({
        matchId: m.id,
        fold: index,
        homeTeam: m.homeTeam,
        awayTeam: m.awayTeam,
        competition: m.competition,
        season: m.season,
        date: m.date,
        outcome: outcomeOf(m)!,
        model: modelProbs[i]!,
        bookmaker: options.bookmaker ? bookmakerProbs(m, options.margin) : null,
        bestPrices: m.bestPreOdds ?? null,
        naive,
        elo: eloProbs[i]!,
      }),
    );
    predictions.push(...scored);
    const result = { origin: fold.origin, end: fold.end, trainMatches: train.length, testMatches: test.length, fitMs, update };
    foldResults.push(result);
    options.onFold?.(result, index, plan.length, scored);
  }

  const figures = summarisePredictions(predictions, options);
  const gates = checkGates(options.gates, figures.overall, figures.baselines);
  return {
    ...start,
    ...figures,
    excludedNoOdds: excluded,
    folds: foldResults,
    gates,
    predictions,
    warnings: [...warnings.entries()].map(([message, folds]) => ({ message, folds })),
  };
}

/** The figures of an evaluation computed from its predictions: what evaluate reports besides folds and gates. */
export type EvaluationFigures = Pick<
  EvaluationResult,
  'overall' | 'byCompetition' | 'baselines' | 'baselinesByCompetition' | 'vsBookmaker' | 'reliability' | 'betting'
>;

/**
 * Overall, per-competition and baseline figures, the paired RPS test against the bookmaker, reliability bins and
 * (with `betting`) the betting simulation of a non-empty set of predictions.
 */
export function summarisePredictions(predictions: Prediction[], options: { bookmaker: boolean; betting?: boolean }): EvaluationFigures {
  const overall = score(predictions, (p) => p.model)!;
  const baselineOf = (subset: Prediction[]) => {
    const out: Partial<Record<BaselineName, MetricSummary>> = {};
    const b = options.bookmaker ? score(subset, (p) => p.bookmaker) : undefined;
    if (b) out.bookmaker = b;
    out.naive = score(subset, (p) => p.naive)!;
    out.elo = score(subset, (p) => p.elo)!;
    return out;
  };
  // With the bookmaker on, every scored match has odds (foldData leaves the others out), so the pairs are complete.
  const withOdds = options.bookmaker && predictions.length >= 2 && predictions.every((p) => p.bookmaker !== null);
  return {
    overall,
    byCompetition: byCompetition(predictions, (s) => score(s, (p) => p.model)!),
    baselines: baselineOf(predictions),
    baselinesByCompetition: byCompetition(predictions, baselineOf),
    vsBookmaker: withOdds
      ? pairedRps(
          predictions,
          predictions.map((p) => p.model),
          predictions.map((p) => p.bookmaker!),
        )
      : null,
    ...(options.betting
      ? {
          betting: simulateBetting(
            predictions.filter((p) => p.bestPrices).map((p) => ({ date: p.date, probs: p.model, prices: p.bestPrices!, outcome: p.outcome })),
          ),
        }
      : {}),
    reliability: classwiseReliability(
      predictions.map((p) => p.model),
      predictions.map((p) => p.outcome),
    ),
  };
}

/** Each gate checked against the overall figures and baselines; a gate naming a missing baseline is a user error. */
export function checkGates(gates: readonly Gate[], overall: MetricSummary, baselines: Partial<Record<BaselineName, MetricSummary>>): GateOutcome[] {
  return gates.map((g) => {
    try {
      return checkGate(g, overall, baselines);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
  });
}
