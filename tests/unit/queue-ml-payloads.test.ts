// The tune, predict and train payloads: ids that make re-enqueueing safe, and workers refusing another version's job.
import { describe, expect, it } from 'vitest';
import { payloadProblem, PAYLOAD_VERSION } from '../../src/queue/payload.js';
import { predictJobId, PredictPayload, trainJobId, TrainPayload, tuneJobId, TunePayload } from '../../src/queue/ml-payloads.js';
import { subjectOf } from '../../src/queue/queues.js';

const origin = { host: 'h', pid: 1, oracx: '0.1.0' };
const store = 'postgres://u@h/db';
const tune = {
  v: PAYLOAD_VERSION,
  kind: 'tune',
  store,
  studyKey: 'k1',
  slot: 3,
  spec: {
    study: 's',
    model: 'logreg',
    featureSet: 'core@1',
    competitions: ['E0'],
    seasons: ['2019-2020'],
    walkForward: { kind: 'days', days: 84 },
    sampler: 'tpe',
    trials: 10,
    seed: 42,
    fixed: { l2: 1 },
    staleAfterMs: 300_000,
  },
  origin,
};
const predict = {
  v: PAYLOAD_VERSION,
  kind: 'predict',
  store,
  model: { who: { uri: 'oracx-e0/1', name: 'oracx-e0', version: 1, alias: 'champion', run: '3' }, sha256: 'a'.repeat(64), onnx: 'AAAA' },
  matchIds: [5, 3, 9],
  state: { frontier: '2019-05-12', results: 760 },
  principal: 'ci-bot',
  origin,
};
const train = {
  v: PAYLOAD_VERSION,
  kind: 'train',
  store,
  options: { model: 'logreg', featureSet: 'core@1', competitions: ['E0'], seed: 42, params: { l2: 10 }, artifactsDir: '/shared/artifacts' },
  dataHash: 'd'.repeat(64),
  origin,
};

describe('tune, predict and train payloads', () => {
  it('each kind: its own version passes, a newer or older one is refused with both versions named, a malformed one too', () => {
    for (const [schema, valid, bad] of [
      [TunePayload, tune, { ...tune, slot: -1 }],
      [PredictPayload, predict, { ...predict, matchIds: [] }],
      [TrainPayload, train, { ...train, options: { ...train.options, seed: 'x' } }],
    ] as const) {
      expect(payloadProblem(valid, '0.1.0', schema)).toBeNull();
      expect(payloadProblem({ ...valid, v: PAYLOAD_VERSION + 1 }, '0.1.0', schema)).toMatch(
        /version 2 is not the version this worker reads \(1, oracx 0\.1\.0\).*newer oracx; upgrade this worker/,
      );
      expect(payloadProblem({ ...valid, v: 0 }, '0.1.0', schema)).toMatch(/version 0 .*another oracx version; enqueue it again/);
      expect(payloadProblem(bad, '0.1.0', schema)).toMatch(/malformed at /);
      // A job of one kind is not read as another.
      expect(payloadProblem(valid, '0.1.0', schema === TunePayload ? TrainPayload : TunePayload)).toMatch(/malformed/);
    }
  });

  it('job ids depend only on what the job computes', () => {
    const id = tuneJobId(store, 'k1', 3);
    expect(id).toMatch(/^tune-[0-9a-f]{24}-3$/);
    expect(tuneJobId(store, 'k1', 3)).toBe(id);
    expect(tuneJobId(store, 'k2', 3)).not.toBe(id);
    expect(tuneJobId('postgres://u@h/other', 'k1', 3)).not.toBe(id);

    const p = predictJobId(predict as PredictPayload);
    expect(p).toMatch(/^predict-[0-9a-f]{40}$/);
    expect(predictJobId({ ...(predict as PredictPayload), origin: { ...origin, pid: 2 } } as PredictPayload)).toBe(p);
    expect(predictJobId({ ...(predict as PredictPayload), matchIds: [5, 3] })).not.toBe(p);
    expect(predictJobId({ ...(predict as PredictPayload), state: { frontier: '2019-05-19', results: 770 } })).not.toBe(p);
    expect(predictJobId({ ...(predict as PredictPayload), model: { ...predict.model, sha256: 'b'.repeat(64) } })).not.toBe(p);

    const t = trainJobId(train as TrainPayload);
    expect(t).toMatch(/^train-[0-9a-f]{40}$/);
    expect(trainJobId({ ...(train as TrainPayload), dataHash: 'e'.repeat(64) })).not.toBe(t);
    expect(trainJobId({ ...(train as TrainPayload), options: { ...train.options, seed: 7 } })).not.toBe(t);
  });

  it('jobs list names what each kind of job works on', () => {
    expect(subjectOf({ name: 'tune', data: tune })).toBe('study s trial 4/10');
    expect(subjectOf({ name: 'predict', data: predict })).toBe('3 match(es) with oracx-e0/1');
    expect(subjectOf({ name: 'train', data: train })).toBe('logreg on core@1');
  });
});
