/**
 * An `evaluate` run in MLflow as Python's tracking leaves one: created RUNNING when the walk-forward starts, with
 * its params, links to the training run it evaluates (`--run`) and that run's dataset; per-fold figures as the folds
 * finish (step = fold index, so the UI plots the walk-forward); ended FINISHED with every figure, or FAILED/KILLED
 * with the folds so far. Start and end are spool entries sharing one run (see track-train.ts).
 */
import { oracxRunTags } from '../src/mlflow/run-tags.js';
import type { ComparisonRow } from '../src/ml/evaluation/comparison.js';
import type { PairedTest } from '../src/ml/evaluation/paired.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import { summarise } from '../src/ml/metrics.js';
import { modelColumns } from '../src/ml/models/columns.js';
import type { Probs } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import type { DatasetInput } from '../src/mlflow/types.js';
import type { RunRef, SpoolMetric, SpoolPayload } from '../src/tracking/spool.js';
import type { EvaluationResult, EvaluationStart, Prediction } from './evaluate.js';
import { matchesDigest, storeDataset } from './track-dataset.js';
import { trainingDataset } from './track-train.js';

/** What ties the runs of one `evaluate --models` together: a shared id, the models, the best, this model's row. */
export interface ComparisonTracking {
  id: string;
  models: string[];
  best: string;
  row: ComparisonRow;
}

/** Where and how an evaluation is tracked, besides what it evaluates. */
export interface EvaluationTracking {
  /** Names the evaluation's MLflow run for all its spool entries (a UUID). */
  id: string;
  startedAt: number;
  margin: string;
  storeLocation: string;
  cwd: string;
  /** The MLflow run of the training run evaluated (`--run`, or a registered version's), when it reached MLflow. */
  trainingMlflowRunId?: string | null;
  comparison?: ComparisonTracking;
}

/** The tags that find an evaluation's MLflow run. */
export function evaluationRunRef(t: Pick<EvaluationTracking, 'id' | 'storeLocation'>): RunRef {
  return { 'oracx.kind': 'evaluation', 'oracx.evaluation_id': t.id, 'oracx.store': t.storeLocation };
}

/** The run name, the same from its start to its end. */
export function evaluationRunName(s: EvaluationStart): string {
  const what = s.registered ? `${s.registered.name}-v${s.registered.version}` : s.trainedRun ? `run${s.trainedRun.runId}` : s.model;
  return `evaluate-${what}-${s.featureSet}-${s.seasons.join('+')}`.slice(0, 250);
}

/** Params, written once at the start (MLflow params are write-once): the window, the model and the seed it was fitted with. */
export function evaluationParams(s: EvaluationStart, margin: string): Record<string, string> {
  const params: Record<string, string> = {
    model: s.model,
    feature_set: s.featureSet,
    competitions: s.competitions.join(','),
    seasons: s.seasons.join(','),
    walk_forward: s.walkForward,
    seed: String(s.seed),
    margin,
    folds: String(s.plannedFolds),
  };
  for (const [key, value] of Object.entries(s.params)) params[`model.${key}`] = String(value);
  return params;
}

/** Tags from the start: who ran what, and what it links to (the training run, a comparison). */
function evaluationTags(s: EvaluationStart, t: EvaluationTracking): Record<string, string> {
  const runName = evaluationRunName(s);
  const c = t.comparison;
  return {
    ...oracxRunTags('evaluation', { runName, source: 'oracx evaluate', cwd: t.cwd }),
    'oracx.model': s.model,
    'oracx.feature_set': s.featureSet,
    'oracx.store': t.storeLocation,
    'oracx.evaluation_id': t.id,
    ...(s.trainedRun ? { 'oracx.training_run_id': String(s.trainedRun.runId) } : {}),
    ...(s.trainedRun?.dataHash ? { 'oracx.training_data_hash': s.trainedRun.dataHash } : {}),
    ...(t.trainingMlflowRunId ? { 'oracx.source_mlflow_run_id': t.trainingMlflowRunId } : {}),
    ...(s.registered ? { 'oracx.registered_model': s.registered.name, 'oracx.registered_version': String(s.registered.version) } : {}),
    ...(s.registered?.modelId ? { 'oracx.model_id': s.registered.modelId } : {}),
    ...(c ? { 'oracx.comparison': c.id, 'oracx.comparison_models': c.models.join(','), 'oracx.comparison_best': c.best } : {}),
  };
}

/** The training dataset of the evaluated run (`--run`), as the training run logged it. */
function trainedInputs(s: EvaluationStart, options: { storeLocation: string; cwd: string }): DatasetInput[] {
  const r = s.trainedRun;
  if (!r) return [];
  // The same name and digest as the training run's input, so MLflow shows one dataset (startedAt is not part of it).
  return [trainingDataset({ ...r, model: s.model, featureSet: s.featureSet, startedAt: 0 }, options)];
}

/** MLflow metric keys for one summary: rps, log_loss, brier, accuracy, ece, n, with a prefix. */
function summaryMetrics(prefix: string, m: MetricSummary, timestamp: number, step = 0): SpoolMetric[] {
  const keys: [string, number][] = [
    ['rps', m.rps],
    ['log_loss', m.logLoss],
    ['brier', m.brier],
    ['accuracy', m.accuracy],
    ['ece', m.ece],
    ['n', m.n],
  ];
  return keys.map(([key, value]) => ({ key: `${prefix}${key}`, value, timestamp, step }));
}

/** MLflow metric keys for a paired test: rps_diff_<ref>, _se and _p (non-finite values are left out). */
function pairedMetrics(ref: string, t: PairedTest, timestamp: number): SpoolMetric[] {
  const keys: [string, number][] = [
    [`rps_diff_${ref}`, t.meanDiff],
    [`rps_diff_${ref}_se`, t.stdErr],
    [`rps_diff_${ref}_p`, t.pValue],
  ];
  return keys.filter(([, value]) => Number.isFinite(value)).map(([key, value]) => ({ key, value, timestamp, step: 0 }));
}

/** The betting simulation as metrics (information only, as in evaluation.json): betting_flat_roi, betting_kelly_final_bankroll, … */
function bettingMetrics(b: NonNullable<EvaluationResult['betting']>, timestamp: number): SpoolMetric[] {
  const keys: [string, number][] = [
    ['betting_matches', b.matches],
    ['betting_flat_bets', b.flat.bets],
    ['betting_flat_staked', b.flat.staked],
    ['betting_flat_profit', b.flat.profit],
    ['betting_flat_roi', b.flat.roi],
    ['betting_kelly_fraction', b.kelly.fraction],
    ['betting_kelly_bets', b.kelly.bets],
    ['betting_kelly_final_bankroll', b.kelly.finalBankroll],
    ['betting_kelly_max_drawdown', b.kelly.maxDrawdown],
  ];
  return keys.filter(([, value]) => Number.isFinite(value)).map(([key, value]) => ({ key, value, timestamp, step: 0 }));
}

/**
 * One fold's figures at step = its index: fold_rps, fold_log_loss, fold_brier, fold_accuracy, fold_n, and the RPS of
 * each baseline scored on it (fold_bookmaker_rps, fold_naive_rps, fold_elo_rps) to plot against.
 */
export function foldMetrics(index: number, predictions: readonly Prediction[], timestamp: number): SpoolMetric[] {
  if (predictions.length === 0) return [];
  const outcomes = predictions.map((p) => p.outcome);
  const m = summarise(
    predictions.map((p) => p.model),
    outcomes,
  );
  const keys: [string, number][] = [
    ['fold_rps', m.rps],
    ['fold_log_loss', m.logLoss],
    ['fold_brier', m.brier],
    ['fold_accuracy', m.accuracy],
    ['fold_n', m.n],
  ];
  const baselines: [string, (p: Prediction) => Probs | null][] = [
    ['bookmaker', (p) => p.bookmaker],
    ['naive', (p) => p.naive],
    ['elo', (p) => p.elo],
  ];
  for (const [name, pick] of baselines) {
    if (predictions.every((p) => pick(p) !== null))
      keys.push([
        `fold_${name}_rps`,
        summarise(
          predictions.map((p) => pick(p)!),
          outcomes,
        ).rps,
      ]);
  }
  return keys.map(([key, value]) => ({ key, value, timestamp, step: index }));
}

/** Every fold's figures of a finished evaluation (all at `timestamp`), for an evaluation not tracked live (--models). */
function allFoldMetrics(predictions: readonly Prediction[], timestamp: number): SpoolMetric[] {
  const byFold = new Map<number, Prediction[]>();
  for (const p of predictions) byFold.set(p.fold, [...(byFold.get(p.fold) ?? []), p]);
  return [...byFold].flatMap(([index, preds]) => foldMetrics(index, preds, timestamp));
}

/** The run as the walk-forward starts: left RUNNING, with its params, tags and (for `--run`) the training dataset. */
export function evaluationStartPayload(s: EvaluationStart, t: EvaluationTracking): SpoolPayload {
  return {
    runName: evaluationRunName(s),
    startTime: t.startedAt,
    endTime: t.startedAt,
    status: 'RUNNING',
    params: evaluationParams(s, t.margin),
    tags: evaluationTags(s, t),
    metrics: [],
    inputs: trainedInputs(s, t),
    sharedRun: evaluationRunRef(t),
  };
}

/** The run as an evaluation that did not finish leaves it: FAILED (with the error) or KILLED, with the folds so far. */
export function evaluationStopPayload(
  s: EvaluationStart,
  end: { status: 'FAILED' | 'KILLED'; error: string; metrics: readonly SpoolMetric[]; at: number },
  t: EvaluationTracking,
): SpoolPayload {
  return {
    ...evaluationStartPayload(s, t),
    endTime: end.at,
    status: end.status,
    tags: { ...evaluationTags(s, t), 'oracx.error': end.error.slice(0, 5000) },
    metrics: [...end.metrics],
  };
}

/**
 * A finished evaluation as an MLflow run: the window and model as params, overall, per-competition, baseline and
 * betting figures, per-fold figures (`foldMetrics`: those sent live, with their timestamps, so MLflow stores each
 * point once), the paired difference to the bookmaker and, in a comparison, to the best model. It ends the run its
 * start was logged (a RUNNING run this entry ends, found by evaluationRunRef).
 */
export function evaluationPayload(r: EvaluationResult, t: EvaluationTracking & { foldMetrics?: readonly SpoolMetric[] }): SpoolPayload {
  const end = Date.now();
  const metrics = summaryMetrics('', r.overall, end);
  for (const [name, m] of Object.entries(r.baselines)) if (m) metrics.push(...summaryMetrics(`${name}_`, m, end));
  for (const [code, m] of Object.entries(r.byCompetition)) metrics.push(...summaryMetrics(`${code}_`, m, end));
  if (r.vsBookmaker) metrics.push(...pairedMetrics('bookmaker', r.vsBookmaker, end));
  if (t.comparison) metrics.push(...pairedMetrics('best', t.comparison.row.vsBest, end));
  if (r.betting) metrics.push(...bettingMetrics(r.betting, end));
  metrics.push(...(t.foldMetrics ?? allFoldMetrics(r.predictions, end)));
  const failed = r.gates.filter((g) => !g.passed);
  const start = evaluationStartPayload(r, t);
  // The columns the evaluated model reads from the test matches (its features, or Dixon–Coles's fixtures and scores).
  const columns = modelColumns(r.model, r.params, r.featureNames);
  return {
    ...start,
    endTime: end,
    status: 'FINISHED',
    tags: {
      ...start.tags,
      ...(r.gates.length
        ? { 'oracx.gates': r.gates.map((g) => `${g.gate}: ${g.passed ? 'passed' : 'failed'}`).join('; '), 'oracx.gates_passed': String(failed.length === 0) }
        : {}),
    },
    metrics,
    inputs: [
      ...start.inputs,
      storeDataset({
        name: `${r.competitions.join('+')} ${r.seasons.join('+')}`,
        digest: matchesDigest(r.predictions.map((p) => p.matchId)),
        storeLocation: t.storeLocation,
        cwd: t.cwd,
        source: { featureSet: r.featureSet, competitions: r.competitions, seasons: r.seasons },
        columns,
        profile: { num_rows: r.overall.n, num_elements: r.overall.n * columns.length },
        context: 'evaluation',
      }),
    ],
  };
}

/** The MLflow run id of a training run, when one of its spool entries reached MLflow; else null. */
export async function trainingMlflowRunId(store: Store, trainingRunId: number): Promise<string | null> {
  const row = await store.db
    .selectFrom('mlflow_spool')
    .select('mlflow_run_id')
    .where('training_run_id', '=', trainingRunId)
    .where('mlflow_run_id', 'is not', null)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.mlflow_run_id ?? null;
}

const OUTCOME = ['H', 'D', 'A'] as const;

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
const field = (v: string | number) => {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * predictions.csv: one row per scored match with its fold, result (H/D/A) and each forecaster's probabilities
 * (p_* for the model, then the baselines; bookmaker_* empty without the bookmaker).
 */
export async function predictionsCsv(store: Store, predictions: readonly Prediction[]): Promise<string> {
  const ids = [...new Set(predictions.flatMap((p) => [p.homeTeam, p.awayTeam]))];
  const names = new Map<number, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await store.db
      .selectFrom('teams')
      .select(['id', 'name'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const row of rows) names.set(Number(row.id), row.name);
  }
  const probs = (prefix: string) => ['home', 'draw', 'away'].map((o) => `${prefix}p_${o}`);
  const head = [
    'match_id',
    'date',
    'competition',
    'season',
    'home',
    'away',
    'result',
    'fold',
    ...probs(''),
    ...probs('bookmaker_'),
    ...probs('naive_'),
    ...probs('elo_'),
  ];
  const cells = (p: Probs | null) => (p ? p.map((x) => String(x)) : ['', '', '']);
  const lines = [head.join(',')];
  for (const p of predictions) {
    const row = [
      p.matchId,
      p.date,
      p.competition,
      p.season,
      names.get(p.homeTeam) ?? p.homeTeam,
      names.get(p.awayTeam) ?? p.awayTeam,
      OUTCOME[p.outcome],
      p.fold,
    ];
    lines.push([...row, ...cells(p.model), ...cells(p.bookmaker), ...cells(p.naive), ...cells(p.elo)].map(field).join(','));
  }
  return `${lines.join('\n')}\n`;
}
