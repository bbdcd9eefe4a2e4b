/** Market: margin-free probabilities and the overround from pre-match prices, imputed when prices are missing. */
import { impliedProbabilities } from '../margins.js';
import type { MatchFact, Prices } from '../types.js';
import { isPlayed, type FeatureGroup, type PlayedMatch } from './group.js';
import { marketNames } from './names.js';
import type { MarketParams } from './params.js';

/** Used before any priced match is seen: typical top-flight 1x2 probabilities and a 5% book. */
const PRIOR: readonly number[] = [0.45, 0.27, 0.28, 0.05];

/** Probabilities and overround of usable prices, or null when they are missing or not valid decimal prices. */
export function marketView(prices: Prices | null, method: MarketParams['method']): [number, number, number, number] | null {
  if (prices === null) return null;
  for (const o of prices) if (!(Number.isFinite(o) && o > 1)) return null;
  const overround = 1 / prices[0] + 1 / prices[1] + 1 / prices[2] - 1;
  let p: readonly number[];
  try {
    p = impliedProbabilities(prices, method);
  } catch (error) {
    // Shin has no solution for a book under 100% (best-of-market prices) or an extreme margin: the prices still
    // carry information, so fall back to plain normalisation instead of discarding them.
    if (!(error instanceof RangeError)) throw error;
    p = impliedProbabilities(prices, 'multiplicative');
  }
  return [p[0]!, p[1]!, p[2]!, overround];
}

/** The prices the group reads for a match: closing where asked for and present, else pre-match. */
function pricesOf(m: MatchFact, prices: MarketParams['prices']): MatchFact['preOdds'] {
  return prices === 'closing' ? (m.closingOdds ?? m.preOdds) : m.preOdds;
}

/**
 * Pre-match prices by default: closing prices are quoted up to kick-off, later than a forecast made from these
 * features may need them; `prices: 'closing'` opts in for forecasts made at kick-off. Missing prices are imputed with the running mean over played, priced matches of earlier
 * dates, and market_missing says so.
 */
export class MarketGroup implements FeatureGroup {
  readonly names: string[];
  private readonly sum = [0, 0, 0, 0];
  private n = 0;
  /** Views computed by write, reused by update of the same match (write always comes first): Shin is a root search. */
  private readonly pending = new Map<number, ReturnType<typeof marketView>>();

  constructor(private readonly p: MarketParams) {
    this.names = marketNames(p.logOdds === true);
  }

  /** Writes market_p_home, market_p_draw, market_p_away, market_overround and market_missing. */
  write(m: MatchFact, day: number, out: Float64Array, offset: number): void {
    const view = this.read(m, day, out, offset);
    if (isPlayed(m)) this.pending.set(m.id, view);
  }

  /** As write, without remembering the view for update; returns it. */
  read(m: MatchFact, _day: number, out: Float64Array, offset: number): ReturnType<typeof marketView> {
    const view = marketView(pricesOf(m, this.p.prices), this.p.method);
    for (let i = 0; i < 4; i++) out[offset + i] = view ? view[i]! : this.n === 0 ? PRIOR[i]! : this.sum[i]! / this.n;
    out[offset + 4] = view ? 0 : 1;
    if (this.p.logOdds) {
      // Probabilities are floored so a (theoretical) zero cannot produce an infinite feature.
      const away = Math.max(out[offset + 2]!, 1e-6);
      out[offset + 5] = Math.log(Math.max(out[offset]!, 1e-6) / away);
      out[offset + 6] = Math.log(Math.max(out[offset + 1]!, 1e-6) / away);
    }
    return view;
  }

  /** Adds the match's prices, when usable, to the running means. */
  update(m: PlayedMatch): void {
    const cached = this.pending.get(m.id);
    const view = cached !== undefined ? cached : marketView(pricesOf(m, this.p.prices), this.p.method);
    this.pending.delete(m.id);
    if (!view) return;
    for (let i = 0; i < 4; i++) this.sum[i]! += view[i]!;
    this.n++;
  }
}
