// The online feature state against the offline forward pass (computeFeatures), on seeded synthetic leagues: a coming
// match's online vector, read as of its kick-off from a state fed results date by date, must be the stored one.
import { describe, expect, it } from 'vitest';
import { computeFeatures } from '../../src/ml/features/engine.js';
import { BeforeFrontier, OnlineFeatures } from '../../src/ml/features/online.js';
import { FEATURE_SETS } from '../../src/ml/features/registry.js';
import { syntheticMatches } from '../../src/ml/features/synthetic.js';
import type { MatchFact } from '../../src/ml/types.js';

/** The match as a fixture list shows it before kick-off: no result, no statistics, no closing prices. */
function asScheduled(m: MatchFact): MatchFact {
  return { ...m, homeGoals: null, awayGoals: null, homeShots: null, awayShots: null, homeShotsOnTarget: null, awayShotsOnTarget: null };
}

function expectSameBytes(a: Float64Array, b: Float64Array, label: string): void {
  const same = Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  if (!same) expect.fail(`${label}: online ${Array.from(a).join(',')} vs offline ${Array.from(b).join(',')}`);
}

const options = {
  competitions: 2,
  teamsPerCompetition: 6,
  seasons: 4,
  newcomersPerSeason: 2,
  seasonGapShare: 0.25,
  unplayedShare: 0.05,
  oddsMissingShare: 0.25,
  shotsMissingShare: 0.3,
};

describe.each(Object.keys(FEATURE_SETS))('online state of %s', (ref) => {
  const def = FEATURE_SETS[ref]!;
  const closing = def.groups.market?.prices === 'closing';

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: fed results date by date, every coming match reads its offline vector to the byte`, () => {
      const matches = syntheticMatches({ seed, ...options });
      const offline = computeFeatures(matches, def);
      const dates = [...new Set(matches.map((m) => m.date))].sort();
      const cut = dates[Math.floor(dates.length / 3)]!;
      const online = OnlineFeatures.replay(
        matches.filter((m) => m.date < cut),
        def,
      );
      let checked = 0;
      for (const date of dates.filter((d) => d >= cut)) {
        const today = matches.filter((m) => m.date === date);
        for (const m of today) {
          // Closing prices are part of a closing set's features (known at kick-off); a fixture list lacks them otherwise.
          const scheduled = closing ? { ...asScheduled(m), closingOdds: m.closingOdds } : { ...asScheduled(m), closingOdds: null };
          expectSameBytes(online.vector(scheduled), offline.values.get(m.id)!, `match ${m.id} on ${date}`);
          checked++;
        }
        online.advance(today);
      }
      expect(checked).toBeGreaterThan(100);
    });
  }

  it('a replay of everything equals a state fed the same matches in chunks, in any order', () => {
    const matches = syntheticMatches({ seed: 7, ...options });
    const dates = [...new Set(matches.map((m) => m.date))].sort();
    const whole = OnlineFeatures.replay(matches, def);
    const fed = OnlineFeatures.replay([], def);
    for (let i = 0; i < dates.length; i += 9) {
      const chunk = matches.filter((m) => m.date >= dates[i]! && m.date < (dates[i + 9] ?? '9999-12-31'));
      fed.advance(chunk.reverse());
    }
    expect(fed.frontier).toBe(whole.frontier);
    expect(fed.results).toBe(whole.results);
    const probe = { ...asScheduled(matches[matches.length - 1]!), id: -1, date: '2999-01-01', season: '2998-2999' };
    expectSameBytes(fed.vector(probe), whole.vector(probe), 'probe after the last date');
  });
});

describe('online state bounds', () => {
  const def = FEATURE_SETS['core@1']!;
  const matches = syntheticMatches({ seed: 3, ...options });
  const online = OnlineFeatures.replay(matches, def);

  it('refuses a lookup at or before its frontier, and asOf answers it as the offline pass did', () => {
    const frontier = online.frontier!;
    const last = matches.filter((m) => m.date === frontier && m.homeGoals !== null)[0]!;
    expect(() => online.vector(asScheduled(last))).toThrow(BeforeFrontier);
    const offline = computeFeatures(matches, def);
    const past = OnlineFeatures.asOf(matches, def, last.date);
    expectSameBytes(past.vector(asScheduled(last)), offline.values.get(last.id)!, `match ${last.id} as of ${last.date}`);
  });

  it('refuses results dated at or before the frontier and keeps its state', () => {
    const before = online.results;
    const old = matches.find((m) => m.homeGoals !== null)!;
    expect(() => online.advance([{ ...old, id: 999_999 }])).toThrow(/not after the latest result/);
    expect(online.results).toBe(before);
  });

  it('reading a coming match leaves the state as it was (a forecast changes nothing later matches see)', () => {
    const fresh = OnlineFeatures.replay(
      matches.filter((m) => m.season !== matches[matches.length - 1]!.season),
      def,
    );
    const next = matches.find((m) => m.date > fresh.frontier!)!;
    const first = fresh.vector(asScheduled(next));
    for (let i = 0; i < 3; i++) fresh.vector({ ...asScheduled(next), id: -i - 2, date: '2999-06-01', season: '2998-2999' });
    expectSameBytes(fresh.vector(asScheduled(next)), first, 'after unrelated reads');
  });
});
