import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { featureNames, type FeatureSetDefinition } from '../../src/ml/features/definition.js';
import { computeFeatures, dayNumber, type FeatureMatrix } from '../../src/ml/features/engine.js';
import { FEATURE_SETS } from '../../src/ml/features/registry.js';
import { syntheticMatches } from '../../src/ml/features/synthetic.js';
import { mulberry32, randomInt, shuffleInPlace, type Rng } from '../../src/ml/random.js';
import type { MatchFact, Prices } from '../../src/ml/types.js';

const MARKET = FEATURE_SETS['market@1']!;
const CORE = FEATURE_SETS['core@1']!;
const CORE2 = FEATURE_SETS['core@2']!;

const randomPrices = (rng: Rng): Prices | null => (rng() < 0.8 ? [1.05 + rng() * 9, 2.5 + rng() * 3, 1.05 + rng() * 12] : null);

/** Same fixture and pre-match prices, new random result: goals, shots and closing prices (any possibly missing). */
function perturbResult(m: MatchFact, rng: Rng): MatchFact {
  const played = rng() < 0.9;
  const stat = (): number | null => (played && rng() < 0.7 ? randomInt(25, rng) : null);
  return {
    ...m,
    homeGoals: played ? randomInt(7, rng) : null,
    awayGoals: played ? randomInt(7, rng) : null,
    homeShots: stat(),
    awayShots: stat(),
    homeShotsOnTarget: stat(),
    awayShotsOnTarget: stat(),
    closingOdds: randomPrices(rng),
  };
}

/** Same fixture (teams, date, competition, season), everything else random, pre-match prices included. */
function perturb(m: MatchFact, rng: Rng): MatchFact {
  return { ...perturbResult(m, rng), preOdds: randomPrices(rng) };
}

function vectorOf(result: FeatureMatrix, id: number): Float64Array {
  const v = result.values.get(id);
  if (!v) throw new Error(`no features for match ${id}`);
  return v;
}

/** Bit-for-bit equality (so 0 vs −0 and any NaN would be told apart), with a readable diff on failure. */
function expectSameBytes(a: Float64Array, b: Float64Array, names: readonly string[], label: string): void {
  if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) return;
  const diffs = names.flatMap((n, i) => (Object.is(a[i], b[i]) ? [] : [`${n}: ${a[i]} vs ${b[i]}`]));
  expect.fail(`${label}: features differ\n${diffs.join('\n')}`);
}

// Every registered set, so a new group or set is covered without touching this file.
describe.each(Object.keys(FEATURE_SETS))('no look-ahead in %s (property, seeded random leagues)', (ref) => {
  const DEF = FEATURE_SETS[ref]!;
  const closing = DEF.groups.market?.prices === 'closing';
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: a match's features ignore its own result and everything on or after its date`, () => {
      const rng = mulberry32(1000 + seed);
      const matches = syntheticMatches({
        seed,
        competitions: 2,
        teamsPerCompetition: 6,
        seasons: 5,
        newcomersPerSeason: 2,
        seasonGapShare: 0.3,
        unplayedShare: 0.05,
        oddsMissingShare: 0.25,
        shotsMissingShare: 0.3,
      });
      const full = computeFeatures(matches, DEF);
      for (let k = 0; k < 15; k++) {
        const m = matches[randomInt(matches.length, rng)]!;
        const expected = vectorOf(full, m.id);
        const label = `seed ${seed}, match ${m.id} (${m.date})`;

        const truncated = matches.filter((x) => x.date < m.date || x.id === m.id);
        expectSameBytes(vectorOf(computeFeatures(truncated, DEF), m.id), expected, full.names, `${label}, later matches removed`);

        const rewritten = matches.map((x) => (x.id !== m.id && x.date >= m.date ? perturb(x, rng) : x));
        expectSameBytes(vectorOf(computeFeatures(rewritten, DEF), m.id), expected, full.names, `${label}, later results changed`);

        // Its own pre-match prices are legitimately part of its features (closing prices too, for a set that reads
        // them: they are known at kick-off); everything known only after kick-off is not.
        const own = matches.map((x) => (x.id === m.id ? { ...perturbResult(x, rng), ...(closing ? { closingOdds: x.closingOdds } : {}) } : x));
        expectSameBytes(vectorOf(computeFeatures(own, DEF), m.id), expected, full.names, `${label}, own result changed`);
      }
    });
  }

  it('same-date matches never see each other, whatever their kickoff', () => {
    const matches = syntheticMatches({ seed: 9, teamsPerCompetition: 8, seasons: 2 });
    const byDate = new Map<string, number>();
    for (const m of matches) byDate.set(m.date, (byDate.get(m.date) ?? 0) + 1);
    expect([...byDate.values()].some((n) => n > 1)).toBe(true);
    const full = computeFeatures(matches, DEF);
    for (const m of matches) {
      const alone = computeFeatures(
        matches.filter((x) => x.date !== m.date || x.id === m.id),
        DEF,
      );
      expectSameBytes(vectorOf(alone, m.id), vectorOf(full, m.id), full.names, `match ${m.id}`);
    }
  });
});

describe('computeFeatures output', () => {
  const matches = syntheticMatches({
    seed: 42,
    competitions: 3,
    teamsPerCompetition: 8,
    seasons: 4,
    newcomersPerSeason: 2,
    seasonGapShare: 0.25,
    unplayedShare: 0.05,
    oddsMissingShare: 0.3,
    shotsMissingShare: 0.5,
  });

  it('gives every match a finite vector as long as the names', () => {
    for (const def of [CORE, CORE2, MARKET]) {
      const { names, values } = computeFeatures(matches, def);
      expect(names).toEqual(featureNames(def));
      expect(values.size).toBe(matches.length);
      for (const v of values.values()) {
        expect(v.length).toBe(names.length);
        expect(v.every(Number.isFinite)).toBe(true);
      }
    }
  });

  it('is deterministic and independent of input order, to the byte', () => {
    const a = computeFeatures(matches, MARKET);
    const b = computeFeatures(shuffleInPlace([...matches], mulberry32(7)), MARKET);
    expect(b.names).toEqual(a.names);
    for (const m of matches) expectSameBytes(vectorOf(b, m.id), vectorOf(a, m.id), a.names, `match ${m.id}`);
  });

  it('gives core@1 exactly the core columns of market@1 and core@2', () => {
    const core = computeFeatures(matches, CORE);
    for (const def of [MARKET, CORE2]) {
      const wider = computeFeatures(matches, def);
      for (const m of matches.slice(0, 200)) {
        expectSameBytes(vectorOf(wider, m.id).subarray(0, core.names.length), vectorOf(core, m.id), core.names, `${def.name}@${def.version} match ${m.id}`);
      }
    }
  });

  it('leaves the input array and its matches untouched', () => {
    const copy = structuredClone(matches);
    computeFeatures([...matches].reverse(), MARKET);
    expect(matches).toEqual(copy);
  });

  it('returns empty output for no matches', () => {
    const { names, values } = computeFeatures([], CORE);
    expect(names.length).toBeGreaterThan(0);
    expect(values.size).toBe(0);
  });
});

describe('computeFeatures input checks', () => {
  const [a, b] = syntheticMatches({ seed: 1 });

  it.each<[string, MatchFact[], RegExp]>([
    ['duplicate ids', [a!, { ...b!, id: a!.id }], /duplicate match id 1/],
    ['a bad date', [{ ...a!, date: '2020-02-30' }], /match 1: not an ISO yyyy-mm-dd date: "2020-02-30"/],
    ['one-sided goals', [{ ...a!, homeGoals: 1, awayGoals: null }], /match 1 has only one side's goals/],
    ['a team playing itself', [{ ...a!, awayTeam: a!.homeTeam }], /both sides/],
  ])('rejects %s', (_what, input, message) => {
    expect(() => computeFeatures(input, CORE)).toThrow(message);
  });

  it('rejects an invalid hand-built definition', () => {
    const bad = { ...CORE, groups: { rest: { capDays: -1 } } } as FeatureSetDefinition;
    expect(() => computeFeatures([a!], bad)).toThrow(/capDays/);
  });

  it('dayNumber counts UTC days since 1970', () => {
    expect(dayNumber('1970-01-02')).toBe(1);
    expect(dayNumber('2024-03-01') - dayNumber('2024-02-28')).toBe(2);
    expect(() => dayNumber('2024-3-1')).toThrow(RangeError);
  });
});

describe('performance sanity', () => {
  it('computes 30,000 matches (printed, not asserted)', () => {
    const matches = syntheticMatches({
      seed: 3,
      competitions: 4,
      teamsPerCompetition: 20,
      seasons: 20,
      newcomersPerSeason: 3,
      oddsMissingShare: 0.05,
      shotsMissingShare: 0.2,
    });
    expect(matches.length).toBeGreaterThanOrEqual(30_000);
    // Warm the JIT on a slice first; then print the first full run and the best of three (shared CI boxes are noisy).
    computeFeatures(matches.slice(0, 5000), MARKET);
    for (const def of [CORE, CORE2, MARKET]) {
      const times: number[] = [];
      for (let run = 0; run < 3; run++) {
        const start = performance.now();
        const { values } = computeFeatures(matches, def);
        times.push(performance.now() - start);
        expect(values.size).toBe(matches.length);
      }
      console.log(
        `[features] ${def.name}@${def.version}: ${matches.length} matches in ${times[0]!.toFixed(1)} ms (best of 3: ${Math.min(...times).toFixed(1)} ms)`,
      );
    }
  });
});
