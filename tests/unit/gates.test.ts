import { describe, expect, it } from 'vitest';
import { checkGate, parseGate } from '../../src/ml/evaluation/gates.js';
import type { MetricSummary } from '../../src/ml/evaluation/report-types.js';

const summary = (rps: number, extra: Partial<MetricSummary> = {}): MetricSummary => ({
  n: 100,
  rps,
  logLoss: 1,
  brier: 0.6,
  accuracy: 0.5,
  ece: 0.02,
  ...extra,
});

describe('evaluate gates', () => {
  it('parses absolute and baseline-relative thresholds', () => {
    expect(parseGate('rps<=0.205')).toMatchObject({ metric: 'rps', op: '<=', threshold: { kind: 'value', value: 0.205 } });
    expect(parseGate(' logloss < bookmaker + 0.01 ')).toMatchObject({
      metric: 'logloss',
      op: '<',
      threshold: { kind: 'baseline', baseline: 'bookmaker', offset: 0.01 },
    });
    expect(parseGate('accuracy>=naive-.02')).toMatchObject({ threshold: { kind: 'baseline', baseline: 'naive', offset: -0.02 } });
    expect(parseGate('ECE<0.05').metric).toBe('ece');
  });

  it('rejects bad expressions with the grammar', () => {
    expect(() => parseGate('rps=0.2')).toThrow(/expected METRIC OP VALUE/);
    expect(() => parseGate('auc<=0.2')).toThrow(/unknown metric "auc"/);
    expect(() => parseGate('rps<=market')).toThrow(/unknown baseline "market"/);
  });

  it('passes and fails on the boundary as the operator says', () => {
    expect(checkGate(parseGate('rps<=0.2'), summary(0.2), {})).toEqual({ gate: 'rps<=0.2', passed: true, actual: 0.2, threshold: 0.2 });
    expect(checkGate(parseGate('rps<0.2'), summary(0.2), {}).passed).toBe(false);
    expect(checkGate(parseGate('accuracy>0.45'), summary(0.2), {}).passed).toBe(true);
  });

  it('compares with a baseline plus an offset', () => {
    const out = checkGate(parseGate('rps<=bookmaker+0.005'), summary(0.2035), { bookmaker: summary(0.1989) });
    expect(out.passed).toBe(true);
    expect(out.threshold).toBeCloseTo(0.2039, 10);
    expect(checkGate(parseGate('rps<=bookmaker+0.005'), summary(0.2045), { bookmaker: summary(0.1989) }).passed).toBe(false);
    expect(() => checkGate(parseGate('rps<=elo'), summary(0.2), {})).toThrow(/no elo baseline/);
  });
});
