/** Dixon–Coles team-strength model with time decay, one parameter set per competition; ignores X. */
import { z } from 'zod';
import type { MatchFact, Probs } from '../types.js';
import { dcCurvedObjective, dixonColesProbs, type DcRows } from './dixon-coles-math.js';
import { lastSeenDates, newcomers, weakestPrior, type FittedCompetition } from './dixon-coles-priors.js';
import { minimizeNewton } from './lbfgs.js';
import { daysBetween, lastDate, trainingOutcomes } from './numeric.js';
import { resolveWith } from './params.js';
import { numbers, readState } from './state.js';
import type { Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of dixon-coles. */
export type DixonColesParams = {
  xi: number;
  maxGoals: number;
  l2: number;
  newTeamPrior: string;
  newTeamK: number;
  newTeamL2: number;
  homeL2: number;
  maxIter: number;
};

/**
 * Days between in-season refits under `--walk-forward season` (about every matchday): team strengths only move when
 * the model is fitted. With the defaults below, chosen on E0, E1 and D1 only (bench/RESULTS.md, short-history and
 * all-league protocols): every 3 days 0.2077/0.2076, every 7 days 0.2078/0.2077. Before newcomers were pulled
 * towards the new-team prior, frequent refits lost in a season's first weeks and 28 days was the best cadence.
 */
export const DIXON_COLES_UPDATE_DAYS = 3;

/**
 * Parameter specs of dixon-coles. The defaults of xi, l2, newTeamL2 and homeL2 were chosen on E0, E1 and D1 only
 * (bench/RESULTS.md, "Dixon–Coles that holds on short archives"); SP1, I1 and F1 checked them.
 */
export const DIXON_COLES_PARAMS: readonly ParamSpec[] = [
  {
    name: 'xi',
    type: 'float',
    default: 0.003,
    min: 0,
    max: 0.02,
    description: 'time decay per day: weight exp(−xi·days before the last training match), a break in the calendar counting a year at most',
  },
  { name: 'maxGoals', type: 'int', default: 10, min: 5, max: 30, description: 'score grid 0..maxGoals (grown automatically for very high rates)' },
  {
    name: 'l2',
    type: 'float',
    default: 3,
    min: 0,
    max: 100,
    search: { min: 1e-3, max: 30, log: true },
    description: "ridge on attack/defence towards an average team, in matches' worth of log-likelihood (prior sd 1/√(2·l2))",
  },
  {
    name: 'newTeamPrior',
    type: 'categorical',
    default: 'weakest',
    choices: ['weakest', 'average'],
    description: 'new teams: mean of the newTeamK weakest recent teams, or an average team',
  },
  { name: 'newTeamK', type: 'int', default: 3, min: 1, max: 10, description: 'how many weakest teams the newTeamPrior averages' },
  {
    name: 'newTeamL2',
    type: 'float',
    default: 10,
    min: 0,
    max: 1000,
    search: { min: 0.1, max: 100, log: true },
    description: 'ridge pulling a team new to the competition (its spell began within a year) towards the newTeamPrior, in the units of l2',
  },
  {
    name: 'homeL2',
    type: 'float',
    default: 300,
    min: 0,
    max: 10_000,
    search: { min: 1, max: 1000, log: true },
    description: "ridge pulling each competition's home advantage towards the match-weighted mean of the competitions fitted together, in the units of l2",
  },
  {
    name: 'maxIter',
    type: 'int',
    default: 500,
    min: 10,
    max: 10_000,
    log: true,
    description: 'Newton iterations at most, per competition (a fit usually takes 5–20)',
  },
];

const competitionSchema = z.object({
  teams: z.array(z.number().int()),
  attack: numbers,
  defence: numbers,
  intercept: z.number(),
  home: z.number(),
  rho: z.number(),
  newTeam: z.object({ attack: z.number(), defence: z.number() }),
  matches: z.number().int(),
  lastDate: z.string(),
  converged: z.boolean(),
});
const stateSchema = z.object({ competitions: z.record(z.string(), competitionSchema) });

/** Fitted parameters of one competition: log λ = intercept + home + attack[h] − defence[a], log μ = intercept + attack[a] − defence[h]. */
export type DixonColesCompetition = z.infer<typeof competitionSchema>;
/** Serialised state of a dixon-coles model. */
export type DixonColesState = z.infer<typeof stateSchema>;

class DixonColesModel implements Model {
  readonly kind = 'dixon-coles' as const;
  private readonly index = new Map<string, Map<number, number>>();
  private readonly fallback: DixonColesCompetition;

  constructor(
    readonly params: Readonly<DixonColesParams>,
    private readonly state: DixonColesState,
  ) {
    for (const [name, comp] of Object.entries(state.competitions)) this.index.set(name, new Map(comp.teams.map((t, i) => [t, i])));
    // A competition never seen in training gets average teams with match-weighted mean intercept, home advantage and ρ.
    const comps = Object.values(state.competitions);
    const n = comps.reduce((s, c) => s + c.matches, 0);
    const mean = (pick: (c: DixonColesCompetition) => number): number => comps.reduce((s, c) => s + (pick(c) * c.matches) / n, 0);
    this.fallback = {
      teams: [],
      attack: [],
      defence: [],
      intercept: mean((c) => c.intercept),
      home: mean((c) => c.home),
      rho: mean((c) => c.rho),
      newTeam: { attack: 0, defence: 0 },
      matches: 0,
      lastDate: '',
      converged: true,
    };
  }

  /** Expected goals (λ, μ) and ρ for one match, from the fitted strengths or the new-team prior. */
  rates(m: Pick<MatchFact, 'competition' | 'homeTeam' | 'awayTeam'>): { lambda: number; mu: number; rho: number } {
    const comp = this.state.competitions[m.competition] ?? this.fallback;
    const idx = this.index.get(m.competition);
    const team = (id: number): { attack: number; defence: number } => {
      const i = idx?.get(id);
      return i === undefined ? comp.newTeam : { attack: comp.attack[i]!, defence: comp.defence[i]! };
    };
    const h = team(m.homeTeam);
    const a = team(m.awayTeam);
    return {
      lambda: Math.exp(comp.intercept + comp.home + h.attack - a.defence),
      mu: Math.exp(comp.intercept + a.attack - h.defence),
      rho: comp.rho,
    };
  }

  predict(data: Dataset): Probs[] {
    return data.matches.map((m) => {
      const { lambda, mu, rho } = this.rates(m);
      return dixonColesProbs(lambda, mu, rho, this.params.maxGoals);
    });
  }

  serialize(): SerializedModel {
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames: [], state: structuredClone(this.state) };
  }
}

/** One competition's training rows, its Newton fit and what the new-team priors read from it. */
interface CompetitionFit extends FittedCompetition {
  intercept: number;
  home: number;
  rho: number;
  rows: DcRows;
  x: Float64Array;
  converged: boolean;
  matches: number;
}

/** Fit one competition (teams pulled towards 0, the average team) and find its newcomers. */
function fitCompetition(competition: string, matches: MatchFact[], params: DixonColesParams, options: FitOptions): CompetitionFit {
  const teams = [...new Set(matches.flatMap((m) => [m.homeTeam, m.awayTeam]))].sort((a, b) => a - b);
  const slot = new Map(teams.map((t, i) => [t, i]));
  const last = lastDate(matches);
  const playedAge = playedDaysBefore(matches);
  const count = matches.length;
  const rows: DcRows = {
    home: new Int32Array(count),
    away: new Int32Array(count),
    hg: new Int32Array(count),
    ag: new Int32Array(count),
    w: new Float64Array(count),
    nTeams: teams.length,
  };
  matches.forEach((m, k) => {
    rows.home[k] = slot.get(m.homeTeam)!;
    rows.away[k] = slot.get(m.awayTeam)!;
    rows.hg[k] = m.homeGoals!;
    rows.ag[k] = m.awayGoals!;
    rows.w[k] = Math.exp(-params.xi * playedAge.get(m.date)!);
  });
  // Start from the (smoothed) average scoring rates; team strengths at 0 and ρ = 0, which is always feasible.
  let w = 0;
  let hg = 0;
  let ag = 0;
  rows.w.forEach((wk, k) => {
    w += wk;
    hg += wk * rows.hg[k]!;
    ag += wk * rows.ag[k]!;
  });
  const x0 = new Float64Array(3 + 2 * teams.length);
  x0[0] = Math.log((ag + 0.5) / (w + 1));
  x0[1] = Math.log((hg + 0.5) / (w + 1)) - x0[0];
  const { x, converged } = solve(rows, x0, params, options, competition);
  return { ...centred(x, teams), rows, x, converged, matches: count, lastDate: last, lastSeen: lastSeenDates(matches), newcomers: newcomers(matches, last) };
}

/**
 * For each match date, the days before the latest one, with every break in the competition's calendar longer than
 * MAX_BREAK_DAYS counted as MAX_BREAK_DAYS: seasons missing from the data are one change, as for the Elo features,
 * not years of decay that would leave every strength to the ridge.
 */
function playedDaysBefore(matches: readonly MatchFact[]): Map<string, number> {
  const dates = [...new Set(matches.map((m) => m.date))].sort().reverse();
  const out = new Map<string, number>();
  let age = 0;
  dates.forEach((d, i) => {
    if (i > 0) age += Math.min(MAX_BREAK_DAYS, daysBetween(d, dates[i - 1]!));
    out.set(d, age);
  });
  return out;
}

// A year: missing seasons decay as one year, not as five. Chosen on E0, E1 and D1 (bench/RESULTS.md) over 120 and
// 200 days and no cap; it matters most where an archive skips seasons (D1/SP1/I1/F1 2013–2018 in the shared files).
const MAX_BREAK_DAYS = 365;

// Newton, not L-BFGS: teams last seen years ago carry tiny decayed weights, and that spread of curvatures left
// L-BFGS short of the optimum after hundreds of iterations on long histories; the exact Hessian takes ~10 steps.
// Each solve reports its iterations as its own curve (`series`: the competition, then `<competition>.priors` for the
// second pass, whose objective differs): the penalised negative log-likelihood per unit of match weight and ‖∇f‖.
function solve(rows: DcRows, start: Float64Array, params: DixonColesParams, options: FitOptions, series: string): { x: Float64Array; converged: boolean } {
  const onEpoch = options.onEpoch;
  return minimizeNewton(dcCurvedObjective(rows, params.l2), start, {
    model: 'dixon-coles',
    maxIter: params.maxIter,
    signal: options.signal,
    ...(onEpoch ? { onIter: (epoch: number, loss: number, gradNorm: number) => onEpoch({ epoch, loss, gradNorm, series }) } : {}),
  });
}

/** Attack and defence centred on 0 (they can shift together, and attack against the intercept, without changing any rate). */
function centred(x: Float64Array, teams: number[]): { teams: number[]; attack: number[]; defence: number[]; intercept: number; home: number; rho: number } {
  const n = teams.length;
  const attack = Array.from(x.subarray(3, 3 + n));
  const defence = Array.from(x.subarray(3 + n, 3 + 2 * n));
  const ma = attack.reduce((s, v) => s + v, 0) / n;
  const md = defence.reduce((s, v) => s + v, 0) / n;
  return { teams, attack: attack.map((v) => v - ma), defence: defence.map((v) => v - md), intercept: x[0]! + ma - md, home: x[1]!, rho: x[2]! };
}

/**
 * The second pass over one competition: newcomers pulled (with strength newTeamL2) towards the new-team prior
 * instead of an average team, and the home advantage (with strength homeL2) towards the mean of all competitions
 * fitted together, so that a few seasons' estimate (crowdless ones, say) does not stand alone.
 */
function withPriors(
  competition: string,
  fit: CompetitionFit,
  pooledHome: number | undefined,
  params: DixonColesParams,
  options: FitOptions,
): DixonColesCompetition {
  const pullNew = params.newTeamPrior === 'weakest' && params.newTeamL2 > 0 && fit.newcomers.size > 0;
  const pullHome = pooledHome !== undefined && params.homeL2 > 0;
  let current: CompetitionFit = fit;
  if (pullNew || pullHome) {
    const n = fit.teams.length;
    const rows: DcRows = { ...fit.rows, ...(pullHome ? { homePrior: { centre: pooledHome, strength: params.homeL2 } } : {}) };
    if (pullNew) {
      const prior = weakestPrior(fit, params.newTeamK);
      rows.centre = new Float64Array(2 * n);
      rows.strength = new Float64Array(2 * n).fill(params.l2);
      fit.teams.forEach((team, i) => {
        if (!fit.newcomers.has(team)) return;
        rows.centre![i] = prior.attack;
        rows.centre![n + i] = prior.defence;
        rows.strength![i] = rows.strength![n + i] = params.newTeamL2;
      });
    }
    const { x, converged } = solve(rows, fit.x, params, options, `${competition}.priors`);
    current = { ...fit, ...centred(x, fit.teams), x, converged: fit.converged && converged };
  }
  return {
    teams: current.teams,
    attack: current.attack,
    defence: current.defence,
    intercept: current.intercept,
    home: current.home,
    rho: current.rho,
    newTeam: params.newTeamPrior === 'average' ? { attack: 0, defence: 0 } : weakestPrior(current, params.newTeamK),
    matches: current.matches,
    lastDate: current.lastDate,
    converged: current.converged,
  };
}

/** Fit one Dixon–Coles parameter set per competition in data.matches, their home advantages pulled together. */
export async function fitDixonColes(data: Dataset, given: Partial<DixonColesParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<DixonColesParams>('dixon-coles', DIXON_COLES_PARAMS, given);
  trainingOutcomes('dixon-coles', data.matches);
  const byComp = new Map<string, MatchFact[]>();
  for (const m of data.matches) {
    const list = byComp.get(m.competition);
    if (list) list.push(m);
    else byComp.set(m.competition, [m]);
  }
  const names = [...byComp.keys()].sort();
  const fits = names.map((name) => fitCompetition(name, byComp.get(name)!, params, options));
  const total = fits.reduce((s, f) => s + f.matches, 0);
  // With one competition there is nothing to pool with.
  const pooledHome = fits.length > 1 ? fits.reduce((s, f) => s + (f.home * f.matches) / total, 0) : undefined;
  const competitions: Record<string, DixonColesCompetition> = {};
  names.forEach((name, k) => {
    competitions[name] = withPriors(name, fits[k]!, pooledHome, params, options);
  });
  return new DixonColesModel(params, { competitions });
}

/** Rebuild a dixon-coles model from its serialised form. */
export function loadDixonColes(serialized: SerializedModel): Model {
  const { state, params } = readState<DixonColesState, DixonColesParams>('dixon-coles', DIXON_COLES_PARAMS, serialized, stateSchema);
  for (const [name, c] of Object.entries(state.competitions)) {
    if (c.attack.length !== c.teams.length || c.defence.length !== c.teams.length) {
      throw new RangeError(
        `invalid serialized dixon-coles model: competition ${name} has ${c.teams.length} teams but ${c.attack.length} attack / ${c.defence.length} defence values`,
      );
    }
  }
  return new DixonColesModel(params, state);
}
