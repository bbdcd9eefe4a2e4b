import { describe, expect, it } from 'vitest';
import { lastSeenDates, newcomers, weakestPrior, type FittedCompetition } from '../../src/ml/models/dixon-coles-priors.js';
import type { MatchFact } from '../../src/ml/types.js';

function match(id: number, date: string, homeTeam: number, awayTeam: number): MatchFact {
  return {
    id,
    competition: 'X',
    season: date.slice(0, 4),
    date,
    kickoff: null,
    homeTeam,
    awayTeam,
    homeGoals: 1,
    awayGoals: 0,
    homeShots: null,
    awayShots: null,
    homeShotsOnTarget: null,
    awayShotsOnTarget: null,
    preOdds: null,
    closingOdds: null,
  };
}

/** Weekly rounds of `pairs` from `start` for `weeks` weeks. */
function rounds(start: string, weeks: number, pairs: [number, number][], firstId: number): MatchFact[] {
  const out: MatchFact[] = [];
  for (let w = 0; w < weeks; w++) {
    const date = new Date(Date.parse(start) + w * 7 * 86_400_000).toISOString().slice(0, 10);
    pairs.forEach(([h, a], k) => {
      out.push(match(firstId + w * pairs.length + k, date, w % 2 ? a : h, w % 2 ? h : a));
    });
  }
  return out;
}

describe('newcomers', () => {
  // Season one: teams 1–8; season two: 7 and 8 relegated, 9 and 10 promoted; summer breaks of ~5 months between.
  const one = rounds(
    '2020-08-10',
    30,
    [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ],
    1,
  );
  const two = rounds(
    '2021-08-09',
    30,
    [
      [1, 2],
      [3, 4],
      [5, 6],
      [9, 10],
    ],
    1000,
  );

  it('finds the teams whose spell began within the last year, not those present from the start of the data', () => {
    // Six weeks into season two.
    const early = [...one, ...two.slice(0, 24)];
    expect([...newcomers(early, early.at(-1)!.date)].sort((p, q) => p - q)).toEqual([9, 10]);
    // A year and more later (season two over, a new one begun with the same teams) they are settled.
    const later = [
      ...one,
      ...two,
      ...rounds(
        '2022-08-08',
        2,
        [
          [1, 2],
          [3, 4],
          [5, 6],
          [9, 10],
        ],
        5000,
      ),
    ];
    expect(newcomers(later, later.at(-1)!.date).size).toBe(0);
    // Within the first season everybody is present from the start: nobody is new.
    expect(newcomers(one, one.at(-1)!.date).size).toBe(0);
  });

  it('treats a team back after a season away as new again, and a gap in the whole data as no promotion', () => {
    const three = rounds(
      '2022-08-08',
      4,
      [
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
      ],
      2000,
    );
    const all = [...one, ...two, ...three];
    expect([...newcomers(all, all.at(-1)!.date)].sort((p, q) => p - q)).toEqual([7, 8]);
    // Five seasons missing, then the same league: most teams "new" means missing data; none is treated as promoted.
    const later = rounds(
      '2026-08-10',
      4,
      [
        [1, 2],
        [3, 4],
        [5, 6],
        [9, 10],
      ],
      3000,
    );
    const gap = [...one, ...two, ...later];
    expect(newcomers(gap, gap.at(-1)!.date).size).toBe(0);
  });
});

describe('weakestPrior', () => {
  it('averages the k weakest recent teams, leaving out newcomers and teams not seen for a year', () => {
    const fit: FittedCompetition = {
      teams: [1, 2, 3, 4, 5],
      attack: [0.3, -0.2, -0.4, -0.9, 0.1],
      defence: [0.2, -0.1, -0.3, -0.9, 0.0],
      lastDate: '2021-10-01',
      // Team 4, the weakest of all, last played two years ago; team 3 is a newcomer.
      lastSeen: new Map([
        [1, '2021-10-01'],
        [2, '2021-10-01'],
        [3, '2021-10-01'],
        [4, '2019-10-01'],
        [5, '2021-09-24'],
      ]),
      newcomers: new Set([3]),
    };
    expect(weakestPrior(fit, 2)).toEqual({ attack: (-0.2 + 0.1) / 2, defence: (-0.1 + 0.0) / 2 });
  });

  it("lastSeenDates keeps each team's latest date whatever the order of the matches", () => {
    const seen = lastSeenDates([match(2, '2021-02-01', 1, 2), match(1, '2021-01-01', 2, 3)]);
    expect(Object.fromEntries(seen)).toEqual({ 1: '2021-02-01', 2: '2021-02-01', 3: '2021-01-01' });
  });
});
