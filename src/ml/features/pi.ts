/**
 * Pi-ratings: A. C. Constantinou & N. E. Fenton (2013), "Determining the level of ability of football teams by
 * dynamic ratings based on the relative discrepancies in scores between adversaries", Journal of Quantitative
 * Analysis in Sports 9(1):37–50, doi:10.1515/jqas-2012-0036, section 2 ("pi-rating").
 *
 * Every team α has a home rating R_αH and an away rating R_αA, both starting at 0 (the paper's initial value).
 * The formulas below are named as in the paper; equation numbers were not checked against the published PDF.
 */
import type { MatchFact } from '../types.js';
import type { FeatureGroup, PlayedMatch } from './group.js';
import { piNames } from './names.js';
import type { PiParams } from './params.js';

/**
 * Expected goal difference of a side against an average opponent, from one of its ratings:
 * ĝ = b^(|R|/c) − 1 for R ≥ 0 and −(b^(|R|/c) − 1) for R < 0 (paper, "expected goal difference" of a rating).
 */
export function piExpectedGoals(rating: number, b: number, c: number): number {
  const g = b ** (Math.abs(rating) / c) - 1;
  return rating < 0 ? -g : g;
}

/** Expected goal difference of a match, ĝ_D = ĝ_H − ĝ_A, from the home side's home and the away side's away rating. */
export function piExpectedGoalDiff(homeAtHome: number, awayAway: number, b: number, c: number): number {
  return piExpectedGoals(homeAtHome, b, c) - piExpectedGoals(awayAway, b, c);
}

/** New ratings of both teams after a match, following the paper's update rule exactly (see the body). */
export interface PiRatings {
  homeHome: number;
  homeAway: number;
  awayHome: number;
  awayAway: number;
}

/** The four ratings after a match with observed goal difference gd = home goals − away goals. */
export function piUpdate(p: PiParams, r: PiRatings, gd: number): PiRatings {
  const expected = piExpectedGoalDiff(r.homeHome, r.awayAway, p.b, p.c);
  // Error e = |g_D − ĝ_D| (paper: "the error between observed and expected goal difference").
  const e = Math.abs(gd - expected);
  // ψ(e) = c · log10(1 + e): diminishing returns, so a 6–0 is not worth six 1–0s.
  const psi = p.c * Math.log10(1 + e);
  // ψ_H(e) = ψ(e) if g_D > ĝ_D else −ψ(e); ψ_A(e) = ψ(e) if g_D < ĝ_D else −ψ(e). Written as one signed value since
  // ψ_A = −ψ_H whenever e > 0, and at e = 0 both are 0 (log10(1) = 0), so the tie-break of "else" cannot matter.
  const psiHome = gd > expected ? psi : -psi;
  const psiAway = -psiHome;
  // Home team: R̂_αH = R_αH + ψ_H(e)·λ;  R̂_αA = R_αA + (R̂_αH − R_αH)·γ.
  const homeHome = r.homeHome + psiHome * p.lambda;
  const homeAway = r.homeAway + (homeHome - r.homeHome) * p.gamma;
  // Away team: R̂_βA = R_βA + ψ_A(e)·λ;  R̂_βH = R_βH + (R̂_βA − R_βA)·γ.
  const awayAway = r.awayAway + psiAway * p.lambda;
  const awayHome = r.awayHome + (awayAway - r.awayAway) * p.gamma;
  return { homeHome, homeAway, awayHome, awayAway };
}

/** Pi-ratings per team id; unlike our Elo, no season regression and newcomers at 0, as in the paper. */
export class PiGroup implements FeatureGroup {
  readonly names = piNames();
  /** team → [home rating, away rating]. */
  private readonly ratings = new Map<number, [number, number]>();

  constructor(private readonly p: PiParams) {}

  /** Writes pi_home_at_home, pi_away_at_away, their difference and the expected goal difference ĝ_D. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    const hh = this.ratings.get(m.homeTeam)?.[0] ?? 0;
    const aa = this.ratings.get(m.awayTeam)?.[1] ?? 0;
    out[offset] = hh;
    out[offset + 1] = aa;
    out[offset + 2] = hh - aa;
    out[offset + 3] = piExpectedGoalDiff(hh, aa, this.p.b, this.p.c);
  }

  /** Applies piUpdate to the four ratings involved. */
  update(m: PlayedMatch): void {
    const home = this.ratings.get(m.homeTeam) ?? [0, 0];
    const away = this.ratings.get(m.awayTeam) ?? [0, 0];
    const r = piUpdate(this.p, { homeHome: home[0], homeAway: home[1], awayHome: away[0], awayAway: away[1] }, m.homeGoals - m.awayGoals);
    this.ratings.set(m.homeTeam, [r.homeHome, r.homeAway]);
    this.ratings.set(m.awayTeam, [r.awayHome, r.awayAway]);
  }
}
