// What training runs and tune studies look like in MLflow: params, tags and metrics of their payloads.
import { describe, expect, it } from 'vitest';
import { experimentTarget, trainingPayload } from '../../pipelines/track.js';
import { datasetDigest, matchesDigest } from '../../pipelines/track-dataset.js';
import { studyEndPayload, studyRunRef, studyStartPayload, trialPayload, type StudyTracking } from '../../pipelines/track-tune.js';
import type { TrainResult } from '../../pipelines/train.js';
import type { TrialEvent } from '../../pipelines/tune.js';

const base: TrainResult = {
  runId: 3,
  modelVersionId: 3,
  model: 'logreg',
  featureSet: 'core@1',
  params: { l2: 0.237, maxIter: 300, halfLifeDays: 0 },
  auto: {},
  warnings: [],
  notes: [],
  seed: 0,
  nMatches: 760,
  trainFrom: '2017-08-11',
  trainUntil: '2019-05-12',
  dataHash: 'ab'.repeat(32),
  artifactPath: '/tmp/a/3',
  epochs: 2,
  epochLogs: [
    { epoch: 1, loss: 1.05, timestamp: 1000 },
    { epoch: 2, loss: 0.98, timestamp: 1001 },
  ],
  startedAt: 900,
  featureNames: ['elo_diff'],
  competitions: ['E0'],
  trainMetrics: { rps: 0.19, logLoss: 0.95, brier: 0.58, accuracy: 0.5 },
  durationMs: 200,
};
const where = { storeLocation: '/tmp/a/oracx.db', cwd: '/tmp/a' };

describe('trainingPayload and l2=auto', () => {
  it('logs the chosen l2 as model.l2 (numeric, comparable with pinned runs), model.l2_auto = how, and the reasoning as a tag', () => {
    const summary = 'logreg l2=auto chose l2=0.237: 0.316 had the lowest log loss (0.9100) among 11 values 0.0001..10 on the latest 190 training matches';
    const payload = trainingPayload({ ...base, auto: { l2: { value: 0.237, method: 'validation', summary, best: 0.316 } } }, where);
    expect(payload.params).toMatchObject({ 'model.l2': '0.237', 'model.l2_auto': 'validation', 'model.maxIter': '300' });
    expect(payload.tags['oracx.auto.l2']).toBe(summary);
  });

  it('says fallback when the window was too small to choose on', () => {
    const payload = trainingPayload(
      { ...base, params: { ...base.params, l2: 1 }, auto: { l2: { value: 1, method: 'fallback', summary: 'logreg l2=auto used l2=1: …' } } },
      where,
    );
    expect(payload.params).toMatchObject({ 'model.l2': '1', 'model.l2_auto': 'fallback' });
  });

  it('logs a pinned l2 as before, without auto params or tags', () => {
    const payload = trainingPayload({ ...base, params: { ...base.params, l2: 0.01 } }, where);
    expect(payload.params['model.l2']).toBe('0.01');
    expect(Object.keys(payload.params).filter((k) => k.endsWith('_auto'))).toEqual([]);
    expect(Object.keys(payload.tags).filter((k) => k.startsWith('oracx.auto.'))).toEqual([]);
  });

  it("names an ensemble member's choice after the member", () => {
    const payload = trainingPayload(
      { ...base, model: 'ensemble', params: { members: 'dixon-coles,logreg' }, auto: { 'logreg.l2': { value: 0.5, method: 'validation', summary: 's' } } },
      where,
    );
    expect(payload.params).toMatchObject({ 'model.logreg.l2': '0.5', 'model.logreg.l2_auto': 'validation' });
    expect(payload.tags['oracx.auto.logreg.l2']).toBe('s');
  });
});

describe('what every run says about itself', () => {
  it('a training run is oracx.kind=train and carries the oracx version, like evaluation and tune runs', () => {
    const payload = trainingPayload(base, where);
    expect(payload.tags).toMatchObject({ 'oracx.kind': 'train', 'oracx.model': 'logreg' });
    expect(payload.tags['oracx.version']).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('experimentTarget (the MLflow environment variables)', () => {
  it('takes MLFLOW_EXPERIMENT_NAME and MLFLOW_EXPERIMENT_ID as given, trimmed, and defaults to the name oracx', () => {
    expect(experimentTarget({})).toEqual({ name: 'oracx' });
    expect(experimentTarget({ MLFLOW_EXPERIMENT_NAME: ' e ' })).toEqual({ name: 'e' });
    expect(experimentTarget({ MLFLOW_EXPERIMENT_ID: ' 12 ' })).toEqual({ id: '12' });
    expect(experimentTarget({ MLFLOW_EXPERIMENT_NAME: 'e', MLFLOW_EXPERIMENT_ID: '12' })).toEqual({ name: 'e', id: '12' });
    expect(experimentTarget({ MLFLOW_EXPERIMENT_NAME: ' ', MLFLOW_EXPERIMENT_ID: '' })).toEqual({ name: 'oracx' });
  });
});

describe('tune study payloads (Optuna MLflowCallback conventions)', () => {
  const study: StudyTracking = {
    study: 's',
    start: {
      key: 'k1',
      seasons: ['2019-2020'],
      walkForward: '84d',
      folds: 3,
      testMatchIds: [1, 2, 3],
      params: { l2: 'auto', maxIter: 300, halfLifeDays: 0 },
      featureNames: ['elo_diff', 'form_home'],
    },
    model: 'logreg',
    featureSet: 'core@2',
    competitions: ['E0'],
    seasons: [],
    lastSeasons: 1,
    sampler: 'tpe',
    seed: 7,
    trials: 20,
    fixed: { maxIter: 300 },
    storeLocation: '/tmp/a/oracx.db',
    cwd: '/tmp/a',
  };
  const trial: TrialEvent = {
    number: 4,
    status: 'complete',
    value: 0.2,
    params: { l2: 0.5 },
    bestValue: 0.2,
    intermediate: [0.25, 0.21, 0.2],
    error: null,
    startedAt: 1,
    finishedAt: 2,
  };

  it('a pruned trial carries no rps, says PRUNED, keeps its running RPS per fold and ends FINISHED as Optuna does', () => {
    const p = trialPayload({ ...trial, status: 'pruned', value: 0.25, intermediate: [0.25] }, study);
    expect(p.metrics.map((m) => m.key)).toEqual(['running_rps']);
    expect(p.tags).toMatchObject({ state: 'PRUNED', 'oracx.trial_state': 'pruned', 'oracx.kind': 'tune-trial', 'oracx.trial': '4', 'oracx.study_key': 'k1' });
    expect(p.status).toBe('FINISHED');
    expect(p.parentRun).toEqual(studyRunRef('k1'));
  });

  it('a complete trial has rps; a failed one ends FAILED with state FAIL', () => {
    expect(trialPayload(trial, study).metrics.find((m) => m.key === 'rps')?.value).toBe(0.2);
    const failed = trialPayload({ ...trial, status: 'failed', value: null, error: 'boom' }, study);
    expect(failed).toMatchObject({ status: 'FAILED', tags: { state: 'FAIL', 'oracx.error': 'boom' } });
    expect(failed.metrics.some((m) => m.key === 'rps')).toBe(false);
  });

  it('trial params hold the window, sampler and seed; its input is the validation matches', () => {
    const p = trialPayload(trial, study);
    expect(p.params).toMatchObject({
      seasons: '2019-2020',
      last_seasons: '1',
      walk_forward: '84d',
      sampler: 'tpe',
      seed: '7',
      'model.l2': '0.5',
      'model.maxIter': '300',
    });
    const schema = JSON.parse(p.inputs[0]!.dataset.schema!) as { mlflow_colspec: { name: string; type: 'string' | 'double' | 'long'; required: boolean }[] };
    // The validation matches' digest, combined with the columns read from them (see datasetDigest).
    const digest = datasetDigest(matchesDigest([1, 2, 3]), schema.mlflow_colspec);
    expect(p.inputs).toEqual([expect.objectContaining({ context: 'validation', dataset: expect.objectContaining({ digest }) })]);
    expect(schema.mlflow_colspec.map((c) => c.name)).toEqual(['date', 'elo_diff', 'form_home', 'result']);
    expect(JSON.parse(p.inputs[0]!.dataset.source)).toMatchObject({ uri: 'sqlite:oracx.db', competitions: ['E0'] });
  });

  it("the study's run keeps as params only what a resume cannot change (MLflow params are write-once)", () => {
    const start = studyStartPayload(study, 10);
    expect(start).toMatchObject({ runName: 'tune:s', status: 'RUNNING', sharedRun: studyRunRef('k1') });
    expect(start.params).toEqual({
      model: 'logreg',
      feature_set: 'core@2',
      competitions: 'E0',
      walk_forward: '84d',
      last_seasons: '1',
      'model.maxIter': '300',
    });
    expect(start.tags).toMatchObject({ 'oracx.sampler': 'tpe', 'oracx.seed': '7', 'oracx.trials_requested': '20', 'oracx.test_seasons': '2019-2020' });
  });

  it("the study's end logs best_rps stepped by trials ended, best.* tags and best-params.json", () => {
    const end = studyEndPayload(
      study,
      {
        status: 'FINISHED',
        best: { number: 4, value: 0.2, params: { l2: 0.5 } },
        bestParamsFile: '{}\n',
        trials: { complete: 5, pruned: 2, failed: 1 },
        finished: true,
      },
      20,
    );
    expect(end.metrics).toContainEqual({ key: 'best_rps', value: 0.2, timestamp: 20, step: 8 });
    expect(end.tags).toMatchObject({ 'best.l2': '0.5', 'oracx.best_trial': '4', 'oracx.study_finished': 'true' });
    expect(end.params).toEqual({});
    expect(end.files).toEqual([{ path: 'best-params.json', content: '{}\n' }]);
  });
});
