/** Dixon–Coles team-strength model with time decay, one parameter set per competition; ignores X. */
import { z } from 'zod';
import type { MatchFact, Probs } from '../types.js';
import { dcCurvedObjective, dixonColesProbs, type DcRows } from './dixon-coles-math.js';
import { minimizeNewton } from './lbfgs.js';
import { daysBetween, lastDate, trainingOutcomes } from './numeric.js';
import { resolveWith } from './params.js';
import { numbers, readState } from './state.js';
import type { Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of dixon-coles. */
export type DixonColesParams = { xi: number; maxGoals: number; l2: number; newTeamPrior: string; newTeamK: number; maxIter: number };

/**
 * Days between in-season refits under `--walk-forward season`: team strengths only move when the model is fitted.
 * Chosen on E0, E1 and D1 only (last 3 seasons each, bench/RESULTS.md): RPS 0.2096 every 3, 0.2097 every 7,
 * 0.2100 every 14, 0.2096 every 28, 0.2105 every 56 days, 0.2169 without refits. 28 is the lowest and the cheapest
 * of the best; weekly refits lose in a season's first weeks, when a promoted team's strength rests on 1–3 matches.
 */
export const DIXON_COLES_UPDATE_DAYS = 28;

/** Parameter specs of dixon-coles. */
export const DIXON_COLES_PARAMS: readonly ParamSpec[] = [
  { name: 'xi', type: 'float', default: 0.0019, min: 0, max: 0.02, description: 'time decay per day: weight exp(−xi·days before the last training match)' },
  { name: 'maxGoals', type: 'int', default: 10, min: 5, max: 30, description: 'score grid 0..maxGoals (grown automatically for very high rates)' },
  { name: 'l2', type: 'float', default: 0.1, min: 0, max: 100, search: { min: 1e-3, max: 30, log: true }, description: 'ridge on attack/defence in log-likelihood units (prior sd 1/√(2·l2)); keeps tiny samples finite' },
  { name: 'newTeamPrior', type: 'categorical', default: 'weakest', choices: ['weakest', 'average'], description: 'unseen teams: mean of the newTeamK weakest recent teams, or an average team' },
  { name: 'newTeamK', type: 'int', default: 3, min: 1, max: 10, description: 'how many weakest teams the newTeamPrior averages' },
  { name: 'maxIter', type: 'int', default: 500, min: 10, max: 10_000, log: true, description: 'Newton iterations at most, per competition (a fit usually takes 5–20)' },
];

// Teams that played within this many days of a competition's last training match are the pool for the 'weakest' prior.
const RECENT_DAYS = 365;

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
    this.fallback = { teams: [], attack: [], defence: [], intercept: mean((c) => c.intercept), home: mean((c) => c.home), rho: mean((c) => c.rho), newTeam: { attack: 0, defence: 0 }, matches: 0, lastDate: '', converged: true };
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

function fitCompetition(matches: MatchFact[], params: DixonColesParams, options: FitOptions): DixonColesCompetition {
  const teams = [...new Set(matches.flatMap((m) => [m.homeTeam, m.awayTeam]))].sort((a, b) => a - b);
  const slot = new Map(teams.map((t, i) => [t, i]));
  const last = lastDate(matches);
  // One pass into typed arrays; ages (days before the last match) also feed the new-team prior.
  const count = matches.length;
  const rows: DcRows = { home: new Int32Array(count), away: new Int32Array(count), hg: new Int32Array(count), ag: new Int32Array(count), w: new Float64Array(count), nTeams: teams.length };
  const ages = new Float64Array(count);
  matches.forEach((m, k) => {
    rows.home[k] = slot.get(m.homeTeam)!;
    rows.away[k] = slot.get(m.awayTeam)!;
    rows.hg[k] = m.homeGoals!;
    rows.ag[k] = m.awayGoals!;
    ages[k] = daysBetween(m.date, last);
    rows.w[k] = Math.exp(-params.xi * ages[k]!);
  });
  // Start from the (smoothed) average scoring rates; team strengths at 0 and ρ = 0, which is always feasible.
  let w = 0;
  let hg = 0;
  let ag = 0;
  rows.w.forEach((wk, k) => ((w += wk), (hg += wk * rows.hg[k]!), (ag += wk * rows.ag[k]!)));
  const x0 = new Float64Array(3 + 2 * teams.length);
  x0[0] = Math.log((ag + 0.5) / (w + 1));
  x0[1] = Math.log((hg + 0.5) / (w + 1)) - x0[0];
  // Newton, not L-BFGS: teams last seen years ago carry tiny decayed weights, and that spread of curvatures left
  // L-BFGS short of the optimum after hundreds of iterations on long histories; the exact Hessian takes ~10 steps.
  const { x, converged } = minimizeNewton(dcCurvedObjective(rows, params.l2), x0, { model: 'dixon-coles', maxIter: params.maxIter, signal: options.signal });
  const n = teams.length;
  const attack = Array.from(x.subarray(3, 3 + n));
  const defence = Array.from(x.subarray(3 + n, 3 + 2 * n));
  // Attack and defence can shift together (and attack against the intercept) without changing any rate: centre both.
  const ma = attack.reduce((s, v) => s + v, 0) / n;
  const md = defence.reduce((s, v) => s + v, 0) / n;
  const comp: DixonColesCompetition = {
    teams,
    attack: attack.map((v) => v - ma),
    defence: defence.map((v) => v - md),
    intercept: x[0]! + ma - md,
    home: x[1]!,
    rho: x[2]!,
    newTeam: { attack: 0, defence: 0 },
    matches: matches.length,
    lastDate: last,
    converged,
  };
  comp.newTeam = newTeamPrior(comp, matches, ages, params);
  return comp;
}

/** Strengths for teams absent from training: promoted teams are usually among the weakest, hence the default. */
function newTeamPrior(comp: DixonColesCompetition, matches: MatchFact[], ages: Float64Array, params: DixonColesParams): { attack: number; defence: number } {
  if (params.newTeamPrior === 'average') return { attack: 0, defence: 0 };
  const recent = new Set<number>();
  matches.forEach((m, k) => {
    if (ages[k]! <= RECENT_DAYS) recent.add(m.homeTeam).add(m.awayTeam);
  });
  const pool = comp.teams
    .map((t, i) => ({ t, a: comp.attack[i]!, d: comp.defence[i]! }))
    .filter((e) => recent.has(e.t))
    .sort((p, q) => p.a + p.d - (q.a + q.d) || p.t - q.t)
    .slice(0, params.newTeamK);
  return { attack: pool.reduce((s, e) => s + e.a, 0) / pool.length, defence: pool.reduce((s, e) => s + e.d, 0) / pool.length };
}

/** Fit one Dixon–Coles parameter set per competition in data.matches. */
export async function fitDixonColes(data: Dataset, given: Partial<DixonColesParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<DixonColesParams>('dixon-coles', DIXON_COLES_PARAMS, given);
  trainingOutcomes('dixon-coles', data.matches);
  const byComp = new Map<string, MatchFact[]>();
  for (const m of data.matches) {
    const list = byComp.get(m.competition);
    if (list) list.push(m);
    else byComp.set(m.competition, [m]);
  }
  const competitions: Record<string, DixonColesCompetition> = {};
  for (const name of [...byComp.keys()].sort()) competitions[name] = fitCompetition(byComp.get(name)!, params, options);
  return new DixonColesModel(params, { competitions });
}

/** Rebuild a dixon-coles model from its serialised form. */
export function loadDixonColes(serialized: SerializedModel): Model {
  const { state, params } = readState<DixonColesState, DixonColesParams>('dixon-coles', DIXON_COLES_PARAMS, serialized, stateSchema);
  for (const [name, c] of Object.entries(state.competitions)) {
    if (c.attack.length !== c.teams.length || c.defence.length !== c.teams.length) {
      throw new RangeError(`invalid serialized dixon-coles model: competition ${name} has ${c.teams.length} teams but ${c.attack.length} attack / ${c.defence.length} defence values`);
    }
  }
  return new DixonColesModel(params, state);
}
