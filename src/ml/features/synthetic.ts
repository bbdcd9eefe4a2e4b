/** Seeded synthetic leagues for tests and benchmarks: realistic shape (rounds, promotions, gaps, missing data), fake teams. */
import { mulberry32, type Rng } from '../random.js';
import type { MatchFact, Prices } from '../types.js';

/** Shape of a synthetic data set; every field has a small default. */
export interface SyntheticOptions {
  seed: number;
  competitions?: number;
  /** Even number ≥ 2: each season is a double round robin. */
  teamsPerCompetition?: number;
  seasons?: number;
  /** Teams replaced by never-seen ones at each season change (promotion/relegation). */
  newcomersPerSeason?: number;
  /** Chance that the data skips a season (its matches are simply absent). */
  seasonGapShare?: number;
  /** Share of matches without a result, spread over the whole data set (postponed/unplayed). */
  unplayedShare?: number;
  oddsMissingShare?: number;
  shotsMissingShare?: number;
}

/** Matches of a seeded synthetic data set, ids 1..n in chronological order; same options → same matches. */
export function syntheticMatches(options: SyntheticOptions): MatchFact[] {
  const o = {
    competitions: 1,
    teamsPerCompetition: 6,
    seasons: 3,
    newcomersPerSeason: 1,
    seasonGapShare: 0,
    unplayedShare: 0,
    oddsMissingShare: 0.1,
    shotsMissingShare: 0.1,
    ...options,
  };
  if (!Number.isSafeInteger(o.teamsPerCompetition) || o.teamsPerCompetition < 2 || o.teamsPerCompetition % 2 !== 0) {
    throw new RangeError(`syntheticMatches: teamsPerCompetition must be an even integer ≥ 2, got ${o.teamsPerCompetition}`);
  }
  const rng = mulberry32(o.seed);
  const strength = new Map<number, number>();
  let nextTeam = 1;
  const newTeam = (): number => {
    const id = nextTeam++;
    strength.set(id, (rng() - 0.5) * 1.2);
    return id;
  };
  const out: MatchFact[] = [];
  for (let c = 0; c < o.competitions; c++) {
    let teams = Array.from({ length: o.teamsPerCompetition }, newTeam);
    for (let s = 0; s < o.seasons; s++) {
      const year = 2000 + s;
      if (s > 0) {
        teams = teams.slice(Math.min(o.newcomersPerSeason, teams.length));
        while (teams.length < o.teamsPerCompetition) teams.push(newTeam());
      }
      if (s > 0 && rng() < o.seasonGapShare) continue;
      const season = `${year}-${year + 1}`;
      const rounds = roundRobin(teams);
      rounds.forEach((round, r) => {
        // A round spreads over Saturday to Monday, so several matches share a date and others follow a day later.
        const base = Date.UTC(year, 7, 6) + r * 7 * 86_400_000;
        for (const [home, away] of round) {
          const date = new Date(base + Math.floor(rng() * 3) * 86_400_000).toISOString().slice(0, 10);
          out.push(makeMatch(rng, `C${c}`, season, date, home, away, strength, o));
        }
      });
    }
  }
  out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  out.forEach((m, i) => {
    m.id = i + 1;
  });
  return out;
}

/** Double round robin by the circle method: every pair meets once at each venue. */
function roundRobin(teams: readonly number[]): Array<Array<[number, number]>> {
  const n = teams.length;
  const order = [...teams];
  const first: Array<Array<[number, number]>> = [];
  for (let r = 0; r < n - 1; r++) {
    const round: Array<[number, number]> = [];
    for (let i = 0; i < n / 2; i++) {
      const a = order[i]!;
      const b = order[n - 1 - i]!;
      round.push(r % 2 === 0 ? [a, b] : [b, a]);
    }
    first.push(round);
    order.splice(1, 0, order.pop()!);
  }
  return [...first, ...first.map((round) => round.map(([a, b]): [number, number] => [b, a]))];
}

function makeMatch(
  rng: Rng,
  competition: string,
  season: string,
  date: string,
  home: number,
  away: number,
  strength: ReadonlyMap<number, number>,
  o: Required<Omit<SyntheticOptions, 'seed'>>,
): MatchFact {
  const edge = strength.get(home)! - strength.get(away)!;
  const lambdaHome = Math.exp(0.35 + edge / 2);
  const lambdaAway = Math.exp(0.1 - edge / 2);
  const played = rng() >= o.unplayedShare;
  const hg = poisson(rng, lambdaHome);
  const ag = poisson(rng, lambdaAway);
  const shots = rng() >= o.shotsMissingShare;
  const hs = hg + poisson(rng, 9 * lambdaHome);
  const as = ag + poisson(rng, 9 * lambdaAway);
  const odds = rng() >= o.oddsMissingShare;
  // Prices from a rough home/draw/away split of the edge, with a 4–8% margin and some noise.
  const pHome = 1 / (1 + Math.exp(-(edge * 1.5 + 0.3)));
  const pDraw = 0.27 * (1 - Math.abs(pHome - 0.5));
  const raw = [pHome * (1 - pDraw), pDraw, (1 - pHome) * (1 - pDraw)];
  const margin = 1.04 + rng() * 0.04;
  const price = (p: number): number => Math.max(1.01, 1 / (p * margin * (0.95 + rng() * 0.1)));
  const prices: Prices = [price(raw[0]!), price(raw[1]!), price(raw[2]!)];
  return {
    id: 0,
    competition,
    season,
    date,
    kickoff: rng() < 0.5 ? null : `${12 + Math.floor(rng() * 9)}:00`,
    homeTeam: home,
    awayTeam: away,
    homeGoals: played ? hg : null,
    awayGoals: played ? ag : null,
    homeShots: played && shots ? hs : null,
    awayShots: played && shots ? as : null,
    homeShotsOnTarget: played && shots ? hg + Math.floor((hs - hg) * rng() * 0.4) : null,
    awayShotsOnTarget: played && shots ? ag + Math.floor((as - ag) * rng() * 0.4) : null,
    preOdds: odds ? prices : null,
    closingOdds: odds ? prices : null,
  };
}

/** Knuth's Poisson sampler: fine for the small means of football. */
function poisson(rng: Rng, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng();
  while (p > limit) {
    k++;
    p *= rng();
  }
  return k;
}
