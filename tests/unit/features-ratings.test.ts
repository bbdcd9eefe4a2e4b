import { describe, expect, it } from 'vitest';
import { defineFeatureSet } from '../../src/ml/features/definition.js';
import { eloDelta, eloExpected, eloMarginMultiplier } from '../../src/ml/features/elo.js';
import { computeFeatures } from '../../src/ml/features/engine.js';
import { DEFAULT_ELO, DEFAULT_PI } from '../../src/ml/features/params.js';
import { piExpectedGoalDiff, piExpectedGoals, piUpdate } from '../../src/ml/features/pi.js';
import type { MatchFact } from '../../src/ml/types.js';

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

const ELO = defineFeatureSet({ name: 'elo', version: 1, groups: { elo: {} } }); // k 20, home advantage 65
const PI = defineFeatureSet({ name: 'pi', version: 1, groups: { pi: {} } }); // λ 0.035, γ 0.7, b 10, c 3

/** The vector of one match, as a plain array for toEqual/closeTo. */
function featuresOf(matches: MatchFact[], def = ELO, id = matches[matches.length - 1]!.id): number[] {
  return [...computeFeatures(matches, def).values.get(id)!];
}

describe('Elo arithmetic', () => {
  it('expected score and the World Football margin multiplier', () => {
    expect(eloExpected(0)).toBe(0.5);
    expect(eloExpected(400)).toBeCloseTo(10 / 11, 12);
    expect([0, 1, 2, 3, 4, 6].map((n) => eloMarginMultiplier('world-football', n))).toEqual([1, 1, 1.5, 14 / 8, 15 / 8, 17 / 8]);
    expect(eloMarginMultiplier('none', 5)).toBe(1);
  });

  it('updates by K·G·(W − E) after a 2–0 home win between two 1500 teams', () => {
    // E = 1/(1 + 10^(−65/400)) = 1/(1 + 0.687850) = 0.592466; G(2) = 1.5; Δ = 20·1.5·(1 − 0.592466) = 12.226013.
    expect(eloDelta(DEFAULT_ELO, 1500, 1500, 2, 0)).toBeCloseTo(12.226013, 6);
    const m1 = fact(1, '2020-08-01', 1, 2, 2, 0);
    expect(featuresOf([m1])).toEqual([1500, 1500, 65, eloExpected(65)]);
    expect(eloExpected(65)).toBeCloseTo(0.592466, 6);
    // Return fixture: home 2 = 1487.773987, away 1 = 1512.226013, diff = 1487.773987 + 65 − 1512.226013 = 40.547974.
    const f = featuresOf([m1, fact(2, '2020-08-08', 2, 1, null, null)]);
    expect(f[0]).toBeCloseTo(1487.773987, 6);
    expect(f[1]).toBeCloseTo(1512.226013, 6);
    expect(f[2]).toBeCloseTo(40.547974, 6);
    expect(f[3]).toBeCloseTo(eloExpected(40.547974), 9);
  });

  it('draws and upsets: a 1–1 moves the home favourite down, a 0–3 uses G = 14/8', () => {
    // 1–1 between equals: W = ½, Δ = 20·1·(0.5 − 0.592466) = −1.849325.
    expect(eloDelta(DEFAULT_ELO, 1500, 1500, 1, 1)).toBeCloseTo(-1.849325, 6);
    // 0–3: Δ = 20·1.75·(0 − 0.592466) = −20.736318.
    expect(eloDelta(DEFAULT_ELO, 1500, 1500, 0, 3)).toBeCloseTo(-20.736318, 6);
  });

  it('a match sees no result of its own date, even when the same teams play twice that day', () => {
    const f = featuresOf([fact(1, '2020-08-01', 1, 2, 5, 0), fact(2, '2020-08-01', 2, 1, null, null)]);
    expect(f.slice(0, 2)).toEqual([1500, 1500]);
  });
});

describe('Elo seasons', () => {
  // Season 1: 1 beats 2 (2–0), 3 and 4 draw. Ratings: 1 = 1512.226013, 2 = 1487.773987, 3 = 1498.150675,
  // 4 = 1501.849325 (the draw moves the home side down 1.849325); the mean of the four is exactly 1500.
  const season1 = [fact(1, '2020-08-01', 1, 2, 2, 0), fact(2, '2020-08-01', 3, 4, 1, 1)];

  it('regresses a returning team 20% toward the previous season mean at its first match of the new season', () => {
    const next = fact(3, '2021-08-07', 1, 3, null, null, { season: '2021-2022' });
    const f = featuresOf([...season1, next]);
    // 1: 1512.226013 + 0.2·(1500 − 1512.226013) = 1509.780810; 3: 1498.150675 + 0.2·(1500 − 1498.150675) = 1498.520540.
    expect(f[0]).toBeCloseTo(1509.78081, 5);
    expect(f[1]).toBeCloseTo(1498.52054, 5);
  });

  it('starts a never-seen team 100 below the previous season mean, but at 1500 in the first season', () => {
    const first = featuresOf([fact(1, '2020-08-01', 1, 2, 2, 0), fact(2, '2020-08-08', 9, 1, null, null)]);
    expect(first[0]).toBe(1500);
    const promoted = featuresOf([...season1, fact(3, '2021-08-07', 9, 2, null, null, { season: '2021-2022' })]);
    expect(promoted[0]).toBe(1400);
  });

  it('treats a gap of several seasons as one season change', () => {
    const gap = featuresOf([...season1, fact(3, '2026-08-07', 1, 3, null, null, { season: '2026-2027' })]);
    const adjacent = featuresOf([...season1, fact(3, '2021-08-07', 1, 3, null, null, { season: '2021-2022' })]);
    expect(gap.slice(0, 2)).toEqual(adjacent.slice(0, 2));
  });

  it('regresses once: the second match of the new season builds on the regressed rating', () => {
    const s2 = { season: '2021-2022' };
    const f = featuresOf([...season1, fact(3, '2021-08-07', 1, 3, 0, 0, s2), fact(4, '2021-08-14', 1, 4, null, null, s2)]);
    // Pre-match 1509.780810 vs 1498.520540, 0–0: Δ = 20·(0.5 − E(1509.780810 + 65 − 1498.520540)).
    const delta = 20 * (0.5 - eloExpected(1509.78081 + 65 - 1498.52054));
    expect(f[0]).toBeCloseTo(1509.78081 + delta, 4);
  });

  it('carries a rating across competitions within a season, without regressing it', () => {
    const cup = fact(3, '2020-09-01', 2, 1, null, null, { competition: 'CUP' });
    const f = featuresOf([...season1, cup]);
    expect(f[0]).toBeCloseTo(1487.773987, 6);
    expect(f[1]).toBeCloseTo(1512.226013, 6);
  });

  it('uses the mean of the previous season even when a promoted team joins later in the season', () => {
    const s2 = { season: '2021-2022' };
    const f = featuresOf([...season1, fact(3, '2021-08-07', 1, 2, 3, 0, s2), fact(4, '2021-08-14', 9, 1, null, null, s2)]);
    // The snapshot was taken on 2021-08-07, before 1's 3–0 win moved the ratings.
    expect(f[0]).toBe(1400);
  });
});

describe('pi-ratings arithmetic (Constantinou & Fenton 2013, λ = 0.035, γ = 0.7, b = 10, c = 3)', () => {
  it('maps a rating to an expected goal difference with b^(|R|/c) − 1, signed', () => {
    expect(piExpectedGoals(0, 10, 3)).toBe(0);
    expect(piExpectedGoals(3, 10, 3)).toBeCloseTo(9, 12);
    expect(piExpectedGoals(-3, 10, 3)).toBeCloseTo(-9, 12);
    expect(piExpectedGoalDiff(3, -3, 10, 3)).toBeCloseTo(18, 12);
  });

  it('updates four ratings after a 2–0 between fresh teams', () => {
    // ĝ_D = 0, e = 2, ψ(e) = 3·log10(3) = 1.431364; ψ_H = +1.431364, ψ_A = −1.431364.
    // R_AH = 0 + 1.431364·0.035 = 0.050098; R_AA = 0 + 0.050098·0.7 = 0.035068; away team mirrored.
    const r = piUpdate(DEFAULT_PI, { homeHome: 0, homeAway: 0, awayHome: 0, awayAway: 0 }, 2);
    expect(r.homeHome).toBeCloseTo(0.0500977, 7);
    expect(r.homeAway).toBeCloseTo(0.0350684, 7);
    expect(r.awayAway).toBeCloseTo(-0.0500977, 7);
    expect(r.awayHome).toBeCloseTo(-0.0350684, 7);
  });

  it('follows the same arithmetic through the engine over three fixtures', () => {
    const a = 1;
    const b = 2;
    const m1 = fact(1, '2020-08-01', a, b, 2, 0);
    const m2 = fact(2, '2020-08-08', b, a, 1, 1);
    const m3 = fact(3, '2020-08-15', a, b, null, null);
    // m2: B's home rating −0.035068 vs A's away rating 0.035068. ĝ_B = −(10^(0.035068/3) − 1) = −0.027282,
    // ĝ_A = +0.027282, ĝ_D = −0.054563.
    const f2 = featuresOf([m1, m2, m3], PI, 2);
    expect(f2[0]).toBeCloseTo(-0.0350684, 7);
    expect(f2[1]).toBeCloseTo(0.0350684, 7);
    expect(f2[2]).toBeCloseTo(-0.0701368, 7);
    expect(f2[3]).toBeCloseTo(-0.054563, 6);
    // m2 ends 1–1: e = |0 − (−0.054563)| = 0.054563, ψ = 3·log10(1.054563) = 0.069218; the draw beat expectation
    // for home side B: R_BH = −0.035068 + 0.069218·0.035 = −0.032646, R_BA = −0.050098 + 0.002423·0.7 = −0.048402;
    // A: R_AA = 0.035068 − 0.002423 = 0.032646, R_AH = 0.050098 − 0.001696 = 0.048402.
    const f3 = featuresOf([m1, m2, m3], PI, 3);
    expect(f3[0]).toBeCloseTo(0.0484019, 7);
    expect(f3[1]).toBeCloseTo(-0.0484019, 7);
    expect(f3[2]).toBeCloseTo(0.0968038, 7);
    expect(f3[3]).toBeCloseTo(2 * (10 ** (0.0484019 / 3) - 1), 7);
  });

  it('a result exactly as expected changes nothing', () => {
    const r = { homeHome: 0.3, homeAway: 0.1, awayHome: 0.2, awayAway: -0.1 };
    const gd = piExpectedGoalDiff(0.3, -0.1, 10, 3);
    expect(piUpdate(DEFAULT_PI, r, gd)).toEqual(r);
  });
});
