import { describe, expect, it } from 'vitest';
import { median, medianPrune } from '../../src/ml/tune/pruner.js';

// Five finished trials; at step 2 their running means are 0.20, 0.21, 0.22, 0.23, 0.24 (median 0.22).
const HISTORIES = [
  [0.3, 0.25, 0.2, 0.19],
  [0.3, 0.25, 0.21],
  [0.3, 0.25, 0.22, 0.2],
  [0.3, 0.25, 0.23],
  [0.3, 0.25, 0.24, 0.22],
];

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('medianPrune', () => {
  it('prunes a value above the median of the others at the same step, and keeps ties and better ones', () => {
    expect(medianPrune(2, 0.225, HISTORIES)).toBe(true);
    expect(medianPrune(2, 0.22, HISTORIES)).toBe(false);
    expect(medianPrune(2, 0.1, HISTORIES)).toBe(false);
  });

  it('compares step by step, not against final values', () => {
    // At step 0 everyone reported 0.3: 0.29 survives, 0.31 does not.
    expect(medianPrune(0, 0.29, HISTORIES)).toBe(false);
    expect(medianPrune(0, 0.31, HISTORIES)).toBe(true);
  });

  it('never prunes during warm-up steps', () => {
    expect(medianPrune(0, 0.9, HISTORIES, { nWarmupSteps: 1 })).toBe(false);
    expect(medianPrune(1, 0.9, HISTORIES, { nWarmupSteps: 1 })).toBe(true);
  });

  it('needs nStartupTrials others with a value at this step', () => {
    // Only three histories reach step 3.
    expect(medianPrune(3, 0.9, HISTORIES)).toBe(false);
    expect(medianPrune(3, 0.9, HISTORIES, { nStartupTrials: 3 })).toBe(true);
    expect(medianPrune(3, 0.2, HISTORIES, { nStartupTrials: 3 })).toBe(false);
    expect(medianPrune(2, 0.9, HISTORIES.slice(0, 4))).toBe(false);
    expect(medianPrune(0, 0.9, [], { nStartupTrials: 0 })).toBe(false);
  });

  it('skips NaN entries of others and prunes a NaN value once pruning is allowed', () => {
    const withNaN = [...HISTORIES, [0.3, 0.25, Number.NaN]];
    expect(medianPrune(2, 0.225, withNaN)).toBe(true);
    expect(medianPrune(2, Number.NaN, HISTORIES)).toBe(true);
    expect(medianPrune(2, Number.NaN, HISTORIES, { nWarmupSteps: 3 })).toBe(false);
  });

  it('rejects negative or fractional steps and counts', () => {
    expect(() => medianPrune(-1, 0.2, HISTORIES)).toThrow(/step/);
    expect(() => medianPrune(1.5, 0.2, HISTORIES)).toThrow(/step/);
    expect(() => medianPrune(1, 0.2, HISTORIES, { nStartupTrials: -1 })).toThrow(/nStartupTrials/);
    expect(() => medianPrune(1, 0.2, HISTORIES, { nWarmupSteps: 0.5 })).toThrow(/nWarmupSteps/);
  });
});
