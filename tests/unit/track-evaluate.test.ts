// What an evaluation's MLflow run holds at its start, its end and when it stops early (pipelines/track-evaluate.ts).
import { describe, expect, it } from 'vitest';
import { summarise } from '../../src/ml/metrics.js';
import type { EvaluationResult, Prediction } from '../../pipelines/evaluate.js';
import { evaluationPayload, evaluationRunRef, evaluationStartPayload, evaluationStopPayload, foldMetrics } from '../../pipelines/track-evaluate.js';

const pred = (matchId: number, fold: number, outcome: 0 | 1 | 2): Prediction => ({
  matchId,
  fold,
  homeTeam: 1,
  awayTeam: 2,
  competition: 'E0',
  season: '2019-2020',
  date: `2019-08-${10 + matchId}`,
  outcome,
  model: [0.5, 0.3, 0.2],
  bookmaker: [0.45, 0.3, 0.25],
  bestPrices: null,
  naive: [0.45, 0.25, 0.3],
  elo: [0.6, 0.2, 0.2],
});

const predictions = [pred(1, 0, 0), pred(2, 0, 1), pred(3, 2, 2)];
const overall = summarise(
  predictions.map((p) => p.model),
  predictions.map((p) => p.outcome),
);
const result: EvaluationResult = {
  model: 'logreg',
  featureSet: 'core@1',
  featureNames: ['elo_diff'],
  competitions: ['E0'],
  seasons: ['2019-2020'],
  walkForward: 'fixed run 4',
  plannedFolds: 3,
  seed: 7,
  params: { l2: 0.5 },
  trainedRun: {
    runId: 4,
    seed: 7,
    params: { l2: 0.5 },
    competitions: ['E0'],
    trainFrom: '2017-08-11',
    trainUntil: '2019-05-12',
    nMatches: 760,
    dataHash: 'ab'.repeat(32),
    featureNames: ['elo_diff'],
  },
  overall,
  byCompetition: { E0: overall },
  baselines: { naive: overall },
  baselinesByCompetition: {},
  vsBookmaker: null,
  excludedNoOdds: 0,
  folds: [],
  gates: [],
  reliability: [],
  predictions,
  betting: { matches: 3, flat: { bets: 2, staked: 2, profit: 0.5, roi: 0.25 }, kelly: { fraction: 0.25, bets: 2, finalBankroll: 1.1, maxDrawdown: 0.05 } },
  warnings: [],
};
const tracking = { id: 'e-1', startedAt: 1000, margin: 'shin', storeLocation: '/tmp/s.db', cwd: '/tmp', trainingMlflowRunId: 'f'.repeat(32) };

describe('an evaluation run', () => {
  it('starts RUNNING with the params it keeps to its end (MLflow params are write-once), the links and the training dataset', () => {
    const start = evaluationStartPayload(result, tracking);
    const end = evaluationPayload(result, tracking);
    expect(start.status).toBe('RUNNING');
    expect(start.params).toEqual(end.params);
    expect(start.params).toMatchObject({ model: 'logreg', seed: '7', folds: '3', margin: 'shin', 'model.l2': '0.5' });
    expect(start.tags).toMatchObject({ 'oracx.kind': 'evaluation', 'oracx.training_run_id': '4', 'oracx.source_mlflow_run_id': 'f'.repeat(32) });
    expect(start.tags['mlflow.parentRunId']).toBeUndefined();
    expect(start.sharedRun).toEqual(evaluationRunRef(tracking));
    expect(end.sharedRun).toEqual(start.sharedRun);
    expect(start.inputs.map((i) => i.context)).toEqual(['training']);
    expect(end.inputs.map((i) => i.context)).toEqual(['training', 'evaluation']);
    expect(end.inputs[0]).toEqual(start.inputs[0]);
    // The test matches as a colspec of what the model reads: its feature and the result it is scored against.
    const schema = JSON.parse(end.inputs[1]!.dataset.schema!) as { mlflow_colspec: { name: string }[] };
    expect(schema.mlflow_colspec.map((c) => c.name)).toEqual(['date', 'elo_diff', 'result']);
    expect(JSON.parse(end.inputs[1]!.dataset.profile)).toEqual({ num_rows: 3, num_elements: 9 });
  });

  it('logs one point per fold and figure at step = fold index, and the betting simulation as betting_* metrics', () => {
    const end = evaluationPayload(result, tracking);
    const rps = end.metrics.filter((m) => m.key === 'fold_rps');
    expect(rps.map((m) => m.step)).toEqual([0, 2]);
    expect(rps[0]!.value).toBeCloseTo(summarise([predictions[0]!.model, predictions[1]!.model], [0, 1]).rps, 12);
    expect(end.metrics.filter((m) => m.key === 'fold_n').map((m) => m.value)).toEqual([2, 1]);
    const metric = (key: string) => end.metrics.find((m) => m.key === key)?.value;
    expect(metric('betting_flat_roi')).toBe(0.25);
    expect(metric('betting_flat_profit')).toBe(0.5);
    expect(metric('betting_kelly_final_bankroll')).toBe(1.1);
    expect(metric('fold_bookmaker_rps')).toBeDefined();
  });

  it('reuses the fold points sent live (same timestamps), so MLflow stores each once', () => {
    const live = foldMetrics(0, predictions.slice(0, 2), 1234);
    const end = evaluationPayload(result, { ...tracking, foldMetrics: live });
    expect(end.metrics.filter((m) => m.key.startsWith('fold_'))).toEqual(live);
  });

  it('stops FAILED or KILLED with the error and only the folds so far', () => {
    const live = foldMetrics(0, predictions.slice(0, 2), 1234);
    const stop = evaluationStopPayload(result, { status: 'FAILED', error: 'boom', metrics: live, at: 2000 }, tracking);
    expect(stop).toMatchObject({ status: 'FAILED', endTime: 2000, startTime: 1000 });
    expect(stop.tags['oracx.error']).toBe('boom');
    expect(stop.metrics).toEqual(live);
    expect(stop.params).toEqual(evaluationStartPayload(result, tracking).params);
    expect(stop.sharedRun).toEqual(evaluationRunRef(tracking));
  });
});
