/**
 * Shot ratings: opponent-adjusted attack and defence strengths on per-match shot counts, an online Poisson model.
 *
 * For one count (shots on target, say) every team has an attack a and a defence d, and every competition a log base
 * per venue (μ_H, μ_A). The expected counts of a match are λ_H = exp(μ_H + a_home − d_away) and
 * λ_A = exp(μ_A + a_away − d_home). After a played match with the count recorded for both sides, with relative
 * residuals r_H = (y_H − λ_H)/λ_H and r_A = (y_A − λ_A)/λ_A:
 *   a_home += step·r_H, d_away −= step·r_H, a_away += step·r_A, d_home −= step·r_A, μ_H += baseStep·r_H, μ_A += baseStep·r_A.
 * (y − λ)/λ is the Poisson log-likelihood gradient in log λ scaled by 1/λ, its Fisher information: a natural-gradient
 * step, so one learning rate suits counts as different as shots on target (≈ 4.5) and shots (≈ 12.5).
 */
import type { MatchFact } from '../types.js';
import type { FeatureGroup, PlayedMatch } from './group.js';
import { shotRatingNames } from './names.js';
import type { ShotRatingParams, ShotStat } from './params.js';

/**
 * log of typical top-flight per-side counts (home, away), a competition's base before its first rated match. Part of
 * every shot-rating feature value: changing them changes registered sets (core@2), so they call for a new version.
 */
export const INITIAL_SHOT_BASE: Readonly<Record<ShotStat, readonly [number, number]>> = Object.freeze({
  shotsOnTarget: Object.freeze([Math.log(5), Math.log(4)] as const),
  shots: Object.freeze([Math.log(14), Math.log(11)] as const),
});

/** A team's strengths on one count, as left by its last rated match. */
interface Strength {
  attack: number;
  defence: number;
  /** Season of that match: the shrink toward 0 is applied lazily, from here to the season being featurised. */
  season: string;
}

/** Expected counts of one match and the pre-match strengths they came from. */
interface Expectation {
  home: number;
  away: number;
  homeAttack: number;
  homeDefence: number;
  awayAttack: number;
  awayDefence: number;
  base: readonly [number, number];
}

/** The observed (home, away) count of m, or null unless both sides have it. */
function observed(stat: ShotStat, m: MatchFact): [number, number] | null {
  const [home, away] = stat === 'shotsOnTarget' ? [m.homeShotsOnTarget, m.awayShotsOnTarget] : [m.homeShots, m.awayShots];
  return home === null || away === null ? null : [home, away];
}

/** The start year of "2019-2020" (or "2019"); NaN when the season does not begin with a 4-digit year. */
function startYear(season: string): number {
  return /^\d{4}/.test(season) ? Number(season.slice(0, 4)) : Number.NaN;
}

/** Seasons from `from` to `to`: at least 1 once the season differs (also when either name carries no year). */
export function seasonsElapsed(from: string, to: string): number {
  if (from === to) return 0;
  const gap = startYear(to) - startYear(from);
  return Number.isNaN(gap) ? 1 : Math.max(1, gap);
}

/** Ratings on one count. */
class CountRating {
  private readonly teams = new Map<number, Strength>();
  /** competition → [μ_H, μ_A]; absent until the competition's first rated match. */
  private readonly bases = new Map<string, [number, number]>();

  constructor(
    private readonly stat: ShotStat,
    private readonly p: ShotRatingParams,
  ) {}

  /** Writes λ_H, λ_A and log(λ_H/λ_A) at offset. */
  write(m: MatchFact, out: Float64Array, offset: number): void {
    const e = this.expect(m);
    out[offset] = e.home;
    out[offset + 1] = e.away;
    out[offset + 2] = Math.log(e.home / e.away);
  }

  /** One natural-gradient step from the match's residuals; a match without the count for both sides changes nothing. */
  update(m: PlayedMatch): void {
    const y = observed(this.stat, m);
    if (!y) return;
    const e = this.expect(m);
    const rHome = (y[0] - e.home) / e.home;
    const rAway = (y[1] - e.away) / e.away;
    const step = this.p.step;
    // Each team's (shrunk) strengths are stored with this season, so the shrink is applied once per season change.
    this.teams.set(m.homeTeam, { attack: e.homeAttack + step * rHome, defence: e.homeDefence - step * rAway, season: m.season });
    this.teams.set(m.awayTeam, { attack: e.awayAttack + step * rAway, defence: e.awayDefence - step * rHome, season: m.season });
    this.bases.set(m.competition, [e.base[0] + this.p.baseStep * rHome, e.base[1] + this.p.baseStep * rAway]);
  }

  private expect(m: MatchFact): Expectation {
    const base = this.bases.get(m.competition) ?? INITIAL_SHOT_BASE[this.stat];
    const [homeAttack, homeDefence] = this.strength(m.homeTeam, m.season);
    const [awayAttack, awayDefence] = this.strength(m.awayTeam, m.season);
    return {
      home: Math.exp(base[0] + homeAttack - awayDefence),
      away: Math.exp(base[1] + awayAttack - homeDefence),
      homeAttack,
      homeDefence,
      awayAttack,
      awayDefence,
      base,
    };
  }

  /** [attack, defence] going into a match of `season`: newcomers at newcomerStrength, others shrunk per season elapsed. */
  private strength(team: number, season: string): [number, number] {
    const s = this.teams.get(team);
    if (!s) return [this.p.newcomerStrength, this.p.newcomerStrength];
    if (s.season === season) return [s.attack, s.defence];
    const keep = (1 - this.p.seasonShrink) ** seasonsElapsed(s.season, season);
    return [s.attack * keep, s.defence * keep];
  }
}

/**
 * One rating per count in params.stats, kept per team id across competitions; a competition's base is its own. Only
 * matches with the count for both sides update (older seasons and lower leagues often lack shots), but every match
 * gets the current expectations written, so the columns are never missing.
 */
export class ShotRatingsGroup implements FeatureGroup {
  readonly names: string[];
  private readonly ratings: CountRating[];

  constructor(p: ShotRatingParams) {
    this.names = shotRatingNames(p);
    this.ratings = p.stats.map((stat) => new CountRating(stat, p));
  }

  /** Writes, per count, the expected home and away counts and the log of their ratio. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    this.ratings.forEach((r, i) => {
      r.write(m, out, offset + 3 * i);
    });
  }

  /** Updates every count the match recorded. */
  update(m: PlayedMatch): void {
    for (const r of this.ratings) r.update(m);
  }
}
