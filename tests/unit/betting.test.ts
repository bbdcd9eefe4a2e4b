import { describe, expect, it } from 'vitest';
import { bestValue, simulateBetting, type Bet } from '../../src/ml/evaluation/betting.js';

describe('betting simulation (information only)', () => {
  it('picks the outcome with the largest positive expected value', () => {
    // EV: 0.5·2.2−1 = 0.10, 0.3·3.2−1 = −0.04, 0.2·4.0−1 = −0.20
    expect(bestValue([0.5, 0.3, 0.2], [2.2, 3.2, 4.0])).toEqual({ outcome: 0, edge: expect.closeTo(0.1, 12) });
    expect(bestValue([0.4, 0.3, 0.3], [2.2, 3.2, 3.0])).toBeNull(); // all EV ≤ 0
  });

  it('adds up flat stakes and sizes Kelly stakes from the bankroll at the start of the day', () => {
    const bets: Bet[] = [
      { date: '2020-01-01', probs: [0.5, 0.3, 0.2], prices: [2.2, 3.2, 4.0], outcome: 0 }, // bet home, wins 1.2
      { date: '2020-01-01', probs: [0.5, 0.3, 0.2], prices: [2.2, 3.2, 4.0], outcome: 2 }, // bet home, loses 1
      { date: '2020-01-08', probs: [0.2, 0.3, 0.5], prices: [4.0, 3.4, 2.5], outcome: 2 }, // EV away 0.25, wins 1.5
      { date: '2020-01-08', probs: [0.4, 0.3, 0.3], prices: [2.2, 3.2, 3.0], outcome: 1 }, // no value
    ];
    const s = simulateBetting(bets, 0.5);
    expect(s.flat).toEqual({ bets: 3, staked: 3, profit: expect.closeTo(1.7, 12), roi: expect.closeTo(1.7 / 3, 12) });
    // Day 1: stake 0.5·0.1/1.2 = 1/24 each → +1.2/24 − 1/24 → bankroll 1 + 0.2/24.
    const day1 = 1 + 0.2 / 24;
    // Day 2: stake day1·0.5·0.25/1.5 → wins 1.5× stake.
    const day2 = day1 + day1 * ((0.5 * 0.25) / 1.5) * 1.5;
    expect(s.kelly.finalBankroll).toBeCloseTo(day2, 12);
    expect(s.kelly.bets).toBe(3);
    expect(s.kelly.maxDrawdown).toBe(0);
  });

  it('rejects a Kelly fraction outside (0, 1]', () => {
    expect(() => simulateBetting([], 0)).toThrow(RangeError);
    expect(() => simulateBetting([], 1.5)).toThrow(RangeError);
  });
});
