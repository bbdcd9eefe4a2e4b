import { describe, expect, it } from 'vitest';
import { MODELS } from '../../src/ml/models/index.js';
import { InvalidParams, type ParamSpec } from '../../src/ml/models/types.js';
import { inSpace, searchSpace, spaceProblems } from '../../src/ml/tune/space.js';

const SPECS: ParamSpec[] = [
  { name: 'lr', type: 'float', default: 1e-3, min: 1e-5, max: 1, log: true, description: '' },
  { name: 'units', type: 'int', default: 16, min: 2, max: 256, log: true, description: '' },
  { name: 'l2', type: 'float', default: 0, min: 0, max: 1, description: '' },
  { name: 'prior', type: 'categorical', default: 'a', choices: ['a', 'b', 'c'], description: '' },
  { name: 'features', type: 'string', default: 'x,y', description: '' },
];

describe('searchSpace', () => {
  it('keeps numeric and categorical specs in order and skips string params', () => {
    expect(searchSpace(SPECS)).toEqual([
      { name: 'lr', type: 'float', min: 1e-5, max: 1, log: true },
      { name: 'units', type: 'int', min: 2, max: 256, log: true },
      { name: 'l2', type: 'float', min: 0, max: 1, log: false },
      { name: 'prior', type: 'categorical', choices: ['a', 'b', 'c'] },
    ]);
  });

  it('applies include then exclude', () => {
    expect(searchSpace(SPECS, { include: ['lr', 'l2', 'prior'], exclude: ['l2'] }).map((d) => d.name)).toEqual(['lr', 'prior']);
  });

  it('narrows ranges, switches scale and subsets choices', () => {
    const dims = searchSpace(SPECS, { overrides: { l2: { min: 1e-6, max: 0.1, log: true }, prior: { choices: ['b', 'c'] } } });
    expect(dims.find((d) => d.name === 'l2')).toEqual({ name: 'l2', type: 'float', min: 1e-6, max: 0.1, log: true });
    expect(dims.find((d) => d.name === 'prior')).toEqual({ name: 'prior', type: 'categorical', choices: ['b', 'c'] });
  });

  it('names unknown params and lists the valid ones', () => {
    const call = (): unknown => searchSpace(SPECS, { include: ['lr', 'nope'] });
    expect(call).toThrow(InvalidParams);
    expect(call).toThrow(/include: unknown parameter 'nope'.*Tunable parameters: lr \(float 0\.00001\.\.1 log.*units.*l2.*prior \(one of a\|b\|c/);
    expect(() => searchSpace(SPECS, { exclude: ['x', 'y'] })).toThrow(/exclude: unknown parameters 'x', 'y'/);
    expect(() => searchSpace(SPECS, { overrides: { lrr: { max: 0.1 } } })).toThrow(/overrides: unknown parameter 'lrr'.*Tunable parameters: lr/);
  });

  it('says string params cannot be tuned', () => {
    expect(() => searchSpace(SPECS, { include: ['features'] })).toThrow(/'features' is a string parameter and cannot be tuned/);
    expect(() => searchSpace(SPECS, { overrides: { features: {} } })).toThrow(/'features' is a string parameter/);
    // Excluding one is a no-op, so callers can exclude every fixed param without sorting out its type.
    expect(searchSpace(SPECS, { exclude: ['features', 'l2'] }).map((d) => d.name)).toEqual(['lr', 'units', 'prior']);
  });

  it('rejects overrides that widen, empty or mis-scale a range', () => {
    expect(() => searchSpace(SPECS, { overrides: { lr: { max: 2 } } })).toThrow(/override of lr: range 0\.00001\.\.2 is outside 0\.00001\.\.1/);
    expect(() => searchSpace(SPECS, { overrides: { l2: { min: 0.5, max: 0.1 } } })).toThrow(/empty/);
    expect(() => searchSpace(SPECS, { overrides: { l2: { log: true } } })).toThrow(/log scale needs min > 0/);
    expect(() => searchSpace(SPECS, { overrides: { units: { min: 2.5 } } })).toThrow(/must be integers/);
    expect(() => searchSpace(SPECS, { overrides: { prior: { choices: ['z'] } } })).toThrow(/z not among a\|b\|c/);
    expect(() => searchSpace(SPECS, { overrides: { prior: { min: 1 } } })).toThrow(/numeric parameters only/);
    expect(() => searchSpace(SPECS, { overrides: { lr: { choices: ['a'] } } })).toThrow(/categorical parameters only/);
  });

  it("searches logreg's and mlp's l2 as numbers on a log scale: 'auto' is a default, never a value to sample", async () => {
    const { randomSample } = await import('../../src/ml/tune/samplers.js');
    const { mulberry32 } = await import('../../src/ml/random.js');
    const { resolveParams } = await import('../../src/ml/models/index.js');
    for (const name of ['logreg', 'mlp'] as const) {
      const l2 = searchSpace(MODELS[name].params).find((d) => d.name === 'l2');
      expect(l2).toMatchObject({ type: 'float', min: 1e-4, log: true });
      const rng = mulberry32(1);
      const sampled: number[] = [];
      for (let i = 0; i < 50; i++) {
        const params = randomSample(searchSpace(MODELS[name].params), rng);
        expect(typeof params.l2).toBe('number');
        expect(resolveParams(name, params).l2).toBe(params.l2);
        sampled.push(params.l2 as number);
      }
      // Log-uniform: small penalties are sampled as often as large ones (uniform on 0..10 almost never went below 0.1).
      expect(sampled.filter((v) => v < 0.01).length).toBeGreaterThan(10);
      // The whole valid range stays reachable by an override (a log scale needs min > 0: give it, or turn it off).
      expect(searchSpace(MODELS[name].params, { overrides: { l2: { min: 0, log: false } } }).find((d) => d.name === 'l2')).toMatchObject({
        min: 0,
        log: false,
      });
      expect(() => searchSpace(MODELS[name].params, { overrides: { l2: { min: 0 } } })).toThrow(/log scale needs min > 0/);
      // A study that fixes l2=auto leaves it out of the space and lets each trial's fit choose.
      expect(searchSpace(MODELS[name].params, { exclude: ['l2'] }).some((d) => d.name === 'l2')).toBe(false);
    }
  });

  it('builds a valid space for every model of the zoo', () => {
    for (const spec of Object.values(MODELS)) {
      const dims = searchSpace(spec.params);
      for (const d of dims) if (d.type !== 'categorical' && d.log) expect(d.min).toBeGreaterThan(0);
      expect(dims.length).toBe(spec.params.filter((p) => p.type !== 'string').length);
    }
  });
});

describe('inSpace', () => {
  const dims = searchSpace(SPECS);
  it('accepts params inside the space', () => {
    expect(inSpace(dims, { lr: 0.01, units: 32, l2: 0, prior: 'b' })).toBe(true);
  });
  it('reports missing, out-of-range, non-integral, unknown-choice and extra names', () => {
    expect(spaceProblems(dims, { lr: 2, units: 3.5, prior: 'z', extra: 1 })).toEqual([
      'lr=2 is not float in 0.00001..1',
      'units=3.5 is not int in 2..256',
      'l2 is missing',
      'prior=z is not one of a|b|c',
      'extra is not a dimension of the space',
    ]);
    expect(inSpace(dims, { lr: 0.01, units: 32, l2: 0 })).toBe(false);
  });
});
