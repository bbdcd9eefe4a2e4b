/** Rest: days since each team's previous played match, capped, and the home-minus-away difference. */
import type { MatchFact } from '../types.js';
import type { FeatureGroup, PlayedMatch } from './group.js';
import { restNames } from './names.js';
import type { RestParams } from './params.js';

/**
 * Only played matches count as a previous match (unplayed ones never update state), and a team's first match reads
 * as capDays: with no history, "fully rested" is the value closest to what the cap already means.
 */
export class RestGroup implements FeatureGroup {
  readonly names = restNames();
  private readonly lastDay = new Map<number, number>();

  constructor(private readonly p: RestParams) {}

  /** Writes rest_home_days, rest_away_days and rest_diff. */
  write(m: MatchFact, day: number, out: Float64Array, offset: number): void {
    const home = this.restDays(m.homeTeam, day);
    const away = this.restDays(m.awayTeam, day);
    out[offset] = home;
    out[offset + 1] = away;
    out[offset + 2] = home - away;
  }

  /** Records the match day for both teams. */
  update(m: PlayedMatch, day: number): void {
    this.lastDay.set(m.homeTeam, day);
    this.lastDay.set(m.awayTeam, day);
  }

  private restDays(team: number, day: number): number {
    const last = this.lastDay.get(team);
    return last === undefined ? this.p.capDays : Math.min(this.p.capDays, day - last);
  }
}
