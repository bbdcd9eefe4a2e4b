/** Parameters of each feature group, with their defaults; plain data so a definition round-trips through JSON. */
import type { MarginMethod } from '../margins.js';

/** How the goal margin scales the Elo K factor. */
export type EloMarginRule = 'none' | 'world-football';

/** Elo ratings per team id (shared across competitions), on the classic 400-point logistic scale. */
export interface EloParams {
  /** K factor: rating points exchanged per unit of surprise. */
  k: number;
  /** Rating points added to the home side when computing expectations. */
  homeAdvantage: number;
  /** Rating of every team in a competition's first season (when there is no previous season to average). */
  initialRating: number;
  /** A never-seen team starts this many points below the league mean of the previous season (newcomers are usually weaker). */
  newcomerOffset: number;
  /** Fraction of the gap to the league mean closed at a team's first match of a new season, in [0, 1]. */
  seasonRegression: number;
  /** 'world-football': K·G with G = 1 for margins 0–1, 1.5 for 2, (11 + N)/8 for N ≥ 3 (eloratings.net); 'none': G = 1. */
  marginRule: EloMarginRule;
}

/** Pi-ratings (Constantinou & Fenton 2013); the defaults are the paper's values, fitted on the English Premier League. */
export interface PiParams {
  /** λ: learning rate of the venue the match was played at. */
  lambda: number;
  /** γ: share of that change passed on to the other venue's rating. */
  gamma: number;
  /** b: base of the rating → goal-difference transform. */
  b: number;
  /** c: scale of that transform and of the error weighting. */
  c: number;
}

/** Rolling form over each team's last N played matches. */
export interface FormParams {
  /** Window lengths, in output order; each an integer in [1, 100], no repeats. */
  windows: readonly number[];
  /** Add shots and shots on target for/against (missing values skipped). */
  shots: boolean;
  /** Add the home side's home-only and the away side's away-only form. */
  venueSplit: boolean;
}

/** Days since each team's previous played match. */
export interface RestParams {
  /** Upper bound in days, also used for a team's first match; an integer ≥ 1. */
  capDays: number;
}

/** Head-to-head record of the two teams. */
export interface H2hParams {
  /** Number of most recent meetings (either venue) looked at; an integer in [1, 100]. */
  window: number;
}

/** Pre-match market prices turned into probabilities. */
export interface MarketParams {
  /** Margin-removal method passed to impliedProbabilities. */
  method: MarginMethod;
  /**
   * Also write log(p_home/p_away) and log(p_draw/p_away): in that space a multinomial logit can reproduce the market
   * exactly (softmax of log-probabilities), which it cannot from raw probabilities. Optional, not defaulted, so
   * definitions written before it existed keep their hash.
   */
  logOdds?: boolean;
  /**
   * Which prices: 'pre-match' (the default, the snapshot taken when the file was written: Friday afternoon for weekend
   * games, Tuesday for midweek) or 'closing' (the last prices before kick-off where the file has them, else
   * pre-match). Closing prices carry the team news of the last days, so a set using them forecasts at kick-off only.
   * Optional, not defaulted, for the same reason as logOdds.
   */
  prices?: 'pre-match' | 'closing';
}

/** The per-match counts a shot rating can be kept on: MatchFact's home/awayShotsOnTarget and home/awayShots. */
export const SHOT_STATS = ['shotsOnTarget', 'shots'] as const;

/** One of SHOT_STATS. */
export type ShotStat = (typeof SHOT_STATS)[number];

/**
 * Opponent-adjusted attack and defence strengths on shot counts: the expected count of a side is
 * exp(competition base for its venue + its attack − the opponent's defence).
 */
export interface ShotRatingParams {
  /** The counts rated, in output order; non-empty, no repeats. */
  stats: readonly ShotStat[];
  /** Learning rate: after a match, attack and defence move by step · (observed − expected) / expected. */
  step: number;
  /** Learning rate of each competition's log base per venue, on the same relative residual. */
  baseStep: number;
  /** Fraction of a team's strengths (toward 0) removed per season elapsed since its last rated match, in [0, 1]. */
  seasonShrink: number;
  /** Attack and defence of a never-seen team (negative: newcomers are usually weaker at both ends). */
  newcomerStrength: number;
}

/** The groups a feature set may contain; an absent group contributes no features. */
export interface FeatureGroups {
  elo?: EloParams;
  pi?: PiParams;
  form?: FormParams;
  rest?: RestParams;
  h2h?: H2hParams;
  shotRatings?: ShotRatingParams;
  market?: MarketParams;
}

/**
 * The group keys in the fixed order their features appear in a vector, whatever order an object lists them in.
 * New groups go before market, so sets that end in market keep their vectors.
 */
export const GROUP_ORDER = ['elo', 'pi', 'form', 'rest', 'h2h', 'shotRatings', 'market'] as const;

/** One of GROUP_ORDER. */
export type GroupName = (typeof GROUP_ORDER)[number];

/** Elo defaults: K = 20 and 65 points of home advantage are common club-football choices (clubelo.com, 538-style). */
export const DEFAULT_ELO: Readonly<EloParams> = Object.freeze({
  k: 20,
  homeAdvantage: 65,
  initialRating: 1500,
  newcomerOffset: 100,
  seasonRegression: 0.2,
  marginRule: 'world-football',
});

/** The paper's parameters: λ = 0.035, γ = 0.7, b = 10, c = 3. */
export const DEFAULT_PI: Readonly<PiParams> = Object.freeze({ lambda: 0.035, gamma: 0.7, b: 10, c: 3 });

/** Form over the last 5 and 10 matches, with shots and venue splits. */
export const DEFAULT_FORM: Readonly<FormParams> = Object.freeze({ windows: Object.freeze([5, 10]), shots: true, venueSplit: true });

/** A month: beyond that, rest no longer tells fatigue apart (summer and winter breaks all read "rested"). */
export const DEFAULT_REST: Readonly<RestParams> = Object.freeze({ capDays: 30 });

/** The last 5 meetings: older ones mostly involve other squads. */
export const DEFAULT_H2H: Readonly<H2hParams> = Object.freeze({ window: 5 });

/** Shots on target and total shots, the configuration the walk-forward exploration picked (core@2). */
export const DEFAULT_SHOT_RATINGS: Readonly<ShotRatingParams> = Object.freeze({
  stats: Object.freeze(['shotsOnTarget', 'shots'] as const),
  step: 0.08,
  baseStep: 0.01,
  seasonShrink: 0.25,
  newcomerStrength: -0.1,
});

/** Shin's method: it corrects the favourite–longshot bias that multiplicative normalisation leaves in. */
export const DEFAULT_MARKET: Readonly<MarketParams> = Object.freeze({ method: 'shin' });
