import { describe, expect, it } from 'vitest';
import { defineFeatureSet } from '../../src/ml/features/definition.js';
import { computeFeatures } from '../../src/ml/features/engine.js';
import { seasonsElapsed } from '../../src/ml/features/shot-ratings.js';
import type { MatchFact } from '../../src/ml/types.js';

/** A match of competition T, season 2020-2021, with shots on target and shots given as [home, away] or null. */
function fact(
  id: number,
  date: string,
  homeTeam: number,
  awayTeam: number,
  sot: [number, number] | null,
  shots: [number, number] | null,
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
    homeGoals: 1,
    awayGoals: 1,
    homeShots: shots?.[0] ?? null,
    awayShots: shots?.[1] ?? null,
    homeShotsOnTarget: sot?.[0] ?? null,
    awayShotsOnTarget: sot?.[1] ?? null,
    preOdds: null,
    closingOdds: null,
    ...more,
  };
}

// The defaults are core@2's parameters: shots on target then shots, step 0.08, base step 0.01, shrink 0.25, newcomers −0.1.
const SHOTS = defineFeatureSet({ name: 'shots', version: 1, groups: { shotRatings: {} } });

/** The vector of one match (the last one by default), as a plain array. */
function featuresOf(matches: MatchFact[], id = matches[matches.length - 1]!.id, def = SHOTS): number[] {
  return [...computeFeatures(matches, def).values.get(id)!];
}

/**
 * Expected [sot home, sot away, log ratio, shots home, shots away, log ratio] from the match's exponents: the
 * expectations are the initial bases (5 and 4 on target, 14 and 11 shots) times exp(exponent).
 */
function expected(sotHome: number, sotAway: number, shotsHome: number, shotsAway: number): number[] {
  const [sh, sa, th, ta] = [5 * Math.exp(sotHome), 4 * Math.exp(sotAway), 14 * Math.exp(shotsHome), 11 * Math.exp(shotsAway)];
  return [sh, sa, Math.log(sh / sa), th, ta, Math.log(th / ta)];
}

function expectClose(actual: number[], wanted: number[]): void {
  expect(actual).toHaveLength(wanted.length);
  actual.forEach((v, i) => {
    expect(v, `column ${i}`).toBeCloseTo(wanted[i]!, 12);
  });
}

// Match 1: team 1 hosts team 2, 7–2 on target and 20–8 shots. Before it every strength is −0.1, so
// λ = 5, 4 on target and 14, 11 shots. Residuals on target: (7 − 5)/5 = 0.4 home, (2 − 4)/4 = −0.5 away, so
// team 1: attack −0.1 + 0.08·0.4 = −0.068, defence −0.1 + 0.08·0.5 = −0.06;
// team 2: attack −0.1 − 0.08·0.5 = −0.14,  defence −0.1 − 0.08·0.4 = −0.132;
// base: μ_H = log 5 + 0.01·0.4 = log 5 + 0.004, μ_A = log 4 − 0.005.
// Shots: residuals 6/14 = 3/7 and −3/11; team 1 attack −0.1 + 0.24/7, defence −0.1 + 0.24/11; team 2 attack
// −0.1 − 0.24/11, defence −0.1 − 0.24/7; μ_H = log 14 + 0.03/7, μ_A = log 11 − 0.03/11.
const m1 = fact(1, '2020-08-01', 1, 2, [7, 2], [20, 8]);

describe('shot ratings by hand', () => {
  it('starts two never-seen teams at the initial bases: 5 v 4 on target, 14 v 11 shots', () => {
    expectClose(featuresOf([m1]), expected(0, 0, 0, 0));
    expect(featuresOf([m1]).slice(0, 2)).toEqual([5, 4]);
  });

  it('moves attack, defence and the base by one natural-gradient step after a match', () => {
    const f = featuresOf([m1, fact(2, '2020-08-08', 2, 1, null, null)]);
    // Team 2 hosts team 1. On target: μ_H + a_2 − d_1 = log 5 + 0.004 − 0.14 + 0.06 = log 5 − 0.076 (4.634081);
    // μ_A + a_1 − d_2 = log 4 − 0.005 − 0.068 + 0.132 = log 4 + 0.059 (4.243101).
    // Shots: 0.03/7 + (−0.1 − 0.24/11) − (−0.1 + 0.24/11) = 0.03/7 − 0.48/11 (13.459789);
    // −0.03/11 + (−0.1 + 0.24/7) − (−0.1 − 0.24/7) = −0.03/11 + 0.48/7 (11.748663).
    expectClose(f, expected(-0.076, 0.059, 0.03 / 7 - 0.48 / 11, -0.03 / 11 + 0.48 / 7));
    expect(f[0]).toBeCloseTo(4.634081, 6);
    expect(f[1]).toBeCloseTo(4.243101, 6);
    expect(f[3]).toBeCloseTo(13.459789, 6);
    expect(f[4]).toBeCloseTo(11.748663, 6);
  });

  it('starts a never-seen team at −0.1 attack and defence, against the updated base', () => {
    const f = featuresOf([m1, fact(2, '2020-08-08', 3, 1, null, null)]);
    // Team 3 hosts team 1 on target: log 5 + 0.004 − 0.1 + 0.06 = log 5 − 0.036; log 4 − 0.005 − 0.068 + 0.1 = log 4 + 0.027.
    expect(f[0]).toBeCloseTo(5 * Math.exp(-0.036), 12);
    expect(f[1]).toBeCloseTo(4 * Math.exp(0.027), 12);
  });

  it('a newcomer strength of 0 makes a newcomer average at both ends', () => {
    const zero = defineFeatureSet({ name: 'shots', version: 1, groups: { shotRatings: { newcomerStrength: 0 } } });
    const f = featuresOf([m1, fact(2, '2020-08-08', 3, 4, null, null)], 2, zero);
    // Two newcomers meet: only the base moved (+0.004, −0.005 on target).
    expect(f[0]).toBeCloseTo(5 * Math.exp(0.004), 12);
    expect(f[1]).toBeCloseTo(4 * Math.exp(-0.005), 12);
  });

  it('shrinks strengths 25% toward 0 per season elapsed, but not the base', () => {
    const next = featuresOf([m1, fact(2, '2021-08-07', 2, 1, null, null, { season: '2021-2022' })]);
    // × 0.75: a_2 − d_1 = (−0.14 + 0.06)·0.75 = −0.06; a_1 − d_2 = (−0.068 + 0.132)·0.75 = 0.048.
    expect(next[0]).toBeCloseTo(5 * Math.exp(0.004 - 0.06), 12);
    expect(next[1]).toBeCloseTo(4 * Math.exp(-0.005 + 0.048), 12);
    const skipped = featuresOf([m1, fact(2, '2022-08-06', 2, 1, null, null, { season: '2022-2023' })]);
    // Two seasons: × 0.75² = 0.5625, so −0.08·0.5625 = −0.045 and 0.064·0.5625 = 0.036.
    expect(skipped[0]).toBeCloseTo(5 * Math.exp(0.004 - 0.045), 12);
    expect(skipped[1]).toBeCloseTo(4 * Math.exp(-0.005 + 0.036), 12);
  });

  it('shrinks once per season change, not again at every match of the new season', () => {
    const s2 = { season: '2021-2022' };
    // Counts equal to the (shrunk) expectations give residuals of 0, so the match leaves every strength where the
    // shrink put it; shrinking again at the next match would read log 5 + 0.004 − 0.08·0.5625 instead.
    const [home, away] = [5 * Math.exp(0.004 - 0.06), 4 * Math.exp(-0.005 + 0.048)];
    const atExpectation = fact(2, '2021-08-07', 2, 1, null, null, { ...s2, homeShotsOnTarget: home, awayShotsOnTarget: away });
    const f = featuresOf([m1, atExpectation, fact(3, '2021-08-14', 2, 1, null, null, s2)]);
    expect(f[0]).toBeCloseTo(home, 12);
    expect(f[1]).toBeCloseTo(away, 12);
  });

  it('reads a season with no leading year as one season later', () => {
    expect(seasonsElapsed('2020-2021', '2020-2021')).toBe(0);
    expect(seasonsElapsed('2020-2021', '2021-2022')).toBe(1);
    expect(seasonsElapsed('2018-2019', '2021-2022')).toBe(3);
    expect(seasonsElapsed('2020-2021', 'spring')).toBe(1);
    expect(seasonsElapsed('2021-2022', '2020-2021')).toBe(1);
  });
});

describe('shot ratings with missing statistics', () => {
  it('a match without shots moves nothing, and the next match still gets the current expectations', () => {
    const f = featuresOf([fact(1, '2020-08-01', 1, 2, null, null), fact(2, '2020-08-08', 2, 1, null, null)]);
    expectClose(f, expected(0, 0, 0, 0));
  });

  it('a match with only one side of a count does not update that count', () => {
    const half = fact(1, '2020-08-01', 1, 2, null, [20, 8], { homeShotsOnTarget: 7 });
    const f = featuresOf([half, fact(2, '2020-08-08', 2, 1, null, null)]);
    // On target untouched; shots moved exactly as after m1.
    expectClose(f, expected(0, 0, 0.03 / 7 - 0.48 / 11, -0.03 / 11 + 0.48 / 7));
  });

  it('updates each count on its own: shots on target without total shots', () => {
    const f = featuresOf([fact(1, '2020-08-01', 1, 2, [7, 2], null), fact(2, '2020-08-08', 2, 1, null, null)]);
    expectClose(f, expected(-0.076, 0.059, 0, 0));
  });

  it('an unplayed match (no goals) never updates, even with counts filled in', () => {
    const unplayed = { ...m1, homeGoals: null, awayGoals: null };
    expectClose(featuresOf([unplayed, fact(2, '2020-08-08', 2, 1, null, null)]), expected(0, 0, 0, 0));
  });
});

describe('shot ratings see no look-ahead', () => {
  it("changing a later or same-date match's counts leaves an earlier match's features alone", () => {
    const later = [fact(2, '2020-08-08', 2, 1, null, null), fact(3, '2020-08-08', 3, 4, [9, 1], [25, 3]), fact(4, '2020-08-15', 1, 3, [1, 1], [5, 5])];
    const before = featuresOf([m1, ...later], 2);
    const changed = later.map((m) => (m.id === 2 ? m : { ...m, homeShotsOnTarget: 0, awayShotsOnTarget: 12, homeShots: 2, awayShots: 30 }));
    expect(featuresOf([m1, ...changed], 2)).toEqual(before);
    // And its own counts do not feed its own features.
    expect(featuresOf([m1, { ...later[0]!, homeShotsOnTarget: 10, awayShotsOnTarget: 0, homeShots: 30, awayShots: 1 }], 2)).toEqual(before);
  });

  it('keeps the base per competition', () => {
    const other = fact(2, '2020-08-08', 3, 4, null, null, { competition: 'U' });
    expectClose(featuresOf([m1, other]), expected(0, 0, 0, 0));
  });
});
