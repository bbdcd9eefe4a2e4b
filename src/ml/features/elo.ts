/** Elo ratings with home advantage, a goal-margin multiplier, season regression and weaker newcomers. */
import type { MatchFact } from '../types.js';
import type { FeatureGroup, PlayedMatch } from './group.js';
import { eloNames } from './names.js';
import type { EloMarginRule, EloParams } from './params.js';

/** Expected score (win = 1, draw = ½) of a side rated `diff` points above its opponent, home advantage included. */
export function eloExpected(diff: number): number {
  return 1 / (1 + 10 ** (-diff / 400));
}

/** Multiplier G of the K factor for an absolute goal margin (World Football Elo: 1, 1, 1.5, then (11 + N)/8). */
export function eloMarginMultiplier(rule: EloMarginRule, margin: number): number {
  if (rule === 'none' || margin <= 1) return 1;
  return margin === 2 ? 1.5 : (11 + margin) / 8;
}

/** Rating points the home side gains (the away side loses the same): K·G·(W − E). */
export function eloDelta(p: EloParams, homeRating: number, awayRating: number, homeGoals: number, awayGoals: number): number {
  const expected = eloExpected(homeRating + p.homeAdvantage - awayRating);
  const actual = homeGoals > awayGoals ? 1 : homeGoals === awayGoals ? 0.5 : 0;
  return p.k * eloMarginMultiplier(p.marginRule, Math.abs(homeGoals - awayGoals)) * (actual - expected);
}

interface CompetitionState {
  /** The season of the competition's latest played match. */
  season: string;
  /** Teams that played in it that season. */
  roster: Set<number>;
}

/** Reference point of a (competition, season): the mean rating of the competition's previous season, if any. */
interface SeasonMean {
  mean: number;
  /** False in a competition's first season: with no previous season there is nothing to be promoted into. */
  hasPrevious: boolean;
}

/**
 * Ratings are per team id across competitions. A team's first match of a season other than its last one regresses
 * its rating toward the mean of that competition's previous season (a gap of several seasons in the data still counts
 * as one change); a never-seen team starts newcomerOffset below that mean. In a competition's first season in the
 * data the reference is initialRating and newcomers get no offset (everyone is new). Both adjustments depend only on
 * the fixture (competition, season) and earlier results, so they are applied when the features are written.
 */
export class EloGroup implements FeatureGroup {
  readonly names = eloNames();
  private readonly rating = new Map<number, number>();
  private readonly lastSeason = new Map<number, string>();
  private readonly competitions = new Map<string, CompetitionState>();
  /** competition → season → reference mean, fixed on the first date the (competition, season) appears. */
  private readonly seasonMeans = new Map<string, Map<string, SeasonMean>>();

  constructor(private readonly p: EloParams) {}

  /** Writes elo_home, elo_away, elo_diff (home advantage included) and elo_expected_home. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    // Asked for on every write, not only when a rating needs it, so the snapshot is always taken on the first date
    // of (competition, season), even when its first newcomer only arrives weeks later.
    this.writeWith(m, this.seasonMean(m.competition, m.season), out, offset);
  }

  /** As write, but a (competition, season) not seen yet gets its snapshot computed without keeping it. */
  read(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    this.writeWith(m, this.seasonMeans.get(m.competition)?.get(m.season) ?? this.snapshot(m.competition, m.season), out, offset);
  }

  private writeWith(m: MatchFact, ref: SeasonMean, out: Float64Array, offset: number): void {
    const home = this.preMatchRating(m.homeTeam, m.season, ref);
    const away = this.preMatchRating(m.awayTeam, m.season, ref);
    const diff = home + this.p.homeAdvantage - away;
    out[offset] = home;
    out[offset + 1] = away;
    out[offset + 2] = diff;
    out[offset + 3] = eloExpected(diff);
  }

  /** Applies K·G·(W − E) to both teams' (regressed) ratings and records who played which season. */
  update(m: PlayedMatch): void {
    const ref = this.seasonMean(m.competition, m.season);
    const home = this.preMatchRating(m.homeTeam, m.season, ref);
    const away = this.preMatchRating(m.awayTeam, m.season, ref);
    const delta = eloDelta(this.p, home, away, m.homeGoals, m.awayGoals);
    this.rating.set(m.homeTeam, home + delta);
    this.rating.set(m.awayTeam, away - delta);
    this.lastSeason.set(m.homeTeam, m.season);
    this.lastSeason.set(m.awayTeam, m.season);
    let comp = this.competitions.get(m.competition);
    if (!comp || comp.season !== m.season) {
      comp = { season: m.season, roster: new Set() };
      this.competitions.set(m.competition, comp);
    }
    comp.roster.add(m.homeTeam);
    comp.roster.add(m.awayTeam);
  }

  private preMatchRating(team: number, season: string, ref: SeasonMean): number {
    const r = this.rating.get(team);
    if (r !== undefined && this.lastSeason.get(team) === season) return r;
    if (r === undefined) return ref.hasPrevious ? ref.mean - this.p.newcomerOffset : ref.mean;
    return r + this.p.seasonRegression * (ref.mean - r);
  }

  private seasonMean(competition: string, season: string): SeasonMean {
    let bySeason = this.seasonMeans.get(competition);
    if (!bySeason) {
      bySeason = new Map();
      this.seasonMeans.set(competition, bySeason);
    }
    let ref = bySeason.get(season);
    if (ref === undefined) {
      // Taken while writing the first date of (competition, season), before any of that date's updates, so the
      // snapshot is the same whichever matches share the date: it never reflects the new season's results.
      ref = this.snapshot(competition, season);
      bySeason.set(season, ref);
    }
    return ref;
  }

  private snapshot(competition: string, season: string): SeasonMean {
    const comp = this.competitions.get(competition);
    if (!comp || comp.season === season || comp.roster.size === 0) return { mean: this.p.initialRating, hasPrevious: false };
    let sum = 0;
    for (const t of comp.roster) sum += this.rating.get(t) ?? this.p.initialRating;
    return { mean: sum / comp.roster.size, hasPrevious: true };
  }
}
