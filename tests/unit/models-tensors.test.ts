import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getModel, initBackend, MODEL_NAMES, TrainingDiverged, type Dataset, type EpochLog } from '../../src/ml/models/index.js';
import { filterDataset, simulateLeague } from '../../src/ml/models/synthetic.js';

const { data } = simulateLeague({ seed: 13, seasons: 3 });
const train = filterDataset(data, (m) => m.season < '2017');
const test = filterDataset(data, (m) => m.season >= '2017');
// Few epochs keep these tests quick; they check mechanics, models-learning checks skill.
const quick = { epochs: 8, hiddenUnits: 8 };

/** A 'shots ratio' feature with a division by zero in one row: the realistic way a NaN loss happens. */
function withBrokenRatio(d: Dataset, bad: number): Dataset {
  return { ...d, featureNames: [...d.featureNames, 'shots_ratio'], X: d.X.map((r, i) => Float64Array.of(...r, i === 17 ? bad : 1 + (i % 5) / 10)) };
}

beforeAll(async () => {
  await initBackend();
});

describe('initBackend', () => {
  it('picks the native backend when installed, else wasm, and is idempotent', async () => {
    const first = await initBackend();
    expect(['tensorflow', 'wasm']).toContain(first);
    expect(await initBackend()).toBe(first);
    expect(tf.getBackend()).toBe(first);
  });
});

describe('mlp', () => {
  const mlp = getModel('mlp');

  it('gives identical weights for the same seed and different weights for another seed', async () => {
    const a = JSON.stringify((await mlp.fit(train, quick, { seed: 1 })).serialize());
    const b = JSON.stringify((await mlp.fit(train, quick, { seed: 1 })).serialize());
    const c = JSON.stringify((await mlp.fit(train, quick, { seed: 2 })).serialize());
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('reports per-epoch loss and validation loss, and stops early when validation stalls', async () => {
    const logs: EpochLog[] = [];
    const model = await mlp.fit(train, { epochs: 300, patience: 3, lr: 0.05, hiddenUnits: 64 }, { seed: 3, onEpoch: (l) => logs.push(l) });
    expect(logs.map((l) => l.epoch)).toEqual(logs.map((_, i) => i + 1));
    for (const l of logs) {
      expect(Number.isFinite(l.loss)).toBe(true);
      expect(Number.isFinite(l.valLoss)).toBe(true);
    }
    expect(logs.length).toBeLessThan(300);
    const state = model.serialize().state as { bestEpoch: number; epochsRun: number };
    expect(state.epochsRun).toBe(logs.length);
    expect(state.epochsRun - state.bestEpoch).toBe(3);
    const best = Math.min(...logs.map((l) => l.valLoss!));
    expect(logs[state.bestEpoch - 1]!.valLoss).toBe(best);
  });

  it('trains without a validation tail when validationFraction is 0', async () => {
    const logs: EpochLog[] = [];
    await mlp.fit(train, { ...quick, validationFraction: 0 }, { seed: 3, onEpoch: (l) => logs.push(l) });
    expect(logs).toHaveLength(quick.epochs);
    expect(logs.every((l) => l.valLoss === undefined)).toBe(true);
  });

  it('throws TrainingDiverged naming model, epoch and loss when a feature holds NaN', async () => {
    const error = await mlp.fit(withBrokenRatio(train, Number.NaN), quick, { seed: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDiverged);
    expect((error as Error).message).toMatch(/^mlp training diverged at epoch 1: loss is NaN\. Non-finite feature values in: shots_ratio$/);
  });

  it('stops with an AbortError when the signal fires', async () => {
    const controller = new AbortController();
    const fit = mlp.fit(train, { epochs: 500 }, { seed: 1, signal: controller.signal, onEpoch: (l) => l.epoch === 2 && controller.abort() });
    await expect(fit).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('no tensor leaks', () => {
  it.each(MODEL_NAMES)('%s: fit + predict leave tf.memory().numTensors unchanged', async (name) => {
    const before = tf.memory().numTensors;
    const params = name === 'mlp' ? quick : name === 'ensemble' ? { members: 'mlp,dixon-coles' } : {};
    const model = await getModel(name).fit(train, params, { seed: 1 });
    model.predict(test);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('also when training diverges or is aborted', async () => {
    const before = tf.memory().numTensors;
    await expect(getModel('mlp').fit(withBrokenRatio(train, Number.NaN), quick, { seed: 1 })).rejects.toThrow(TrainingDiverged);
    const controller = new AbortController();
    controller.abort();
    await expect(getModel('mlp').fit(train, quick, { seed: 1, signal: controller.signal })).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('TrainingDiverged in the plain-TS models', () => {
  it('logreg: an Infinity from a division by zero gives a NaN loss at epoch 0 and names the column', async () => {
    const error = await getModel('logreg')
      .fit(withBrokenRatio(train, Infinity), {}, { seed: 1 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDiverged);
    expect(error).toMatchObject({ model: 'logreg', epoch: 0 });
    expect((error as Error).message).toMatch(/logreg training diverged at epoch 0: loss is NaN.*shots_ratio/);
  });

  it('elo-ordered: a NaN rating diverges the same way', async () => {
    const broken = { ...train, X: train.X.map((r, i) => (i === 3 ? Float64Array.of(Number.NaN, r[1]!) : r)) };
    await expect(getModel('elo-ordered').fit(broken, {}, { seed: 1 })).rejects.toThrow(
      /elo-ordered training diverged at epoch 0: loss is NaN\. Non-finite feature values in: elo_diff/,
    );
  });
});
