/** Dixon & Coles (1997) maths: the τ low-score correction, valid ρ range, 1x2 probabilities and the fit objective. */
import type { Probs } from '../types.js';
import type { CurvedObjective, Objective } from './lbfgs.js';
import { finishProbs } from './numeric.js';

/** Scoring rates are kept in this range: beyond it no football score lives, and the grid stays small. */
export const MIN_RATE = 1e-6;
/** Upper end of the kept scoring-rate range. */
export const MAX_RATE = 50;

const LOG_FACT: number[] = [0];
function logFactorial(n: number): number {
  while (LOG_FACT.length <= n) LOG_FACT.push(LOG_FACT[LOG_FACT.length - 1]! + Math.log(LOG_FACT.length));
  return LOG_FACT[n]!;
}

/** The ρ interval that keeps every τ factor ≥ 0 for rates λ (home) and μ (away). */
export function rhoBounds(lambda: number, mu: number): [number, number] {
  return [Math.max(-1 / lambda, -1 / mu), Math.min(1 / (lambda * mu), 1)];
}

/** ρ clamped into rhoBounds(λ, μ). */
export function clampRho(rho: number, lambda: number, mu: number): number {
  const [lo, hi] = rhoBounds(lambda, mu);
  return Math.min(hi, Math.max(lo, rho));
}

/**
 * [home, draw, away] from the τ-corrected double Poisson. ρ is clamped per match so no cell is negative, the grid
 * (0..maxGoals, grown for high rates so the cut tail stays negligible) is renormalised, and all sums run in a
 * max-shifted scale so extreme rates cannot underflow to 0/0.
 */
export function dixonColesProbs(lambdaIn: number, muIn: number, rhoIn: number, maxGoals: number): Probs {
  const lambda = Math.min(MAX_RATE, Math.max(MIN_RATE, lambdaIn));
  const mu = Math.min(MAX_RATE, Math.max(MIN_RATE, muIn));
  const rho = clampRho(rhoIn, lambda, mu);
  const r = Math.max(lambda, mu);
  const size = Math.max(maxGoals, Math.ceil(r + 8 * Math.sqrt(r))) + 1;
  const px = shiftedPmf(lambda, size);
  const py = shiftedPmf(mu, size);
  let home = 0;
  let draw = 0;
  let away = 0;
  let cumY = 0; // Σ py[0..x-1]
  let cumX = 0; // Σ px[0..y-1]
  for (let i = 0; i < size; i++) {
    home += px[i]! * cumY;
    away += py[i]! * cumX;
    draw += px[i]! * py[i]!;
    cumY += py[i]!;
    cumX += px[i]!;
  }
  // τ only touches the four low-score cells: add (τ − 1)·cell to the outcome each cell belongs to.
  draw += px[0]! * py[0]! * -lambda * mu * rho + px[1]! * py[1]! * -rho;
  away += px[0]! * py[1]! * lambda * rho;
  home += px[1]! * py[0]! * mu * rho;
  return finishProbs(home, draw, away, 'dixon-coles');
}

/** Poisson pmf on 0..size-1 divided by its largest term (relative scale only; normalised later). */
function shiftedPmf(rate: number, size: number): Float64Array {
  const lp = new Float64Array(size);
  let max = -Infinity;
  for (let k = 0; k < size; k++) {
    lp[k] = k * Math.log(rate) - rate - logFactorial(k);
    if (lp[k]! > max) max = lp[k]!;
  }
  return lp.map((v) => Math.exp(v - max));
}

/** Training rows of one competition, with team indices into the parameter vector. */
export interface DcRows {
  home: Int32Array;
  away: Int32Array;
  hg: Int32Array;
  ag: Int32Array;
  w: Float64Array;
  nTeams: number;
  /** Ridge centres of [a_0..a_{n−1}, d_0..d_{n−1}] (0 when absent): where a team's strength is pulled. */
  centre?: Float64Array;
  /** Ridge strengths of the same 2n parameters, replacing the single l2 where given. */
  strength?: Float64Array;
  /** A ridge on the home advantage γ: strength·(γ − centre)²/Σw (none when absent). */
  homePrior?: { centre: number; strength: number };
}

/**
 * Negative weighted log-likelihood / Σw plus l2·Σ(a²+d²)/Σw (or, with rows.centre/strength, Σ l2ᵢ(xᵢ − cᵢ)²/Σw); x = [c, γ, ρ, a_0..a_{n−1}, d_0..d_{n−1}] with
 * log λ = c + γ + a_home − d_away and log μ = c + a_away − d_home. Returns Infinity where ρ leaves the valid
 * range of any training match, so the line search backtracks instead of stepping into negative probabilities.
 * Includes the centring term described at dcCurvedObjective.
 */
export function dcObjective(rows: DcRows, l2: number): Objective {
  const evaluate = dcCurvedObjective(rows, l2);
  return (x, grad) => evaluate(x, grad, null);
}

/**
 * dcObjective with its exact Hessian (written when `hess` is given), for Newton's method. It adds
 * ((Σuᵢ(aᵢ − cᵢ))² + (Σuᵢ(dᵢ − cᵢ))²)/(2n), u the ridge strengths over their mean (1 with one l2): shifting every
 * attack and defence together, or every attack against the intercept, leaves all rates unchanged, so without this
 * term the Hessian is singular. The term is 0 where the ridge is optimal along those shifts, so it changes no rate.
 */
export function dcCurvedObjective(rows: DcRows, l2: number): CurvedObjective {
  const n = rows.nTeams;
  const size = 3 + 2 * n;
  let total = 0;
  for (const wi of rows.w) total += wi;
  const { centre, strength } = rows;
  const u = centringWeights(rows.strength, n);
  return (x, grad, hess) => {
    grad.fill(0);
    hess?.fill(0);
    const c = x[0]!;
    const gamma = x[1]!;
    const rho = x[2]!;
    let f = 0;
    let lo = -Infinity;
    let hi = 1;
    for (let k = 0; k < rows.w.length; k++) {
      const h = rows.home[k]!;
      const a = rows.away[k]!;
      const etaL = c + gamma + x[3 + h]! - x[3 + n + a]!;
      const etaM = c + x[3 + a]! - x[3 + n + h]!;
      const lambda = Math.exp(etaL);
      const mu = Math.exp(etaM);
      lo = Math.max(lo, -1 / lambda, -1 / mu);
      hi = Math.min(hi, 1 / (lambda * mu));
      const xg = rows.hg[k]!;
      const yg = rows.ag[k]!;
      // log τ and its first (tL, tM, tR) and second derivatives in η_λ, η_μ and ρ; all 0 outside the four low scores.
      let tau = 1;
      let tL = 0;
      let tM = 0;
      let tR = 0;
      let tLL = 0;
      let tMM = 0;
      let tLM = 0;
      let tLR = 0;
      let tMR = 0;
      let tRR = 0;
      if (xg === 0 && yg === 0) {
        const lm = lambda * mu;
        tau = 1 - lm * rho;
        const q = (lm * rho) / tau;
        tL = tM = -q;
        tR = -lm / tau;
        tLL = tMM = tLM = -q / tau;
        tLR = tMR = -lm / (tau * tau);
        tRR = -tR * tR;
      } else if (xg === 0 && yg === 1) {
        tau = 1 + lambda * rho;
        tL = (lambda * rho) / tau;
        tR = lambda / tau;
        tLL = tL / tau;
        tLR = tR / tau;
        tRR = -tR * tR;
      } else if (xg === 1 && yg === 0) {
        tau = 1 + mu * rho;
        tM = (mu * rho) / tau;
        tR = mu / tau;
        tMM = tM / tau;
        tMR = tR / tau;
        tRR = -tR * tR;
      } else if (xg === 1 && yg === 1) {
        tau = 1 - rho;
        tR = -1 / tau;
        tRR = -tR * tR;
      }
      const wk = rows.w[k]! / total;
      f -= wk * (Math.log(tau) + xg * etaL - lambda + yg * etaM - mu);
      // Gradient of the negative log-likelihood through η_λ = c + γ + a_h − d_a and η_μ = c + a_a − d_h.
      const ah = 3 + h;
      const da = 3 + n + a;
      const aa = 3 + a;
      const dh = 3 + n + h;
      const gL = -wk * (xg - lambda + tL);
      const gM = -wk * (yg - mu + tM);
      grad[0]! += gL + gM;
      grad[1]! += gL;
      grad[2]! -= wk * tR;
      grad[ah]! += gL;
      grad[da]! -= gL;
      grad[aa]! += gM;
      grad[dh]! -= gM;
      if (hess) {
        // The same chain rule one order up, written out: rows 0–2 (c, γ, ρ) and the diagonal here, the upper
        // triangle of the team block below; the lower triangle is mirrored once at the end.
        const hLL = wk * (lambda - tLL);
        const hMM = wk * (mu - tMM);
        const hLM = -wk * tLM;
        const hLR = -wk * tLR;
        const hMR = -wk * tMR;
        hess[0]! += hLL + hMM + 2 * hLM;
        hess[1]! += hLL + hLM;
        hess[2]! += hLR + hMR;
        hess[size + 1]! += hLL;
        hess[size + 2]! += hLR;
        hess[2 * size + 2]! -= wk * tRR;
        hess[ah]! += hLL + hLM;
        hess[da]! -= hLL + hLM;
        hess[aa]! += hMM + hLM;
        hess[dh]! -= hMM + hLM;
        hess[size + ah]! += hLL;
        hess[size + da]! -= hLL;
        hess[size + aa]! += hLM;
        hess[size + dh]! -= hLM;
        hess[2 * size + ah]! += hLR;
        hess[2 * size + da]! -= hLR;
        hess[2 * size + aa]! += hMR;
        hess[2 * size + dh]! -= hMR;
        hess[ah * size + ah]! += hLL;
        hess[da * size + da]! += hLL;
        hess[aa * size + aa]! += hMM;
        hess[dh * size + dh]! += hMM;
        // Attack indices are all below defence indices, so (attack, defence) pairs sit in the upper triangle.
        hess[ah * size + da]! -= hLL;
        hess[aa * size + dh]! -= hMM;
        if (hLM !== 0) {
          hess[Math.min(ah, aa) * size + Math.max(ah, aa)]! += hLM;
          hess[ah * size + dh]! -= hLM;
          hess[aa * size + da]! -= hLM;
          hess[Math.min(da, dh) * size + Math.max(da, dh)]! += hLM;
        }
      }
    }
    if (!(rho >= lo && rho <= hi)) return Infinity;
    // Centring term on the ridge-weighted deviations: 0, with a 0 gradient, where the ridge itself is optimal along
    // the two flat directions, so it removes the singularity without moving any fitted rate.
    let sa = 0;
    let sd = 0;
    for (let i = 0; i < n; i++) {
      sa += u[i]! * (x[3 + i]! - (centre?.[i] ?? 0));
      sd += u[n + i]! * (x[3 + n + i]! - (centre?.[n + i] ?? 0));
    }
    f += (sa * sa + sd * sd) / (2 * n);
    for (let i = 0; i < n; i++) {
      grad[3 + i]! += (u[i]! * sa) / n;
      grad[3 + n + i]! += (u[n + i]! * sd) / n;
    }
    if (rows.homePrior) {
      const dev = gamma - rows.homePrior.centre;
      f += (rows.homePrior.strength * dev * dev) / total;
      grad[1]! += (2 * rows.homePrior.strength * dev) / total;
      if (hess) hess[size + 1]! += (2 * rows.homePrior.strength) / total;
    }
    for (let i = 3; i < size; i++) {
      const li = strength?.[i - 3] ?? l2;
      const dev = x[i]! - (centre?.[i - 3] ?? 0);
      f += (li * dev * dev) / total;
      grad[i]! += (2 * li * dev) / total;
    }
    if (hess) {
      for (let i = 0; i < n; i++) {
        for (let j = i; j < n; j++) {
          hess[(3 + i) * size + 3 + j]! += (u[i]! * u[j]!) / n;
          hess[(3 + n + i) * size + 3 + n + j]! += (u[n + i]! * u[n + j]!) / n;
        }
      }
      for (let i = 3; i < size; i++) hess[i * size + i]! += (2 * (strength?.[i - 3] ?? l2)) / total;
      for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) hess[j * size + i] = hess[i * size + j]!;
    }
    return f;
  };
}

/** Each team parameter's ridge strength relative to its block's mean (all 1 with a single l2, or when it is 0). */
function centringWeights(strength: Float64Array | undefined, n: number): Float64Array {
  const u = new Float64Array(2 * n).fill(1);
  if (!strength) return u;
  for (const from of [0, n]) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += strength[from + i]! / n;
    if (mean > 0) for (let i = 0; i < n; i++) u[from + i] = strength[from + i]! / mean;
  }
  return u;
}
