/** Where Dixon–Coles pulls teams with little or no history in a competition: towards the weakest recent teams. */
import type { MatchFact } from '../types.js';
import { daysBetween } from './numeric.js';

/** Attack and defence of one team, on a competition's centred scale. */
export type Strength = { attack: number; defence: number };

/** What the priors read from one competition's fit. */
export interface FittedCompetition {
  teams: number[];
  attack: number[];
  defence: number[];
  /** Date of the competition's last training match. */
  lastDate: string;
  /** Team id → date of its latest match in this competition. */
  lastSeen: Map<number, string>;
  /** Team ids whose current spell here began within the last year (see newcomers). */
  newcomers: Set<number>;
}

// Teams that played within this many days of a competition's last training match are "recent".
const RECENT_DAYS = 365;
// A team absent from a competition for longer than this (a season, not a summer or winter break) starts a new spell.
const SPELL_GAP_DAYS = 200;

/** Team id → date of its latest match, over matches of one competition. */
export function lastSeenDates(matches: readonly MatchFact[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of matches) {
    for (const t of [m.homeTeam, m.awayTeam]) if ((out.get(t) ?? '') < m.date) out.set(t, m.date);
  }
  return out;
}

/**
 * Teams new to a competition: their current spell (no gap over SPELL_GAP_DAYS) began within RECENT_DAYS of the last
 * training match, and not at the start of the data, where every team is "new". When most recent teams look new, the
 * data has a gap (missing seasons), not promotions: then nobody is.
 */
export function newcomers(matches: readonly MatchFact[], last: string): Set<number> {
  const sorted = [...matches].sort((p, q) => (p.date < q.date ? -1 : p.date > q.date ? 1 : 0));
  if (sorted.length === 0) return new Set();
  const first = sorted[0]!.date;
  const spellStart = new Map<number, string>();
  const seen = new Map<number, string>();
  for (const m of sorted) {
    for (const t of [m.homeTeam, m.awayTeam]) {
      const prev = seen.get(t);
      if (prev === undefined || daysBetween(prev, m.date) > SPELL_GAP_DAYS) spellStart.set(t, m.date);
      seen.set(t, m.date);
    }
  }
  const out = new Set<number>();
  for (const [t, start] of spellStart) {
    if (daysBetween(start, last) <= RECENT_DAYS && daysBetween(first, start) > SPELL_GAP_DAYS) out.add(t);
  }
  const recent = [...seen.values()].filter((d) => daysBetween(d, last) <= RECENT_DAYS).length;
  return out.size * 2 > recent ? new Set() : out;
}

/** Mean strength of the k weakest recent teams that are not newcomers (the usual level of a promoted team). */
export function weakestPrior(fit: FittedCompetition, k: number): Strength {
  const pool = fit.teams
    .map((t, i) => ({ t, a: fit.attack[i]!, d: fit.defence[i]! }))
    .filter((e) => !fit.newcomers.has(e.t) && daysBetween(fit.lastSeen.get(e.t)!, fit.lastDate) <= RECENT_DAYS)
    .sort((p, q) => p.a + p.d - (q.a + q.d) || p.t - q.t)
    .slice(0, k);
  // Every recent team a newcomer cannot happen (newcomers() returns none then); an empty pool would mean no data.
  if (pool.length === 0) return { attack: 0, defence: 0 };
  return { attack: pool.reduce((s, e) => s + e.a, 0) / pool.length, defence: pool.reduce((s, e) => s + e.d, 0) / pool.length };
}
