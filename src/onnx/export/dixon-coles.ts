/**
 * dixon-coles → ONNX, computed in float64 and matching DixonColesModel.predict step by step:
 *
 * - Ratings are initialisers laid out as one table per parameter over (competition, team) of the shared vocabulary:
 *   attack/defence are [(C+1)·(V+1)], row c = competitions[c], column t = teams[t]; a team the competition's fit did
 *   not see holds that competition's new-team prior, column V is "unseen team" and row C is "unseen competition"
 *   (average teams with the match-weighted mean intercept, home advantage and ρ), exactly like the TS fallbacks.
 *   Intercept, home and ρ are [C+1] vectors. Indices outside [0, V) / [0, C) are mapped to the unseen slot in-graph.
 * - λ, μ are clamped to [MIN_RATE, MAX_RATE], ρ to its valid range for the match, and the Poisson pmfs are evaluated
 *   as k·log r − r − log k! (log-factorials are an initialiser) on a fixed grid 0..G−1, G chosen at export from the
 *   largest rate any (competition, home, away) index can produce; a per-row mask keeps only 0..size−1 with the TS
 *   size max(maxGoals, ⌈r + 8√r⌉) + 1, so the grid and the renormalisation are those of the TS model.
 * - The score matrix px ⊗ py is rank one outside the four τ cells, so its home/draw/away sums are taken as
 *   Σ px·cumsum_excl(py), Σ py·cumsum_excl(px) and Σ px·py (O(G) per match, not O(G²), and no [N, G, G] tensor), and
 *   τ − 1 times each low-score cell is added to the outcome it belongs to, as in dixonColesProbs.
 */
import type { DixonColesState } from '../../ml/models/dixon-coles.js';
import { MAX_RATE, MIN_RATE } from '../../ml/models/dixon-coles-math.js';
import { attr, dataType, type GraphBuilder } from '../graph.js';
import { INPUT, normaliseRows, type ExportContext, type ProbsValue, type Vocabulary } from './common.js';

/** Ratings laid out over the vocabulary (see the module comment). */
export interface DixonColesTables {
  attack: Float64Array;
  defence: Float64Array;
  intercept: Float64Array;
  home: Float64Array;
  rho: Float64Array;
  /** Grid size G: cells 0..G−1 cover the largest per-match grid the TS model would use. */
  grid: number;
}

/** The ratings of a fitted state as tables over the vocabulary, with the grid size they need. */
export function dixonColesTables(state: DixonColesState, maxGoals: number, vocab: Vocabulary): DixonColesTables {
  const comps = Object.values(state.competitions);
  const n = comps.reduce((s, c) => s + c.matches, 0);
  if (!(n > 0)) throw new RangeError('cannot export dixon-coles to ONNX: the model has no fitted competition with matches');
  // The same arithmetic, in the same order, as the TS model's fallback for an unseen competition.
  const mean = (pick: (c: (typeof comps)[number]) => number): number => comps.reduce((s, c) => s + (pick(c) * c.matches) / n, 0);
  const V = vocab.teams.length;
  const C = vocab.competitions.length;
  const stride = V + 1;
  const t: DixonColesTables = {
    attack: new Float64Array((C + 1) * stride),
    defence: new Float64Array((C + 1) * stride),
    intercept: new Float64Array(C + 1),
    home: new Float64Array(C + 1),
    rho: new Float64Array(C + 1),
    grid: 0,
  };
  vocab.competitions.forEach((name, c) => {
    const comp = Object.hasOwn(state.competitions, name) ? state.competitions[name] : undefined;
    if (comp === undefined) {
      // A competition of another ensemble member: this member treats it as unseen.
      t.intercept[c] = mean((x) => x.intercept);
      t.home[c] = mean((x) => x.home);
      t.rho[c] = mean((x) => x.rho);
      return;
    }
    t.intercept[c] = comp.intercept;
    t.home[c] = comp.home;
    t.rho[c] = comp.rho;
    const slot = new Map(comp.teams.map((id, i) => [id, i]));
    for (let v = 0; v <= V; v++) {
      const i = v < V ? slot.get(vocab.teams[v]!) : undefined;
      t.attack[c * stride + v] = i === undefined ? comp.newTeam.attack : comp.attack[i]!;
      t.defence[c * stride + v] = i === undefined ? comp.newTeam.defence : comp.defence[i]!;
    }
  });
  t.intercept[C] = mean((x) => x.intercept);
  t.home[C] = mean((x) => x.home);
  t.rho[C] = mean((x) => x.rho);
  let size = maxGoals + 1;
  for (let c = 0; c <= C; c++) {
    let maxAttack = -Infinity;
    let minDefence = Infinity;
    for (let v = 0; v <= V; v++) {
      maxAttack = Math.max(maxAttack, t.attack[c * stride + v]!);
      minDefence = Math.min(minDefence, t.defence[c * stride + v]!);
    }
    const top = Math.max(t.intercept[c]! + t.home[c]! + maxAttack - minDefence, t.intercept[c]! + maxAttack - minDefence);
    const r = Math.min(MAX_RATE, Math.max(MIN_RATE, Math.exp(top)));
    size = Math.max(size, Math.max(maxGoals, Math.ceil(r + 8 * Math.sqrt(r))) + 1);
  }
  // One spare cell: the in-graph size of a rate at the bound may round up by one; the mask zeroes it otherwise.
  t.grid = size + 1;
  return t;
}

/** log k! for k = 0..size−1, accumulated like the TS model's table. */
function logFactorials(size: number): number[] {
  const out = [0];
  while (out.length < size) out.push(out[out.length - 1]! + Math.log(out.length));
  return out;
}

/** An index input mapped into [0, n]: anything outside [0, n) becomes n (the unseen slot); shape [N, 1]. */
function slotIndex(g: GraphBuilder, input: string, n: number, hint: string): string {
  const limit = g.scalar(`${hint}_unseen`, 'int64', n);
  const inRange = g.op('And', [g.op('GreaterOrEqual', [input, g.scalar(`${hint}_zero`, 'int64', 0)]), g.op('Less', [input, limit])]);
  return g.op('Unsqueeze', [g.op('Where', [inRange, input, limit]), g.vector(`${hint}_axis`, 'int64', [1])]);
}

/** Build the dixon-coles subgraph over the context's vocabulary; returns float64 [N, 3]. */
export function buildDixonColes(ctx: ExportContext, state: DixonColesState, maxGoals: number): ProbsValue {
  const { g } = ctx;
  const vocab = ctx.vocabulary;
  if (vocab === null) throw new Error('onnx export: dixon-coles needs the team inputs');
  const tables = dixonColesTables(state, maxGoals, vocab);
  const V = vocab.teams.length;
  const c = slotIndex(g, INPUT.competition, vocab.competitions.length, 'competition');
  const h = slotIndex(g, INPUT.home, V, 'home');
  const a = slotIndex(g, INPUT.away, V, 'away');
  const row = g.op('Mul', [c, g.scalar('stride', 'int64', V + 1)]);
  const cellH = g.op('Add', [row, h]);
  const cellA = g.op('Add', [row, a]);
  const attack = g.vector('attack', 'float64', tables.attack);
  const defence = g.vector('defence', 'float64', tables.defence);
  const gather = (table: string, idx: string): string => g.op('Gather', [table, idx], { axis: attr.int(0) });
  const intercept = gather(g.vector('intercept', 'float64', tables.intercept), c);
  const homeAdv = gather(g.vector('home_advantage', 'float64', tables.home), c);
  const rhoFit = gather(g.vector('rho', 'float64', tables.rho), c);
  const f64 = (hint: string, v: number): string => g.scalar(hint, 'float64', v);
  const clampRate = (eta: string): string => g.op('Min', [g.op('Max', [g.op('Exp', [eta]), f64('min_rate', MIN_RATE)]), f64('max_rate', MAX_RATE)]);
  // log λ = intercept + home + attack[h] − defence[a]; log μ = intercept + attack[a] − defence[h] (TS order of sums).
  const lambda = clampRate(g.op('Sub', [g.op('Add', [g.op('Add', [intercept, homeAdv]), gather(attack, cellH)]), gather(defence, cellA)]));
  const mu = clampRate(g.op('Sub', [g.op('Add', [intercept, gather(attack, cellA)]), gather(defence, cellH)]));
  // ρ clamped into [max(−1/λ, −1/μ), min(1/(λμ), 1)] so no τ factor is negative.
  const one = f64('one', 1);
  const minusOne = f64('minus_one', -1);
  const lm = g.op('Mul', [lambda, mu]);
  const lo = g.op('Max', [g.op('Div', [minusOne, lambda]), g.op('Div', [minusOne, mu])]);
  const hi = g.op('Min', [g.op('Div', [one, lm]), one]);
  const rho = g.op('Min', [hi, g.op('Max', [lo, rhoFit])]);
  // The TS grid 0..size−1 for this match, size = max(maxGoals, ⌈r + 8√r⌉) + 1 with r = max(λ, μ).
  const r = g.op('Max', [lambda, mu]);
  const size = g.op('Add', [
    g.op('Max', [f64('max_goals', maxGoals), g.op('Ceil', [g.op('Add', [r, g.op('Mul', [f64('eight', 8), g.op('Sqrt', [r])])])])]),
    one,
  ]);
  const k = g.vector(
    'goals',
    'float64',
    Array.from({ length: tables.grid }, (_, i) => i),
  );
  const mask = g.op('Cast', [g.op('Less', [k, size])], { to: attr.int(dataType('float64')) });
  const logFact = g.vector('log_factorial', 'float64', logFactorials(tables.grid));
  // Poisson pmf divided by its largest term (the mode lies inside the grid), zero beyond the match's grid.
  const pmf = (rate: string): string => {
    const lp = g.op('Sub', [g.op('Sub', [g.op('Mul', [k, g.op('Log', [rate])]), rate]), logFact]);
    const top = g.op('ReduceMax', [lp], { axes: attr.ints([1]), keepdims: attr.int(1) });
    return g.op('Mul', [g.op('Exp', [g.op('Sub', [lp, top])]), mask]);
  };
  const px = pmf(lambda);
  const py = pmf(mu);
  const axis = g.vector('axis1', 'int64', [1]);
  const sum = (x: string): string => g.op('ReduceSum', [x, axis], { keepdims: attr.int(1) });
  const cumsum = (x: string): string => g.op('CumSum', [x, g.scalar('cum_axis', 'int64', 1)], { exclusive: attr.int(1) });
  const cell = (x: string, i: number): string => g.op('Slice', [x, g.vector(`from${i}`, 'int64', [i]), g.vector(`to${i}`, 'int64', [i + 1]), axis]);
  const [px0, px1, py0, py1] = [cell(px, 0), cell(px, 1), cell(py, 0), cell(py, 1)];
  const mul = (...xs: string[]): string => xs.reduce((acc, x) => g.op('Mul', [acc, x]));
  const negLambda = g.op('Neg', [lambda]);
  // Outcome sums of the uncorrected matrix, then (τ − 1)·cell for the four low scores.
  const home = g.op('Add', [sum(g.op('Mul', [px, cumsum(py)])), mul(px1, py0, mu, rho)]);
  const away = g.op('Add', [sum(g.op('Mul', [py, cumsum(px)])), mul(px0, py1, lambda, rho)]);
  const draw = g.op('Add', [sum(g.op('Mul', [px, py])), g.op('Add', [mul(px0, py0, negLambda, mu, rho), mul(px1, py1, g.op('Neg', [rho]))])]);
  const probs = g.op('Concat', [home, draw, away], { axis: attr.int(1) });
  return { name: normaliseRows(g, probs, 'float64'), type: 'float64', quantized: false };
}
