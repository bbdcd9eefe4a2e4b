import { describe, expect, it } from 'vitest';
import {
  describeParam,
  fitModel,
  getModel,
  InvalidParams,
  loadModel,
  MODEL_NAMES,
  MODELS,
  resolveParams,
  UnknownModel,
  type Dataset,
} from '../../src/ml/models/index.js';
import { filterDataset, simulateLeague } from '../../src/ml/models/synthetic.js';

const { data } = simulateLeague({ seed: 2, seasons: 1, teams: 6 });

describe('MODELS registry', () => {
  it('lists every model with a description and well-formed param specs', () => {
    expect(Object.keys(MODELS)).toEqual([...MODEL_NAMES]);
    for (const name of MODEL_NAMES) {
      const spec = MODELS[name];
      expect(spec.name).toBe(name);
      expect(spec.description.length).toBeGreaterThan(10);
      for (const p of spec.params) {
        if (p.type === 'int' || p.type === 'float') {
          // 'auto' is a default only where the spec accepts it; numbers must lie in the range.
          if (p.default === 'auto') expect(p.auto).toBe(true);
          else {
            expect(p.min).toBeLessThanOrEqual(p.default);
            expect(p.default).toBeLessThanOrEqual(p.max);
          }
          if (p.log) expect(p.min).toBeGreaterThan(0);
          if (p.type === 'int') expect([p.min, p.max, p.default].every(Number.isInteger)).toBe(true);
          if (p.auto) expect(p.type).toBe('float');
        }
        if (p.type === 'categorical') expect(p.choices).toContain(p.default);
      }
    }
  });

  it('resolves defaults when nothing is given', () => {
    expect(resolveParams('dixon-coles', {})).toEqual({
      xi: 0.003,
      maxGoals: 10,
      l2: 3,
      newTeamPrior: 'weakest',
      newTeamK: 3,
      newTeamL2: 10,
      homeL2: 300,
      maxIter: 500,
    });
    expect(resolveParams('logreg', { l2: 0.5 })).toEqual({ l2: 0.5, maxIter: 300, halfLifeDays: 0 });
    expect(resolveParams('logreg', {})).toMatchObject({ l2: 'auto' });
    expect(resolveParams('mlp', {})).toMatchObject({ l2: 'auto' });
  });

  it("accepts 'auto' only for params that choose themselves, and pinned values as numbers or numeric strings", () => {
    expect(resolveParams('logreg', { l2: 'auto' })).toMatchObject({ l2: 'auto' });
    expect(resolveParams('logreg', { l2: '0.01' })).toMatchObject({ l2: 0.01 });
    expect(() => resolveParams('logreg', { l2: 'automatic' })).toThrow(/l2=automatic is neither a finite number nor 'auto'/);
    expect(() => resolveParams('mlp', { lr: 'auto' })).toThrow(/lr=auto is not a finite number/);
    expect(() => resolveParams('dixon-coles', { l2: 'auto' })).toThrow(InvalidParams);
  });

  it('accepts numeric strings (as CLI flags arrive) and converts them', () => {
    expect(resolveParams('mlp', { hiddenUnits: '32', lr: '0.01' })).toMatchObject({ hiddenUnits: 32, lr: 0.01 });
  });

  it('rejects unknown names with InvalidParams listing the valid names and ranges', () => {
    expect(() => resolveParams('logreg', { learningRate: 1 })).toThrow(InvalidParams);
    expect(() => resolveParams('logreg', { learningRate: 1 })).toThrow(
      "logreg: unknown parameter 'learningRate'. Valid parameters: l2 (float 0..10 or auto, default auto, tuned over 0.0001..10 log); maxIter (int 10..10000 log, default 300); halfLifeDays (float 0..3650, default 0)",
    );
  });

  it.each([
    ['mlp', { layers: 3 }, /layers=3 is outside 1\.\.2/],
    ['mlp', { epochs: 2.5 }, /epochs=2.5 is not an integer/],
    ['mlp', { lr: Number.NaN }, /lr=NaN is not a finite number/],
    ['mlp', { dropout: 'high' }, /dropout=high is not a finite number/],
    ['dixon-coles', { xi: -0.001 }, /xi=-0.001 is outside 0\.\.0\.02/],
    ['dixon-coles', { newTeamPrior: 'median' }, /newTeamPrior=median is not one of weakest\|average/],
    ['elo-ordered', { features: 3 }, /features=3 is not a string/],
  ] as const)('%s %o → InvalidParams', (name, given, message) => {
    expect(() => resolveParams(name, given)).toThrow(InvalidParams);
    expect(() => resolveParams(name, given)).toThrow(message);
    expect(() => resolveParams(name, given)).toThrow(/Valid parameters: /);
  });

  it('fit validates params too, before any work', async () => {
    await expect(MODELS.logreg.fit(data, { l2: -1 }, { seed: 1 })).rejects.toThrow(InvalidParams);
    await expect(fitModel('logreg', data, { bogus: 1 }, { seed: 1 })).rejects.toThrow(/unknown parameter 'bogus'/);
  });

  it('names the valid models when a model name is unknown', async () => {
    expect(() => getModel('xgboost')).toThrow(UnknownModel);
    expect(() => resolveParams('xgboost', {})).toThrow("unknown model 'xgboost'; valid models: logreg, mlp, dixon-coles, elo-ordered, ensemble");
    await expect(fitModel('poisson', data, {}, { seed: 1 })).rejects.toThrow(/valid models: logreg, mlp/);
  });

  it('requires an integer seed', async () => {
    await expect(MODELS['dixon-coles'].fit(data, {}, { seed: 1.5 })).rejects.toThrow(/seed must be a safe integer/);
  });

  it('plain-TS fits honour an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    for (const name of ['logreg', 'dixon-coles', 'elo-ordered'] as const) {
      await expect(MODELS[name].fit(data, {}, { seed: 1, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    }
  });

  it('describes params for help output', () => {
    expect(MODELS.ensemble.params.map(describeParam).slice(0, 1)).toEqual(["members (string, default 'dixon-coles,elo-ordered,logreg')"]);
    expect(MODELS.ensemble.params.map((p) => p.name)).toEqual(['members', 'combine', 'anchor', 'weights', 'calibrate', 'calibrationFraction']);
  });
});

describe('model-specific validation', () => {
  it('elo-ordered names a missing feature and lists the available ones', async () => {
    await expect(MODELS['elo-ordered'].fit(data, { features: 'pi_rating_diff' }, { seed: 1 })).rejects.toThrow(
      "elo-ordered: feature(s) 'pi_rating_diff' not in the dataset; available: elo_diff, noise",
    );
  });

  it('models with features refuse predict data that lacks a training feature', async () => {
    const model = await MODELS.logreg.fit(data, {}, { seed: 1 });
    const narrow: Dataset = { ...data, featureNames: ['elo_diff'], X: data.X.map((r) => r.subarray(0, 1)) };
    expect(() => model.predict(narrow)).toThrow(/'noise' not in the dataset/);
  });

  it('ensemble rejects unknown members and mismatched weights', async () => {
    await expect(MODELS.ensemble.fit(data, { members: 'logreg,ensemble' }, { seed: 1 })).rejects.toThrow(InvalidParams);
    await expect(MODELS.ensemble.fit(data, { members: 'logreg,xgb' }, { seed: 1 })).rejects.toThrow(
      /must list models from: logreg, mlp, dixon-coles, elo-ordered/,
    );
    await expect(MODELS.ensemble.fit(data, { members: 'logreg,dixon-coles', combine: 'average', weights: '1' }, { seed: 1 })).rejects.toThrow(
      /must be 2 non-negative numbers/,
    );
    await expect(MODELS.ensemble.fit(data, { members: 'logreg,dixon-coles', combine: 'average', weights: '0,0' }, { seed: 1 })).rejects.toThrow(InvalidParams);
  });

  it('refuses to train on matches without a result', async () => {
    const future = { ...data, matches: data.matches.map((m, i) => (i === 4 ? { ...m, homeGoals: null, awayGoals: null } : m)) };
    for (const name of ['logreg', 'dixon-coles', 'elo-ordered'] as const) {
      await expect(MODELS[name].fit(future, {}, { seed: 1 })).rejects.toThrow(/training match \d+ .* has no result/);
    }
    await expect(
      MODELS.logreg.fit(
        filterDataset(data, () => false),
        {},
        { seed: 1 },
      ),
    ).rejects.toThrow(/empty dataset/);
  });
});

describe('loadModel', () => {
  it('rejects malformed model JSON with the path of the problem', async () => {
    const good = (await MODELS['elo-ordered'].fit(data, {}, { seed: 1 })).serialize();
    expect(() => loadModel({ ...good, kind: 'svm' })).toThrow(/invalid serialized model: kind/);
    expect(() => loadModel({ ...good, formatVersion: 2 })).toThrow(/formatVersion/);
    expect(() => loadModel({ ...good, state: { ...(good.state as object), theta1: 'x' } })).toThrow(/invalid serialized elo-ordered model: state\.theta1/);
    expect(() => loadModel({ ...good, params: { ...good.params, l2: -3 } })).toThrow(InvalidParams);
    expect(() => loadModel({ ...good, featureNames: ['a', 'b', 'c'] })).toThrow(/needs 3 slopes/);
  });
});
