/** Feature names per group, in the exact order each group writes its values; kept apart so names need no group code. */
import type { FormParams, ShotRatingParams, ShotStat } from './params.js';

/** Elo: both pre-match ratings, the difference including home advantage, and the home side's expected score. */
export function eloNames(): string[] {
  return ['elo_home', 'elo_away', 'elo_diff', 'elo_expected_home'];
}

/** Pi-ratings: the home side's home rating, the away side's away rating, their difference and the expected goal difference. */
export function piNames(): string[] {
  return ['pi_home_at_home', 'pi_away_at_away', 'pi_diff', 'pi_expected_gd'];
}

/** Per-match quantities averaged over a form window, with the shot columns only when params.shots is set. */
export function formSideStats(shots: boolean): string[] {
  const base = ['ppg', 'gf', 'ga'];
  return shots ? [...base, 'shots_for', 'shots_against', 'sot_for', 'sot_against'] : base;
}

/** Form: per window, each side over all venues, then (venueSplit) the home side at home and the away side away. */
export function formNames(params: FormParams): string[] {
  const names: string[] = [];
  const stats = formSideStats(params.shots);
  for (const n of params.windows) {
    for (const side of ['home', 'away']) {
      for (const s of stats) names.push(`form${n}_${side}_${s}`);
      names.push(`form${n}_${side}_n`);
    }
    if (params.venueSplit) {
      // Venue splits carry no shot columns: half the matches per window make those averages too noisy to earn a column.
      for (const side of ['home_at_home', 'away_at_away']) {
        for (const s of ['ppg', 'gf', 'ga', 'n']) names.push(`form${n}_${side}_${s}`);
      }
    }
  }
  return names;
}

/** Rest: days since each side's previous match (capped) and home minus away. */
export function restNames(): string[] {
  return ['rest_home_days', 'rest_away_days', 'rest_diff'];
}

/** Head-to-head over the last meetings at either venue, from the home side's point of view. */
export function h2hNames(): string[] {
  return ['h2h_gd_mean', 'h2h_home_win_share', 'h2h_n'];
}

/** The column prefix of each rated shot count. */
const SHOT_STAT_PREFIX: Readonly<Record<ShotStat, string>> = Object.freeze({ shotsOnTarget: 'sot', shots: 'shots' });

/** Shot ratings: per rated count, both sides' expected counts and log(home expected / away expected). */
export function shotRatingNames(params: ShotRatingParams): string[] {
  return params.stats.flatMap((stat) => {
    const prefix = SHOT_STAT_PREFIX[stat];
    return [`${prefix}_expected_home`, `${prefix}_expected_away`, `${prefix}_expected_log_ratio`];
  });
}

/** Market: margin-free pre-match probabilities, the overround, and whether they were imputed. */
export function marketNames(logOdds = false): string[] {
  const names = ['market_p_home', 'market_p_draw', 'market_p_away', 'market_overround', 'market_missing'];
  return logOdds ? [...names, 'market_log_home_away', 'market_log_draw_away'] : names;
}
