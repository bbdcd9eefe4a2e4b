// What a training run looks like in MLflow: params, tags and metrics of trainingPayload.
import { describe, expect, it } from 'vitest';
import { trainingPayload } from '../../pipelines/track.js';
import type { TrainResult } from '../../pipelines/train.js';

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
    const payload = trainingPayload({ ...base, params: { ...base.params, l2: 1 }, auto: { l2: { value: 1, method: 'fallback', summary: 'logreg l2=auto used l2=1: …' } } }, where);
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
