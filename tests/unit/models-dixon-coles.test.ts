import { describe, expect, it } from 'vitest';
import { dcObjective, dixonColesProbs, rhoBounds, type DcRows } from '../../src/ml/models/dixon-coles-math.js';
import type { DixonColesState } from '../../src/ml/models/dixon-coles.js';
import { loadModel, MODELS, type Model } from '../../src/ml/models/index.js';
import { concatDatasets, filterDataset, simulateLeague } from '../../src/ml/models/synthetic.js';
import type { MatchFact, Probs } from '../../src/ml/types.js';

const dc = MODELS['dixon-coles'];

function expectValid(probs: readonly Probs[]): void {
  for (const p of probs) {
    for (const v of p) expect(v >= 0 && v <= 1, `probability ${v} in ${JSON.stringify(p)}`).toBe(true);
    expect(Math.abs(p[0] + p[1] + p[2] - 1)).toBeLessThan(1e-9);
  }
}

const stateOf = (model: Model): DixonColesState => model.serialize().state as DixonColesState;

/** The obvious O(G²) computation with per-cell τ, for checking the O(G) sums in dixonColesProbs. */
function bruteForce(lambda: number, mu: number, rho: number, maxGoals: number): number[] {
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const pois = (r: number, k: number): number => (Math.exp(-r) * r ** k) / fact(k);
  const out = [0, 0, 0];
  for (let x = 0; x <= maxGoals; x++) {
    for (let y = 0; y <= maxGoals; y++) {
      const tau =
        x === 0 && y === 0
          ? 1 - lambda * mu * rho
          : x === 0 && y === 1
            ? 1 + lambda * rho
            : x === 1 && y === 0
              ? 1 + mu * rho
              : x === 1 && y === 1
                ? 1 - rho
                : 1;
      out[x > y ? 0 : x === y ? 1 : 2]! += tau * pois(lambda, x) * pois(mu, y);
    }
  }
  const s = out[0]! + out[1]! + out[2]!;
  return out.map((v) => v / s);
}

describe('dixonColesProbs', () => {
  it('matches a brute-force score matrix for ordinary rates', () => {
    for (const [l, m, r] of [
      [1.5, 1.1, -0.1],
      [0.6, 2.4, 0.05],
      [2.0, 2.0, -0.2],
    ] as const) {
      const p = dixonColesProbs(l, m, r, 10);
      // Our grid is 0..max(10, ⌈r+8√r⌉), so compare against a brute force on that same grid.
      const size = Math.max(10, Math.ceil(Math.max(l, m) + 8 * Math.sqrt(Math.max(l, m))));
      bruteForce(l, m, r, size).forEach((v, k) => {
        expect(p[k]).toBeCloseTo(v, 12);
      });
    }
  });

  it('never returns negative or >1 probabilities, even for extreme rates and ρ', () => {
    const rates = [1e-12, 1e-4, 0.05, 0.5, 1, 3, 8, 20, 60, 1e4];
    const rhos = [-5, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 5];
    const all: Probs[] = [];
    for (const l of rates) for (const m of rates) for (const r of rhos) all.push(dixonColesProbs(l, m, r, 10));
    expectValid(all);
    // The classic failure: unclamped, τ(0,0) = 1 − λμρ = −4 here; clamped, the 0-0 cell is just 0.
    expect(1 - 5 * 5 * 0.2).toBeLessThan(0);
    expectValid([dixonColesProbs(5, 5, 0.2, 10)]);
  });

  it('rhoBounds keep all four τ factors non-negative', () => {
    for (const [l, m] of [
      [0.3, 4],
      [2, 2],
      [9, 0.1],
    ] as const) {
      const [lo, hi] = rhoBounds(l, m);
      for (const rho of [lo, hi]) {
        for (const tau of [1 - l * m * rho, 1 + l * rho, 1 + m * rho, 1 - rho]) expect(tau).toBeGreaterThanOrEqual(-1e-12);
      }
    }
  });
});

describe('dcObjective', () => {
  it('has an analytic gradient that matches finite differences', () => {
    const rows: DcRows = {
      home: Int32Array.of(0, 1, 2, 3, 0, 2),
      away: Int32Array.of(1, 2, 3, 0, 2, 1),
      hg: Int32Array.of(0, 1, 0, 1, 3, 2),
      ag: Int32Array.of(0, 0, 1, 1, 1, 2),
      w: Float64Array.of(1, 0.9, 0.8, 0.7, 0.6, 0.5),
      nTeams: 4,
    };
    const f = dcObjective(rows, 0.1);
    const x = Float64Array.of(0.1, 0.2, -0.08, 0.1, -0.2, 0.05, 0.3, -0.1, 0.2, 0, 0.15);
    const g = new Float64Array(x.length);
    f(x, g);
    const scratch = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const h = 1e-6;
      const up = Float64Array.from(x);
      const down = Float64Array.from(x);
      up[i]! += h;
      down[i]! -= h;
      expect(g[i]).toBeCloseTo((f(up, scratch) - f(down, scratch)) / (2 * h), 6);
    }
  });
});

describe('dixon-coles model', () => {
  it('recovers the home advantage, intercept, ρ sign and team strengths of a large synthetic league', async () => {
    const { data, truth } = simulateLeague({ seed: 11, seasons: 10, drift: 0, promoted: 0, rho: -0.12 });
    const model = await dc.fit(data, { xi: 0, l2: 0 }, { seed: 1 });
    const comp = stateOf(model).competitions.SYN!;
    expect(comp.converged).toBe(true);
    expect(Math.abs(comp.home - truth.home)).toBeLessThan(0.05);
    expect(Math.abs(comp.intercept - truth.intercept)).toBeLessThan(0.1);
    expect(comp.rho).toBeLessThan(0);
    const real = truth.seasons[0]!;
    comp.teams.forEach((t, i) => {
      expect(Math.abs(comp.attack[i]! - (real.get(t)!.attack - mean([...real.values()].map((v) => v.attack))))).toBeLessThan(0.15);
    });
  });

  it('fits ~2,000 matches well under a second', async () => {
    const { data } = simulateLeague({ seed: 5, seasons: 5, teams: 22 }); // 5 × 462 = 2,310 matches, 37 teams
    await dc.fit(
      filterDataset(data, (m) => m.season < '2016'),
      {},
      { seed: 1 },
    ); // JIT warm-up
    const t0 = performance.now();
    const model = await dc.fit(data, {}, { seed: 1 });
    const ms = performance.now() - t0;
    const comp = stateOf(model).competitions.SYN!;
    console.log(`dixon-coles fit: ${data.matches.length} matches, ${comp.teams.length} teams in ${ms.toFixed(1)} ms (converged: ${comp.converged})`);
    expect(comp.converged).toBe(true);
    expect(ms).toBeLessThan(1000);
  });

  it('keeps the fitted ρ inside the valid range of every training match', async () => {
    const { data } = simulateLeague({ seed: 3, seasons: 2, strengthSd: 0.6, rho: -0.2 });
    const model = (await dc.fit(data, {}, { seed: 1 })) as Model & { rates(m: MatchFact): { lambda: number; mu: number; rho: number } };
    for (const m of data.matches) {
      const { lambda, mu, rho } = model.rates(m);
      const [lo, hi] = rhoBounds(lambda, mu);
      expect(rho).toBeGreaterThanOrEqual(lo);
      expect(rho).toBeLessThanOrEqual(hi);
    }
  });

  it('gives valid probabilities from a tiny sample of 6 matches, for seen and unseen teams', async () => {
    const { data } = simulateLeague({ seed: 9, teams: 4, seasons: 1 });
    const tiny = filterDataset(data, (m) => m.id <= 6);
    // One team never scores: without the ridge its attack would run off to −∞.
    for (const m of tiny.matches) if (m.homeTeam === tiny.matches[0]!.homeTeam) m.homeGoals = 0;
    const model = await dc.fit(tiny, {}, { seed: 1 });
    const unseen: MatchFact = { ...tiny.matches[0]!, id: 99, homeTeam: 777, awayTeam: 888, homeGoals: null, awayGoals: null };
    const mixed: MatchFact = { ...unseen, homeTeam: tiny.matches[0]!.homeTeam };
    expectValid(model.predict({ X: [], featureNames: [], matches: [...tiny.matches, unseen, mixed] }));
    for (const l2 of [0, 100]) expectValid((await dc.fit(tiny, { l2 }, { seed: 1 })).predict(tiny));
  });

  it('stays valid with extreme ratings and a large ρ in the stored state', async () => {
    const { data } = simulateLeague({ seed: 9, teams: 4, seasons: 1 });
    const s = (await dc.fit(data, {}, { seed: 1 })).serialize();
    const comp = (s.state as DixonColesState).competitions.SYN!;
    comp.attack = [6, -6, 3, -3];
    comp.defence = [-6, 6, 0, 2];
    for (const rho of [-1, 0.9]) {
      comp.rho = rho;
      expectValid(loadModel(s).predict(data));
    }
  });

  it('rates promoted teams with the weakest-teams prior, below an average team', async () => {
    const { data } = simulateLeague({ seed: 21, seasons: 3 });
    const train = filterDataset(data, (m) => m.season < '2017');
    const test = filterDataset(data, (m) => m.season >= '2017');
    const seen = new Set(train.matches.flatMap((m) => [m.homeTeam, m.awayTeam]));
    const promoted = test.matches.filter((m) => !seen.has(m.homeTeam) && seen.has(m.awayTeam));
    expect(promoted.length).toBeGreaterThan(0);
    const weakest = await dc.fit(train, { newTeamPrior: 'weakest' }, { seed: 1 });
    const average = await dc.fit(train, { newTeamPrior: 'average' }, { seed: 1 });
    const one = { X: [], featureNames: [], matches: promoted };
    const pw = weakest.predict(one);
    const pa = average.predict(one);
    expectValid([...pw, ...pa]);
    pw.forEach((p, i) => {
      expect(p[0]).toBeLessThan(pa[i]![0]);
    });
  });

  it('fits one parameter set per competition and falls back for an unknown competition', async () => {
    const a = simulateLeague({ seed: 1, competition: 'A', home: 0.4, seasons: 6, drift: 0, promoted: 0 }).data;
    const b = simulateLeague({ seed: 2, competition: 'B', home: 0.05, seasons: 6, drift: 0, promoted: 0, firstTeamId: 500, firstMatchId: 100_000 }).data;
    const model = await dc.fit(concatDatasets(a, b), { xi: 0, homeL2: 0 }, { seed: 1 });
    const comps = stateOf(model).competitions;
    expect(Object.keys(comps)).toEqual(['A', 'B']);
    expect(Math.abs(comps.A!.home - 0.4)).toBeLessThan(0.06);
    expect(Math.abs(comps.B!.home - 0.05)).toBeLessThan(0.06);
    const elsewhere: MatchFact = { ...a.matches[0]!, competition: 'Z', homeTeam: 1, awayTeam: 2 };
    const [p] = model.predict({ X: [], featureNames: [], matches: [elsewhere] });
    expectValid([p!]);
    expect(p![0]).toBeGreaterThan(p![2]); // pooled home advantage still favours the home side
    // homeL2 (default 300) pulls each competition's home advantage towards their match-weighted mean, not past it.
    const pooled = stateOf(await dc.fit(concatDatasets(a, b), { xi: 0 }, { seed: 1 })).competitions;
    const mean = (comps.A!.home + comps.B!.home) / 2;
    expect(pooled.A!.home).toBeLessThan(comps.A!.home - 0.02);
    expect(pooled.B!.home).toBeGreaterThan(comps.B!.home + 0.02);
    expect(pooled.A!.home).toBeGreaterThan(mean);
    expect(pooled.B!.home).toBeLessThan(mean);
  });

  it('pulls a team new to the competition towards the new-team prior, not towards an average team', async () => {
    const { data } = simulateLeague({ seed: 11, seasons: 4, promoted: 3 });
    const lastSeason = data.matches.at(-1)!.season;
    const earlier = new Set(data.matches.filter((m) => m.season < lastSeason).flatMap((m) => [m.homeTeam, m.awayTeam]));
    const start = data.matches.find((m) => m.season === lastSeason)!.date;
    // Three rounds into the last season: the promoted teams have three matches each.
    const cut = new Date(Date.parse(start) + 20 * 86_400_000).toISOString().slice(0, 10);
    const train = filterDataset(data, (m) => m.date <= cut);
    const promoted = [...new Set(train.matches.flatMap((m) => [m.homeTeam, m.awayTeam]))].filter((t) => !earlier.has(t));
    expect(promoted).toHaveLength(3);
    const distance = (model: Model): number => {
      const c = stateOf(model).competitions.SYN!;
      return promoted.reduce((s, t) => {
        const i = c.teams.indexOf(t);
        return s + Math.hypot(c.attack[i]! - c.newTeam.attack, c.defence[i]! - c.newTeam.defence);
      }, 0);
    };
    const pulled = await dc.fit(train, {}, { seed: 1 });
    const free = await dc.fit(train, { newTeamL2: 0 }, { seed: 1 });
    expect(distance(pulled)).toBeLessThan(0.6 * distance(free));
    // Teams of the earlier seasons are not newcomers: their strengths barely move.
    const c1 = stateOf(pulled).competitions.SYN!;
    const c0 = stateOf(free).competitions.SYN!;
    const settled = c1.teams.filter((t) => earlier.has(t)).map((t) => Math.abs(c1.attack[c1.teams.indexOf(t)]! - c0.attack[c0.teams.indexOf(t)]!));
    expect(Math.max(...settled)).toBeLessThan(0.05);
  });

  it('counts seasons missing from the data as one year of decay, whatever the gap', async () => {
    // The same two seasons with one and with five years between them: both breaks count 365 days, so the same
    // weights and the same model (uncapped, the first season would keep e^(−0.003·1460) ≈ 1 % of its weight).
    const { data } = simulateLeague({ seed: 5, seasons: 2, promoted: 0 });
    const shift = (years: number) => ({
      ...data,
      matches: data.matches.map((m) =>
        m.season.startsWith('2016') ? { ...m, date: `${Number(m.date.slice(0, 4)) + years}${m.date.slice(4)}`, season: `${2016 + years}-${2017 + years}` } : m,
      ),
    });
    const near = stateOf(await dc.fit(shift(1), {}, { seed: 1 })).competitions.SYN!;
    const far = stateOf(await dc.fit(shift(5), {}, { seed: 1 })).competitions.SYN!;
    far.attack.forEach((v, i) => {
      expect(v).toBeCloseTo(near.attack[i]!, 10);
    });
    expect(far.home).toBeCloseTo(near.home, 10);
  });

  it('predictions ignore the results of the matches being predicted', async () => {
    const { data } = simulateLeague({ seed: 4, seasons: 2 });
    const model = await dc.fit(
      filterDataset(data, (m) => m.season < '2016'),
      {},
      { seed: 1 },
    );
    const test = filterDataset(data, (m) => m.season >= '2016');
    const blind = { ...test, matches: test.matches.map((m) => ({ ...m, homeGoals: null, awayGoals: null })) };
    expect(model.predict(blind)).toEqual(model.predict(test));
  });
});

function mean(xs: number[]): number {
  return xs.reduce((s, v) => s + v, 0) / xs.length;
}
