/**
 * Paired comparison of two forecasters scored on the same matches: the mean loss differential, its HAC standard
 * error and the Diebold–Mariano test with the Harvey–Leybourne–Newbold small-sample correction. Pure functions with
 * strict input checks, like metrics.ts.
 */

/** The outcome of a paired test on loss differentials d_i = loss(a)_i − loss(b)_i. */
export interface PairedTest {
  n: number;
  /** Mean of d: negative when a has the lower loss (a is better). */
  meanDiff: number;
  /** Newey–West (Bartlett kernel) standard error of meanDiff. */
  stdErr: number;
  /** The Newey–West truncation lag used. */
  lag: number;
  /** HLN-corrected Diebold–Mariano statistic; ±Infinity when d is constant and non-zero (JSON prints null). */
  statistic: number;
  /** Two-sided p-value of "equal expected loss", from Student's t with n − 1 degrees of freedom. */
  pValue: number;
}

/**
 * The default Newey–West lag, floor(n^(1/3)): it grows with n (as consistency needs) but slowly, so a season of
 * ~380 matches gets 7, about one round of a 20-team league, where results share a weekend's conditions.
 */
export function defaultLag(n: number): number {
  // cbrt rounds 27^(1/3) to 3 exactly; the epsilon keeps perfect cubes from flooring one below on other platforms.
  return Math.floor(Math.cbrt(n) + 1e-9);
}

function checkSeries(d: readonly number[], where: string): void {
  if (!Array.isArray(d)) throw new RangeError(`${where}: expected an array of numbers`);
  if (d.length < 2) throw new RangeError(`${where}: needs at least 2 paired values, got ${d.length}`);
  d.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${where}: d[${i}] must be finite, got ${String(v)}`);
  });
}

function checkLag(lag: number, n: number, where: string): void {
  if (!Number.isSafeInteger(lag) || lag < 0 || lag >= n) throw new RangeError(`${where}: lag must be an integer in 0..${n - 1}, got ${lag}`);
}

/**
 * Newey–West long-run variance of a series: γ₀ + 2 Σ_{k=1..lag} (1 − k/(lag+1)) γ_k, autocovariances with the 1/n
 * divisor. The Bartlett weights keep it ≥ 0; the variance of the mean is this divided by n.
 */
export function neweyWestVariance(d: readonly number[], lag: number): number {
  checkSeries(d, 'neweyWestVariance');
  checkLag(lag, d.length, 'neweyWestVariance');
  const n = d.length;
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const e = d.map((v) => v - mean);
  let lrv = 0;
  for (let k = 0; k <= lag; k++) {
    let g = 0;
    for (let t = k; t < n; t++) g += e[t]! * e[t - k]!;
    g /= n;
    lrv += k === 0 ? g : 2 * (1 - k / (lag + 1)) * g;
  }
  // Positive semi-definite in exact arithmetic; rounding may leave a hair below 0 for a constant series.
  return Math.max(0, lrv);
}

/**
 * Diebold–Mariano test of equal expected loss on loss differentials d (in time order: the HAC variance relies on
 * it), with the HLN factor √((n−1)/n) for one-step forecasts and a Student t(n−1) reference distribution.
 */
export function dieboldMariano(d: readonly number[], options: { lag?: number } = {}): PairedTest {
  checkSeries(d, 'dieboldMariano');
  const n = d.length;
  const lag = options.lag ?? defaultLag(n);
  checkLag(lag, n, 'dieboldMariano');
  const meanDiff = d.reduce((s, v) => s + v, 0) / n;
  const stdErr = Math.sqrt(neweyWestVariance(d, lag) / n);
  if (stdErr === 0) {
    // A constant differential: no difference at all (p = 1), or one that never varies (p = 0).
    return { n, meanDiff, stdErr, lag, statistic: meanDiff === 0 ? 0 : Math.sign(meanDiff) * Infinity, pValue: meanDiff === 0 ? 1 : 0 };
  }
  const statistic = (meanDiff / stdErr) * Math.sqrt((n - 1) / n);
  return { n, meanDiff, stdErr, lag, statistic, pValue: studentTwoSidedP(statistic, n - 1) };
}

/** Two-sided tail probability P(|T| ≥ |t|) of Student's t with df degrees of freedom: I_{df/(df+t²)}(df/2, 1/2). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!(df > 0) || !Number.isFinite(df)) throw new RangeError(`studentTwoSidedP: df must be a positive finite number, got ${df}`);
  if (Number.isNaN(t)) throw new RangeError('studentTwoSidedP: t is NaN');
  if (!Number.isFinite(t)) return 0;
  // 1 − x is passed as t²/(df+t²), not computed, so p-values near 1 (tiny t) keep their digits.
  return incompleteBeta(df / (df + t * t), (t * t) / (df + t * t), df / 2, 0.5);
}

/** Cumulative distribution function of Student's t with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTwoSidedP(t, df) / 2;
  return t >= 0 ? 1 - tail : tail;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`logGamma: x must be a positive finite number, got ${x}`);
  // Reflection keeps the series in its accurate range for small x.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz), as in Numerical Recipes' betacf. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  // Converges in O(√max(a, b)) steps; 100 000 covers a million matches with room to spare.
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) return h;
  }
  throw new RangeError(`regularizedIncompleteBeta: no convergence for x=${x}, a=${a}, b=${b}`);
}

/** The regularized incomplete beta function I_x(a, b) for x in [0, 1], a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta: x must be in [0, 1], got ${x}`);
  if (!(a > 0 && b > 0) || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new RangeError(`regularizedIncompleteBeta: a and b must be positive and finite, got a=${a}, b=${b}`);
  }
  return incompleteBeta(x, 1 - x, a, b);
}

/** I_x(a, b) given x and y = 1 − x (computed by the caller without cancellation where it can be). */
function incompleteBeta(x: number, y: number, a: number, b: number): number {
  if (x === 0 || y === 0) return x === 0 ? 0 : 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(y));
  // The fraction converges fast below the mean (a+1)/(a+b+2); above it, use I_x(a, b) = 1 − I_{1−x}(b, a).
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(y, b, a)) / b;
}
