/** Dixon & Coles (1997) maths: the τ low-score correction, valid ρ range, 1x2 probabilities and the fit objective. */
import type { Probs } from '../types.js';
import type { Objective } from './lbfgs.js';
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
}

/**
 * Negative weighted log-likelihood / Σw plus l2·Σ(a²+d²)/Σw; x = [c, γ, ρ, a_0..a_{n−1}, d_0..d_{n−1}] with
 * log λ = c + γ + a_home − d_away and log μ = c + a_away − d_home. Returns Infinity where ρ leaves the valid
 * range of any training match, so the line search backtracks instead of stepping into negative probabilities.
 */
export function dcObjective(rows: DcRows, l2: number): Objective {
  const n = rows.nTeams;
  let total = 0;
  for (const wi of rows.w) total += wi;
  return (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
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
      let tau = 1;
      let dL = xg - lambda;
      let dM = yg - mu;
      let dRho = 0;
      if (xg === 0 && yg === 0) {
        tau = 1 - lambda * mu * rho;
        dL -= (lambda * mu * rho) / tau;
        dM -= (lambda * mu * rho) / tau;
        dRho = (-lambda * mu) / tau;
      } else if (xg === 0 && yg === 1) {
        tau = 1 + lambda * rho;
        dL += (lambda * rho) / tau;
        dRho = lambda / tau;
      } else if (xg === 1 && yg === 0) {
        tau = 1 + mu * rho;
        dM += (mu * rho) / tau;
        dRho = mu / tau;
      } else if (xg === 1 && yg === 1) {
        tau = 1 - rho;
        dRho = -1 / tau;
      }
      const wk = rows.w[k]! / total;
      f -= wk * (Math.log(tau) + xg * etaL - lambda + yg * etaM - mu);
      // Gradient of the negative log-likelihood through log λ and log μ.
      grad[0]! -= wk * (dL + dM);
      grad[1]! -= wk * dL;
      grad[2]! -= wk * dRho;
      grad[3 + h]! -= wk * dL;
      grad[3 + n + a]! += wk * dL;
      grad[3 + a]! -= wk * dM;
      grad[3 + n + h]! += wk * dM;
    }
    if (!(rho >= lo && rho <= hi)) return Infinity;
    for (let i = 3; i < 3 + 2 * n; i++) {
      f += (l2 * x[i]! ** 2) / total;
      grad[i]! += (2 * l2 * x[i]!) / total;
    }
    return f;
  };
}
