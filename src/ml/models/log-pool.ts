/**
 * Logarithmic pooling learnt by stacking: p ∝ Π_k p_k^{w_k} = softmax(Σ_k w_k·log p_k), with w_k ≥ 0 fitted to
 * minimise log loss on held-out forecasts. Any single member, sharpened or softened by a temperature, is a point of
 * this family (w = e_k / T).
 *
 * Tried and left out (all-league protocol, last 3 seasons of E0 E1 D1 SP1 I1 F1, members dixon-coles, elo-ordered,
 * logreg, 7,134 matches): a ridge pulling the weights towards 1/K worth 30 or 300 matches (RPS 0.2037, 0.2042 against
 * 0.2033 without), and per-outcome biases, which over-fitted simulated leagues.
 */
import type { Probs } from '../types.js';
import { minimizeLbfgs } from './lbfgs.js';

/** Learnt pooling: one non-negative weight per member. */
export interface LogPool {
  weights: number[];
}

/** Predictions are floored here before their log is taken (as the ONNX graph does). */
export const LOG_FLOOR = 1e-12;

/** Pools member probabilities for one match: softmax(Σ_k w_k log p_k). */
export function poolProbs(members: readonly Probs[], pool: LogPool): [number, number, number] {
  const z = [0, 0, 0];
  members.forEach((p, k) => {
    for (let c = 0; c < 3; c++) z[c]! += pool.weights[k]! * Math.log(Math.max(p[c]!, LOG_FLOOR));
  });
  const m = Math.max(z[0]!, z[1]!, z[2]!);
  const e = z.map((v) => Math.exp(v - m));
  const s = e[0]! + e[1]! + e[2]!;
  return [e[0]! / s, e[1]! / s, e[2]! / s];
}

/**
 * Fits the pool on held-out forecasts: `preds[k][i]` is member k's forecast of match i, `outcomes[i]` its result
 * (0 home, 1 draw, 2 away). Weights are parametrised as w = exp(u), so they stay positive; the fit starts at 1/K.
 */
export function fitLogPool(preds: readonly (readonly Probs[])[], outcomes: readonly number[]): LogPool {
  const K = preds.length;
  const n = outcomes.length;
  if (K === 0 || n === 0 || preds.some((p) => p.length !== n)) throw new RangeError('fitLogPool: one forecast per member and match required');
  const logs = preds.map((member) => member.map((p) => [0, 1, 2].map((c) => Math.log(Math.max(p[c]!, LOG_FLOOR)))));
  const z = new Float64Array(3);
  const q = new Float64Array(3);
  const objective = (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const w = Array.from(x, Math.exp);
    let f = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += w[k]! * logs[k]![i]![c]!;
        z[c] = s;
      }
      const m = Math.max(z[0]!, z[1]!, z[2]!);
      let sum = 0;
      for (let c = 0; c < 3; c++) sum += q[c] = Math.exp(z[c]! - m);
      const y = outcomes[i]!;
      f -= z[y]! - m - Math.log(sum);
      for (let c = 0; c < 3; c++) {
        const r = q[c]! / sum - (c === y ? 1 : 0);
        for (let k = 0; k < K; k++) grad[k]! += r * w[k]! * logs[k]![i]![c]!;
      }
    }
    f /= n;
    for (let k = 0; k < K; k++) grad[k]! /= n;
    return f;
  };
  const { x } = minimizeLbfgs(objective, new Float64Array(K).fill(Math.log(1 / K)), { model: 'ensemble', maxIter: 500 });
  return { weights: Array.from(x, Math.exp) };
}
