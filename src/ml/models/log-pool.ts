/**
 * Logarithmic pooling learnt by stacking: p ∝ Π_k p_k^{w_k} = softmax(Σ_k w_k·log p_k), with w_k ≥ 0 fitted to
 * minimise log loss on held-out forecasts, under a ridge that pulls the weights towards the plain geometric mean
 * (w = 1/K). Any single member, sharpened or softened by a temperature, is a point of this family (w = e_k / T).
 */
import type { Probs } from '../types.js';
import { minimizeLbfgs } from './lbfgs.js';

/** Learnt pooling: one non-negative weight per member. */
export interface LogPool {
  weights: number[];
}

/** Predictions are floored here before their log is taken (as the ONNX graph does). */
export const LOG_FLOOR = 1e-12;

/**
 * Strength of the pull towards equal weights, in matches: the ridge is SHRINK/n·Σ(w_k − 1/K)², so it fades as the
 * hold-out grows. Chosen on simulated leagues (src/ml/models/synthetic.ts, 4 seeds × 4 one-season-ahead splits):
 * free weights over-fitted one or two seasons of hold-out and lost to their best member (mean log loss 0.9942 vs
 * 0.9935), per-outcome biases more so (0.9961); a pull worth 300 matches gave 0.9913, and equal weights themselves
 * 0.9905 there. On real leagues the members differ far more (Dixon-Coles trails logreg by 0.005 RPS), which is what
 * learnt weights are for; the pull keeps one or two seasons of luck from deciding them.
 */
const SHRINK = 300;

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
  const lambda = SHRINK / n;
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
      for (let c = 0; c < 3; c++) sum += (q[c] = Math.exp(z[c]! - m));
      const y = outcomes[i]!;
      f -= z[y]! - m - Math.log(sum);
      for (let c = 0; c < 3; c++) {
        const r = q[c]! / sum - (c === y ? 1 : 0);
        for (let k = 0; k < K; k++) grad[k]! += r * w[k]! * logs[k]![i]![c]!;
      }
    }
    f /= n;
    for (let k = 0; k < K; k++) {
      grad[k]! /= n;
      f += lambda * (w[k]! - 1 / K) ** 2;
      grad[k]! += 2 * lambda * (w[k]! - 1 / K) * w[k]!;
    }
    return f;
  };
  const { x } = minimizeLbfgs(objective, new Float64Array(K).fill(Math.log(1 / K)), { model: 'ensemble', maxIter: 500 });
  return { weights: Array.from(x, Math.exp) };
}
