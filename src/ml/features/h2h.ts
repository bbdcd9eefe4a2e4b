/** Head-to-head: the last N meetings of the two teams at either venue, seen from today's home side. */
import type { MatchFact } from '../types.js';
import type { FeatureGroup, PlayedMatch } from './group.js';
import { h2hNames } from './names.js';
import type { H2hParams } from './params.js';

interface Meeting {
  home: number;
  /** Home goals minus away goals. */
  gd: number;
}

/** Win share used before any decisive match is seen: about 1 − 26% draws, halved. */
const PRIOR_WIN_SHARE = 0.37;

/**
 * With no meeting yet the goal difference reads 0 (no edge either way) and the win share reads the running share of
 * team-matches won across all matches seen, i.e. what an arbitrary pairing would show; h2h_n = 0 flags both.
 */
export class H2hGroup implements FeatureGroup {
  readonly names = h2hNames();
  private readonly meetings = new Map<string, Meeting[]>();
  private decisive = 0;
  private played = 0;

  constructor(private readonly p: H2hParams) {}

  /** Writes h2h_gd_mean, h2h_home_win_share and h2h_n. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    const list = this.meetings.get(pairKey(m.homeTeam, m.awayTeam));
    const n = list ? Math.min(this.p.window, list.length) : 0;
    if (n === 0) {
      out[offset] = 0;
      out[offset + 1] = this.played === 0 ? PRIOR_WIN_SHARE : this.decisive / (2 * this.played);
      out[offset + 2] = 0;
      return;
    }
    let gdSum = 0;
    let wins = 0;
    for (let i = list!.length - n; i < list!.length; i++) {
      const meeting = list![i]!;
      const gd = meeting.home === m.homeTeam ? meeting.gd : -meeting.gd;
      gdSum += gd;
      if (gd > 0) wins++;
    }
    out[offset] = gdSum / n;
    out[offset + 1] = wins / n;
    out[offset + 2] = n;
  }

  /** Appends the meeting, keeping only the last `window`. */
  update(m: PlayedMatch): void {
    const key = pairKey(m.homeTeam, m.awayTeam);
    let list = this.meetings.get(key);
    if (!list) {
      list = [];
      this.meetings.set(key, list);
    }
    list.push({ home: m.homeTeam, gd: m.homeGoals - m.awayGoals });
    if (list.length > this.p.window) list.shift();
    this.played++;
    if (m.homeGoals !== m.awayGoals) this.decisive++;
  }
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}
