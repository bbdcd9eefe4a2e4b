/** A betting simulation against the best available prices: information only, not a measure of model quality. */
import type { Outcome, Prices, Probs } from '../types.js';

export interface Bet {
  date: string;
  probs: Probs;
  /** Best available decimal prices [home, draw, away]. */
  prices: Prices;
  outcome: Outcome;
}

export interface BettingSummary {
  /** Matches with prices to bet on. */
  matches: number;
  flat: { bets: number; staked: number; profit: number; roi: number };
  kelly: { fraction: number; bets: number; finalBankroll: number; maxDrawdown: number };
}

/** The outcome with the highest expected value p·o − 1, when that is above `minEdge`. */
export function bestValue(probs: Probs, prices: Prices, minEdge = 0): { outcome: Outcome; edge: number } | null {
  let best: { outcome: Outcome; edge: number } | null = null;
  for (const k of [0, 1, 2] as const) {
    const edge = probs[k] * prices[k] - 1;
    if (edge > minEdge && (best === null || edge > best.edge)) best = { outcome: k, edge };
  }
  return best;
}

/** Flat 1-unit stakes on every value bet, and fractional Kelly from a bankroll of 1 (stakes sized at the start of each date). */
export function simulateBetting(bets: readonly Bet[], kellyFraction = 0.25, minEdge = 0): BettingSummary {
  if (!(kellyFraction > 0 && kellyFraction <= 1)) throw new RangeError(`Kelly fraction must be in (0, 1], got ${kellyFraction}`);
  const sorted = [...bets].sort((a, b) => a.date.localeCompare(b.date));
  let flatBets = 0;
  let profit = 0;
  let kellyBets = 0;
  let bankroll = 1;
  let peak = 1;
  let maxDrawdown = 0;
  for (let i = 0; i < sorted.length; ) {
    const date = sorted[i]!.date;
    const startOfDay = bankroll;
    for (; i < sorted.length && sorted[i]!.date === date; i++) {
      const b = sorted[i]!;
      const pick = bestValue(b.probs, b.prices, minEdge);
      if (!pick) continue;
      const price = b.prices[pick.outcome];
      const won = b.outcome === pick.outcome;
      flatBets++;
      profit += won ? price - 1 : -1;
      const stake = startOfDay * kellyFraction * (pick.edge / (price - 1));
      if (stake > 0) {
        kellyBets++;
        bankroll += won ? stake * (price - 1) : -stake;
      }
    }
    peak = Math.max(peak, bankroll);
    maxDrawdown = Math.max(maxDrawdown, (peak - bankroll) / peak);
  }
  return {
    matches: sorted.length,
    flat: { bets: flatBets, staked: flatBets, profit, roi: flatBets === 0 ? 0 : profit / flatBets },
    kelly: { fraction: kellyFraction, bets: kellyBets, finalBankroll: bankroll, maxDrawdown },
  };
}
