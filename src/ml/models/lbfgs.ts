/** L-BFGS, and a damped Newton method for small models with an exact Hessian: the optimisers behind the plain-TS models (float64, deterministic). */
import { TrainingDiverged, type ModelName } from './types.js';

/** Objective: returns f(x) and writes ∇f(x) into grad; may return Infinity/NaN where x is infeasible. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

/** Objective with curvature: returns f(x), writes ∇f(x) into grad and, when hess is not null, ∇²f(x) (row-major n×n) into hess. */
export type CurvedObjective = (x: Float64Array, grad: Float64Array, hess: Float64Array | null) => number;

/** Stopping rules and hooks for minimizeLbfgs. */
export interface LbfgsOptions {
  model: ModelName;
  maxIter: number;
  /** Converged when max |∇f| falls below this. */
  gtol?: number;
  /** Converged when an iteration improves f by less than ftol · max(1, |f|). */
  ftol?: number;
  memory?: number;
  onIter?: (iter: number, f: number) => void;
  signal?: AbortSignal;
  /** Extra words for a TrainingDiverged message (e.g. which inputs are non-finite). */
  hint?: () => string;
}

/** Where the optimiser stopped. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** Minimise f from x0; throws TrainingDiverged if f or ∇f is not finite at the start. */
export function minimizeLbfgs(fg: Objective, x0: Float64Array, opts: LbfgsOptions): LbfgsResult {
  const { maxIter, gtol = 1e-7, ftol = 1e-13, memory = 10 } = opts;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  // A non-finite start cannot be backtracked from: the inputs themselves are bad (NaN features, zero rates).
  if (!Number.isFinite(f) || !allFinite(g)) throw new TrainingDiverged(opts.model, 0, f, opts.hint?.() ?? '');
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const R: number[] = [];
  const d = new Float64Array(n);
  const alpha = new Float64Array(memory);
  let xn = new Float64Array(n);
  let gn = new Float64Array(n);
  let iter = 0;
  let converged = false;
  while (iter < maxIter) {
    opts.signal?.throwIfAborted();
    if (maxAbs(g) <= gtol) {
      converged = true;
      break;
    }
    iter++;
    // Two-loop recursion: d = −H·g with the usual γ = s·y / y·y scaling of the initial Hessian.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let k = S.length - 1; k >= 0; k--) {
      const a = R[k]! * dot(S[k]!, d);
      alpha[k] = a;
      const yk = Y[k]!;
      for (let i = 0; i < n; i++) d[i]! -= a * yk[i]!;
    }
    const last = S.length - 1;
    const gamma = last >= 0 ? 1 / (R[last]! * dot(Y[last]!, Y[last]!)) : 1 / Math.max(1, maxAbs(g));
    for (let i = 0; i < n; i++) d[i]! *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = R[k]! * dot(Y[k]!, d);
      const sk = S[k]!;
      for (let i = 0; i < n; i++) d[i]! += sk[i]! * (alpha[k]! - b);
    }
    let dg = dot(d, g);
    if (!(dg < 0)) {
      // Lost descent (numerical noise in the history): restart from steepest descent.
      S.length = Y.length = R.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]! / Math.max(1, maxAbs(g));
      dg = dot(d, g);
    }
    // Backtracking Armijo search; infeasible points (τ ≤ 0, overflow) come back non-finite and simply shrink the step.
    let step = 1;
    let fn = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xn[i] = x[i]! + step * d[i]!;
      fn = fg(xn, gn);
      if (Number.isFinite(fn) && allFinite(gn) && fn <= f + 1e-4 * step * dg) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fn) ? 0.5 : 0.1;
    }
    if (!accepted) {
      // No step decreases f: we are at the floor of float64 precision, i.e. converged as far as possible.
      converged = maxAbs(g) <= 1e3 * gtol;
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xn[i]! - x[i]!;
      y[i] = gn[i]! - g[i]!;
    }
    const sy = dot(s, y);
    // Keep only pairs with positive curvature so the implied Hessian stays positive definite.
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        R.shift();
      }
      S.push(s);
      Y.push(y);
      R.push(1 / sy);
    }
    const improvement = f - fn;
    [x, xn] = [xn, x];
    [g, gn] = [gn, g];
    f = fn;
    opts.onIter?.(iter, f);
    if (improvement <= ftol * Math.max(1, Math.abs(f))) {
      converged = true;
      break;
    }
  }
  return { x, f, iterations: iter, converged };
}

/** Stopping rules and hooks for minimizeNewton. */
export interface NewtonOptions {
  model: ModelName;
  maxIter: number;
  /** Converged when the Newton decrement −∇f·p falls below tol · max(1, |f|) (the step that showed it is still taken). */
  tol?: number;
  /**
   * Also converged when a step improves f by no more than ftol · max(1, |f|): the optimum lies on the edge of the
   * feasible region (where f is Infinity beyond), so the line search can only take ever smaller steps towards it.
   */
  ftol?: number;
  signal?: AbortSignal;
  /** Extra words for a TrainingDiverged message. */
  hint?: () => string;
  /** Called with the start (iteration 0) and after every step taken: f and the Euclidean norm of ∇f there. */
  onIter?: (iter: number, f: number, gradNorm: number) => void;
}

/**
 * Minimise f from x0 by Newton's method with a backtracking line search; throws TrainingDiverged if f, ∇f or ∇²f is
 * not finite at the start. Where the Hessian is not positive definite (far from the optimum, or along directions the
 * data do not reach) a multiple of the identity is added until it is, so every step still goes downhill. Meant for
 * a few hundred parameters at most: each iteration factorises the dense Hessian.
 */
export function minimizeNewton(fgh: CurvedObjective, x0: Float64Array, opts: NewtonOptions): LbfgsResult {
  const { maxIter, tol = 1e-14, ftol = 1e-15 } = opts;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let H = new Float64Array(n * n);
  let f = fgh(x, g, H);
  if (!Number.isFinite(f) || !allFinite(g) || !allFinite(H)) throw new TrainingDiverged(opts.model, 0, f, opts.hint?.() ?? '');
  opts.onIter?.(0, f, Math.sqrt(dot(g, g)));
  let xn = new Float64Array(n);
  let gn = new Float64Array(n);
  let Hn = new Float64Array(n * n);
  const L = new Float64Array(n * n);
  const p = new Float64Array(n);
  let iter = 0;
  let converged = false;
  while (iter < maxIter) {
    opts.signal?.throwIfAborted();
    iter++;
    dampedNewtonStep(H, g, L, p);
    const dg = dot(p, g);
    const scale = Math.max(1, Math.abs(f));
    // Near the optimum f changes by rounding noise only; a sliver of slack keeps the final, exact steps acceptable.
    const slack = 1e-13 * scale;
    let step = 1;
    let fn = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < n; i++) xn[i] = x[i]! + step * p[i]!;
      fn = fgh(xn, gn, Hn);
      if (Number.isFinite(fn) && allFinite(gn) && allFinite(Hn) && fn <= f + 1e-4 * step * dg + slack) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fn) ? 0.5 : 0.1;
    }
    if (!accepted) {
      // No step decreases f: the floor of float64 precision, which counts as converged only if the model agrees.
      converged = -dg <= 1e3 * tol * scale;
      break;
    }
    const improvement = f - fn;
    [x, xn] = [xn, x];
    [g, gn] = [gn, g];
    [H, Hn] = [Hn, H];
    f = fn;
    opts.onIter?.(iter, f, Math.sqrt(dot(g, g)));
    if (-dg <= tol * scale || improvement <= ftol * scale) {
      converged = true;
      break;
    }
  }
  return { x, f, iterations: iter, converged };
}

/** p = −(H + δI)⁻¹g with the smallest δ (0, then growing tenfold from 1e-10·max|H_ii|) that makes H + δI positive definite. */
function dampedNewtonStep(H: Float64Array, g: Float64Array, L: Float64Array, p: Float64Array): void {
  const n = g.length;
  let diag = 0;
  for (let i = 0; i < n; i++) diag = Math.max(diag, Math.abs(H[i * n + i]!));
  let delta = 0;
  while (!cholesky(H, delta, L, n)) {
    delta = delta === 0 ? 1e-10 * Math.max(diag, 1e-300) : delta * 10;
    if (!Number.isFinite(delta)) {
      // Unreachable for a finite Hessian; if it ever happens, fall back to a scaled steepest-descent step.
      for (let i = 0; i < n; i++) p[i] = -g[i]! / Math.max(1, diag);
      return;
    }
  }
  // Forward then back substitution: L·z = −g, Lᵀ·p = z.
  for (let i = 0; i < n; i++) {
    let s = -g[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * p[k]!;
    p[i] = s / L[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = p[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * p[k]!;
    p[i] = s / L[i * n + i]!;
  }
}

/** Lower Cholesky factor of H + δI into L (row-major); false when that matrix is not (numerically) positive definite. */
function cholesky(H: Float64Array, delta: number, L: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const hij = H[i * n + j]! + (i === j ? delta : 0);
      let s = hij;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        // A pivot that is rounding noise (a direction with no curvature) would send the step off to infinity.
        if (!(s > 1e-12 * Math.abs(hij))) return false;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j]!;
      }
    }
  }
  return true;
}
