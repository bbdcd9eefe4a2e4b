/** Seeded synthetic leagues with known truth (Dixon–Coles goals, promotion, drifting strengths) for tests, benches and demos. */
import { mulberry32, normal, type Rng } from '../random.js';
import type { MatchFact } from '../types.js';
import type { Dataset } from './types.js';

/** Knobs of simulateLeague; every field has a realistic default. */
export interface LeagueOptions {
  seed: number;
  competition?: string;
  teams?: number;
  seasons?: number;
  firstYear?: number;
  /** Log home advantage. */
  home?: number;
  /** Log scoring rate of an average away team. */
  intercept?: number;
  rho?: number;
  /** Spread of true attack and defence. */
  strengthSd?: number;
  /** Season-to-season random-walk sd of each team's attack and defence. */
  drift?: number;
  /** Teams replaced by new (unseen) ones after each season: the bottom of the table. */
  promoted?: number;
  /** Noise sd of the elo_diff feature (its signal is 400 × true strength difference). */
  eloNoise?: number;
  /** First team id (use different offsets for different competitions). */
  firstTeamId?: number;
  firstMatchId?: number;
}

/** True parameters behind a synthetic league: log λ = intercept + home + attack[h] − defence[a]. */
export interface LeagueTruth {
  home: number;
  intercept: number;
  rho: number;
  /** Per season, team id → true strengths that season. */
  seasons: Map<number, { attack: number; defence: number }>[];
}

/** Features: elo_diff (true strength difference × 400 + noise) and noise (pure N(0,1)). */
export const SYNTHETIC_FEATURES = ['elo_diff', 'noise'];

/** Score (x, y) drawn from the τ-corrected double Poisson truncated at 15 goals. */
function sampleScore(lambda: number, mu: number, rho: number, rng: Rng): [number, number] {
  const pois = (rate: number): number[] => {
    const p = [Math.exp(-rate)];
    for (let k = 1; k <= 15; k++) p.push((p[k - 1]! * rate) / k);
    return p;
  };
  const px = pois(lambda);
  const py = pois(mu);
  const tau = (x: number, y: number): number =>
    x === 0 && y === 0 ? 1 - lambda * mu * rho : x === 0 && y === 1 ? 1 + lambda * rho : x === 1 && y === 0 ? 1 + mu * rho : x === 1 && y === 1 ? 1 - rho : 1;
  let total = 0;
  for (let x = 0; x <= 15; x++) for (let y = 0; y <= 15; y++) total += Math.max(0, tau(x, y)) * px[x]! * py[y]!;
  let u = rng() * total;
  for (let x = 0; x <= 15; x++) {
    for (let y = 0; y <= 15; y++) {
      u -= Math.max(0, tau(x, y)) * px[x]! * py[y]!;
      if (u <= 0) return [x, y];
    }
  }
  return [15, 15];
}

/** Double round robin (circle method): 2(n−1) rounds of n/2 pairs. */
function fixtures(ids: number[]): [number, number][][] {
  const ring = [...ids];
  const half: [number, number][][] = [];
  for (let r = 0; r < ring.length - 1; r++) {
    const round: [number, number][] = [];
    for (let i = 0; i < ring.length / 2; i++) {
      const a = ring[i]!;
      const b = ring[ring.length - 1 - i]!;
      round.push(r % 2 === 0 ? [a, b] : [b, a]);
    }
    half.push(round);
    ring.splice(1, 0, ring.pop()!);
  }
  return [...half, ...half.map((round) => round.map(([a, b]): [number, number] => [b, a]))];
}

/** Simulate a league of several seasons; matches come back in date order with their feature rows. */
export function simulateLeague(opts: LeagueOptions): { data: Dataset; truth: LeagueTruth } {
  const o = {
    competition: 'SYN',
    teams: 20,
    seasons: 4,
    firstYear: 2015,
    home: 0.25,
    intercept: 0.1,
    rho: -0.1,
    strengthSd: 0.3,
    drift: 0.08,
    promoted: 3,
    eloNoise: 60,
    firstTeamId: 1,
    firstMatchId: 1,
    ...opts,
  };
  if (o.teams % 2 !== 0 || o.teams < 4) throw new RangeError(`simulateLeague: teams must be even and >= 4, got ${o.teams}`);
  const rng = mulberry32(o.seed);
  let nextTeam = o.firstTeamId;
  let nextMatch = o.firstMatchId;
  let table = new Map<number, { attack: number; defence: number }>();
  const newTeam = (mean: number): void => void table.set(nextTeam++, { attack: normal(rng, mean, o.strengthSd), defence: normal(rng, mean, o.strengthSd) });
  for (let i = 0; i < o.teams; i++) newTeam(0);
  const truth: LeagueTruth = { home: o.home, intercept: o.intercept, rho: o.rho, seasons: [] };
  const matches: MatchFact[] = [];
  const X: Float64Array[] = [];
  for (let s = 0; s < o.seasons; s++) {
    truth.seasons.push(new Map(table));
    const points = new Map<number, number>([...table.keys()].map((t) => [t, 0]));
    const start = Date.UTC(o.firstYear + s, 7, 10);
    fixtures([...table.keys()]).forEach((round, r) => {
      const date = new Date(start + r * 7 * 86_400_000).toISOString().slice(0, 10);
      for (const [h, a] of round) {
        const th = table.get(h)!;
        const ta = table.get(a)!;
        const lambda = Math.exp(o.intercept + o.home + th.attack - ta.defence);
        const mu = Math.exp(o.intercept + ta.attack - th.defence);
        const [hg, ag] = sampleScore(lambda, mu, o.rho, rng);
        points.set(h, points.get(h)! + (hg > ag ? 3 : hg === ag ? 1 : 0));
        points.set(a, points.get(a)! + (ag > hg ? 3 : hg === ag ? 1 : 0));
        const diff = th.attack + th.defence - (ta.attack + ta.defence);
        X.push(Float64Array.of(400 * diff + normal(rng, 0, o.eloNoise), normal(rng)));
        matches.push({
          id: nextMatch++,
          competition: o.competition,
          season: `${o.firstYear + s}-${o.firstYear + s + 1}`,
          date,
          kickoff: '15:00',
          homeTeam: h,
          awayTeam: a,
          homeGoals: hg,
          awayGoals: ag,
          homeShots: null,
          awayShots: null,
          homeShotsOnTarget: null,
          awayShotsOnTarget: null,
          preOdds: null,
          closingOdds: null,
        });
      }
    });
    // Relegate the bottom of the table (ties by id) and promote new, weaker teams; survivors drift.
    const relegated = [...points.entries()]
      .sort((p, q) => p[1] - q[1] || p[0] - q[0])
      .slice(0, o.promoted)
      .map(([t]) => t);
    const next = new Map<number, { attack: number; defence: number }>();
    for (const [t, v] of table)
      if (!relegated.includes(t)) next.set(t, { attack: v.attack + normal(rng, 0, o.drift), defence: v.defence + normal(rng, 0, o.drift) });
    table = next;
    for (let i = 0; i < o.promoted; i++) newTeam(-0.15);
  }
  return { data: { X, featureNames: [...SYNTHETIC_FEATURES], matches }, truth };
}

/** The rows of data whose match passes keep (for date splits). */
export function filterDataset(data: Dataset, keep: (m: MatchFact) => boolean): Dataset {
  const idx = data.matches.flatMap((m, i) => (keep(m) ? [i] : []));
  return { X: idx.map((i) => data.X[i]!), featureNames: [...data.featureNames], matches: idx.map((i) => data.matches[i]!) };
}

/** Concatenate datasets with the same feature names, sorted by date (then id) as a store query would return them. */
export function concatDatasets(...parts: Dataset[]): Dataset {
  const rows = parts.flatMap((p) => p.matches.map((m, i) => ({ m, x: p.X[i]! })));
  rows.sort((a, b) => (a.m.date < b.m.date ? -1 : a.m.date > b.m.date ? 1 : a.m.id - b.m.id));
  return { X: rows.map((r) => r.x), featureNames: [...(parts[0]?.featureNames ?? [])], matches: rows.map((r) => r.m) };
}
