import { describe, expect, it } from 'vitest';
import { defineFeatureSet, featureNames, type FeatureSetInput } from '../../src/ml/features/definition.js';
import { computeFeatures } from '../../src/ml/features/engine.js';
import { impliedProbabilities } from '../../src/ml/margins.js';
import type { MatchFact, Prices } from '../../src/ml/types.js';

function fact(
  id: number,
  date: string,
  homeTeam: number,
  awayTeam: number,
  homeGoals: number | null,
  awayGoals: number | null,
  more: Partial<MatchFact> = {},
): MatchFact {
  return {
    id,
    competition: 'T',
    season: '2020-2021',
    date,
    kickoff: null,
    homeTeam,
    awayTeam,
    homeGoals,
    awayGoals,
    homeShots: null,
    awayShots: null,
    homeShotsOnTarget: null,
    awayShotsOnTarget: null,
    preOdds: null,
    closingOdds: null,
    ...more,
  };
}

const shots = (hs: number, as: number, hst: number, ast: number): Partial<MatchFact> => ({
  homeShots: hs,
  awayShots: as,
  homeShotsOnTarget: hst,
  awayShotsOnTarget: ast,
});

/** Features of match `id` as a name → value record, for readable assertions. */
function named(matches: MatchFact[], groups: FeatureSetInput['groups'], id: number): Record<string, number> {
  const def = defineFeatureSet({ name: 't', version: 1, groups });
  const { names, values } = computeFeatures(matches, def);
  expect(names).toEqual(featureNames(def));
  const v = values.get(id)!;
  return Object.fromEntries(names.map((n, i) => [n, v[i]!]));
}

describe('form', () => {
  const m1 = fact(1, '2020-08-01', 1, 2, 2, 1, shots(10, 5, 4, 2));
  const m2 = fact(2, '2020-08-08', 3, 1, 0, 0);
  const m3 = fact(3, '2020-08-15', 1, 3, 1, 3, shots(8, 12, 3, 6));
  const league = [m1, m2, m3];
  const FORM2 = { form: { windows: [2] } };

  it('averages the last N matches over all venues, skipping missing shots', () => {
    const f = named([...league, fact(4, '2020-08-22', 1, 2, null, null)], FORM2, 4);
    // Team 1's last two: 1–3 at home (0 pts, shots 8/12, on target 3/6), 0–0 away (1 pt, no shots).
    expect(f).toMatchObject({
      form2_home_ppg: 0.5,
      form2_home_gf: 0.5,
      form2_home_ga: 1.5,
      form2_home_shots_for: 8,
      form2_home_shots_against: 12,
      form2_home_sot_for: 3,
      form2_home_sot_against: 6,
      form2_home_n: 2,
    });
    // Team 2 has one match: lost 2–1 away with shots 5/10, on target 2/4.
    expect(f).toMatchObject({
      form2_away_ppg: 0,
      form2_away_gf: 1,
      form2_away_ga: 2,
      form2_away_shots_for: 5,
      form2_away_shots_against: 10,
      form2_away_sot_for: 2,
      form2_away_sot_against: 4,
      form2_away_n: 1,
    });
  });

  it('splits by venue: the home side at home, the away side away', () => {
    const f = named([...league, fact(4, '2020-08-22', 1, 2, null, null)], FORM2, 4);
    // Team 1 at home: 2–1 (3 pts) and 1–3 (0 pts). Team 2 away: 1–2.
    expect(f).toMatchObject({ form2_home_at_home_ppg: 1.5, form2_home_at_home_gf: 1.5, form2_home_at_home_ga: 2, form2_home_at_home_n: 2 });
    expect(f).toMatchObject({ form2_away_at_away_ppg: 0, form2_away_at_away_gf: 1, form2_away_at_away_ga: 2, form2_away_at_away_n: 1 });
  });

  it('drops matches that fall out of the window', () => {
    const f = named([...league, fact(4, '2020-08-22', 1, 2, null, null)], { form: { windows: [1] } }, 4);
    expect(f).toMatchObject({ form1_home_ppg: 0, form1_home_gf: 1, form1_home_ga: 3, form1_home_n: 1 });
  });

  it('writes windows in the order given, each as if alone', () => {
    const matches = [...league, fact(4, '2020-08-22', 1, 2, null, null)];
    const both = named(matches, { form: { windows: [2, 1] } }, 4);
    expect(both).toEqual({ ...named(matches, { form: { windows: [2] } }, 4), ...named(matches, { form: { windows: [1] } }, 4) });
    const def = defineFeatureSet({ name: 't', version: 1, groups: { form: { windows: [2, 1] } } });
    expect(featureNames(def)[0]).toBe('form2_home_ppg');
  });

  it('imputes an empty window with the running mean over all team-matches so far (venue-specific for splits)', () => {
    const f = named([...league, fact(4, '2020-08-22', 4, 2, null, null)], FORM2, 4);
    // Six team-matches: points 3,0,1,1,0,3 → 8/6; goals 2,1,0,0,1,3 → 7/6; shots 10,5,8,12 → 8.75; on target 4,2,3,6 → 3.75.
    expect(f.form2_home_ppg).toBeCloseTo(8 / 6, 12);
    expect(f.form2_home_gf).toBeCloseTo(7 / 6, 12);
    expect(f.form2_home_ga).toBeCloseTo(7 / 6, 12);
    expect(f.form2_home_shots_for).toBe(8.75);
    expect(f.form2_home_sot_against).toBe(3.75);
    expect(f.form2_home_n).toBe(0);
    // Home sides so far: points 3,1,0 → 4/3; scored 2,0,1 → 1; conceded 1,0,3 → 4/3.
    expect(f.form2_home_at_home_ppg).toBeCloseTo(4 / 3, 12);
    expect(f.form2_home_at_home_gf).toBe(1);
    expect(f.form2_home_at_home_ga).toBeCloseTo(4 / 3, 12);
  });

  it('imputes shots when the window has matches but none with shots', () => {
    const f = named([m1, m2, fact(4, '2020-08-10', 3, 2, null, null)], { form: { windows: [1] } }, 4);
    // Team 3's only match had no shots; the shots seen so far are 10 and 5.
    expect(f).toMatchObject({ form1_home_ppg: 1, form1_home_n: 1, form1_home_shots_for: 7.5, form1_home_shots_against: 7.5 });
  });

  it('uses the fixed prior before any match', () => {
    const f = named([fact(1, '2020-08-01', 1, 2, 2, 1)], FORM2, 1);
    expect(f).toMatchObject({ form2_home_ppg: 1.37, form2_home_gf: 1.35, form2_home_shots_for: 12.5, form2_home_sot_for: 4.5, form2_home_n: 0 });
  });
});

describe('rest', () => {
  it('counts days since the previous played match, caps it, and uses the cap for a first match', () => {
    const matches = [
      fact(1, '2020-08-01', 1, 2, 1, 0),
      fact(2, '2020-08-08', 1, 3, 1, 0),
      fact(3, '2020-08-09', 2, 4, null, null), // unplayed: does not reset team 2's rest
      fact(4, '2020-08-11', 1, 5, null, null),
      fact(5, '2020-10-01', 2, 1, null, null),
      fact(6, '2020-08-12', 2, 3, null, null),
    ];
    // Team 2 last played on 08-01 (11 days), not on the unplayed 08-09; team 3 on 08-08.
    expect(named(matches, { rest: {} }, 6)).toEqual({ rest_home_days: 11, rest_away_days: 4, rest_diff: 7 });
    expect(named(matches, { rest: {} }, 4)).toEqual({ rest_home_days: 3, rest_away_days: 30, rest_diff: -27 });
    expect(named(matches, { rest: {} }, 5)).toEqual({ rest_home_days: 30, rest_away_days: 30, rest_diff: 0 });
    expect(named(matches, { rest: { capDays: 7 } }, 2)).toEqual({ rest_home_days: 7, rest_away_days: 7, rest_diff: 0 });
    expect(named(matches, { rest: {} }, 2)).toEqual({ rest_home_days: 7, rest_away_days: 30, rest_diff: -23 });
  });
});

describe('head-to-head', () => {
  const meetings = [
    fact(1, '2020-08-01', 1, 2, 2, 0),
    fact(2, '2020-08-08', 2, 1, 1, 1),
    fact(3, '2020-08-15', 2, 1, 3, 1),
    fact(4, '2020-08-22', 1, 2, null, null),
    fact(5, '2020-08-22', 1, 3, null, null),
  ];

  it('averages the last N meetings at either venue from the home side’s point of view', () => {
    // From team 1: +2, 0, −2.
    expect(named(meetings, { h2h: {} }, 4)).toEqual({ h2h_gd_mean: 0, h2h_home_win_share: 1 / 3, h2h_n: 3 });
    expect(named(meetings, { h2h: { window: 2 } }, 4)).toEqual({ h2h_gd_mean: -1, h2h_home_win_share: 0, h2h_n: 2 });
  });

  it('with no meeting, reads gd 0 and the running share of team-matches won', () => {
    // Three matches, two decisive: 2 wins out of 6 team-matches.
    expect(named(meetings, { h2h: {} }, 5)).toEqual({ h2h_gd_mean: 0, h2h_home_win_share: 1 / 3, h2h_n: 0 });
  });
});

describe('market', () => {
  const P1: Prices = [2, 3.5, 4];
  const P2: Prices = [1.5, 4, 7];

  it('turns pre-match prices into Shin probabilities and the overround, ignoring closing prices', () => {
    const f = named([fact(1, '2020-08-01', 1, 2, null, null, { preOdds: P1, closingOdds: [9, 9, 1.1] })], { market: {} }, 1);
    const p = impliedProbabilities(P1, 'shin');
    expect(f.market_p_home).toBe(p[0]);
    expect(f.market_p_draw).toBe(p[1]);
    expect(f.market_p_away).toBe(p[2]);
    expect(f.market_overround).toBeCloseTo(1 / 2 + 1 / 3.5 + 1 / 4 - 1, 12);
    expect(f.market_missing).toBe(0);
  });

  it('adds the market log-odds when asked (market@2), in which a logit reproduces the market exactly', () => {
    const f = named([fact(1, '2020-08-01', 1, 2, null, null, { preOdds: P1 })], { market: { logOdds: true } }, 1);
    const p = impliedProbabilities(P1, 'shin');
    expect(f.market_log_home_away).toBeCloseTo(Math.log(p[0] / p[2]), 12);
    expect(f.market_log_draw_away).toBeCloseTo(Math.log(p[1] / p[2]), 12);
    // softmax(log-odds against away, 0) gives back the probabilities.
    const z = 1 + Math.exp(f.market_log_home_away!) + Math.exp(f.market_log_draw_away!);
    expect(Math.exp(f.market_log_home_away!) / z).toBeCloseTo(p[0], 12);
    const plain = named([fact(1, '2020-08-01', 1, 2, null, null, { preOdds: P1 })], { market: {} }, 1);
    expect(Object.keys(plain)).not.toContain('market_log_home_away');
  });

  it('reads closing prices when asked (closing@1), falling back to pre-match where a match has none', () => {
    const closing: [number, number, number] = [1.8, 3.6, 4.8];
    const both = fact(1, '2020-08-01', 1, 2, null, null, { preOdds: P1, closingOdds: closing });
    const preOnly = fact(2, '2020-08-01', 3, 4, null, null, { preOdds: P1 });
    const prices = { market: { prices: 'closing' as const } };
    expect(named([both, preOnly], prices, 1).market_p_home).toBe(impliedProbabilities(closing, 'shin')[0]);
    expect(named([both, preOnly], prices, 2).market_p_home).toBe(impliedProbabilities(P1, 'shin')[0]);
    // The default stays the pre-match snapshot even when closing prices exist.
    expect(named([both], { market: {} }, 1).market_p_home).toBe(impliedProbabilities(P1, 'shin')[0]);
    expect(() => named([both], { market: { prices: 'opening' as never } }, 1)).toThrow(/prices/);
  });

  it('imputes missing prices with the running mean of earlier dates only, and flags them', () => {
    const matches = [
      fact(1, '2020-08-01', 1, 2, 1, 0, { preOdds: P1 }),
      fact(2, '2020-08-01', 3, 4, 1, 0),
      fact(3, '2020-08-08', 1, 3, 0, 0, { preOdds: P2 }),
      fact(4, '2020-08-08', 2, 4, null, null),
      fact(5, '2020-08-09', 5, 6, null, null, { preOdds: [1.2, 5, 10] }), // unplayed: prices not folded in
      fact(6, '2020-08-10', 2, 1, null, null, { preOdds: [2, 1, 3] }), // a price of 1 is not a price
    ];
    const first = named(matches, { market: { method: 'multiplicative' } }, 2);
    expect(first).toEqual({ market_p_home: 0.45, market_p_draw: 0.27, market_p_away: 0.28, market_overround: 0.05, market_missing: 1 });
    const p1 = impliedProbabilities(P1, 'multiplicative');
    const p2 = impliedProbabilities(P2, 'multiplicative');
    const second = named(matches, { market: { method: 'multiplicative' } }, 4);
    expect(second.market_p_home).toBe(p1[0]); // match 3 shares the date: not seen
    expect(second.market_missing).toBe(1);
    const last = named(matches, { market: { method: 'multiplicative' } }, 6);
    expect(last.market_p_draw).toBeCloseTo((p1[1] + p2[1]) / 2, 12);
    expect(last.market_missing).toBe(1);
  });

  it('falls back to multiplicative normalisation when Shin has no solution (a book under 100%)', () => {
    const under: Prices = [2.2, 3.8, 4.2];
    const f = named([fact(1, '2020-08-01', 1, 2, null, null, { preOdds: under })], { market: {} }, 1);
    expect(f.market_p_home).toBeCloseTo(impliedProbabilities(under, 'multiplicative')[0], 12);
    expect(f.market_overround).toBeLessThan(0);
    expect(f.market_missing).toBe(0);
  });
});
