/** Small deterministic random utilities: every random choice in oracx takes a seed, so runs reproduce. */

/** A source of uniform numbers in [0, 1), like Math.random but seeded. */
export type Rng = () => number;

/** Seeded 32-bit PRNG (mulberry32): fast, tiny state, good enough for shuffles and initialisation, not crypto. */
export function mulberry32(seed: number): Rng {
  // Integers only: a fractional seed would be truncated silently, so 1.2 and 1.7 would give the same stream.
  if (!Number.isSafeInteger(seed)) throw new RangeError(`mulberry32: seed must be a safe integer, got ${seed}`);
  // The state is 32 bits, so seeds are taken modulo 2^32 (negative seeds wrap).
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n) from rng; n must be a positive safe integer. */
export function randomInt(n: number, rng: Rng): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`randomInt: n must be a positive integer, got ${n}`);
  const u = rng();
  if (!(u >= 0 && u < 1)) throw new RangeError(`randomInt: rng must return values in [0, 1), got ${u}`);
  return Math.floor(u * n);
}

/** Fisher–Yates shuffle of array in place (each permutation equally likely); returns the same array. */
export function shuffleInPlace<T>(array: T[], rng: Rng): T[] {
  // Walk down from the end, swapping each slot with a uniformly chosen slot at or before it.
  for (let i = array.length - 1; i > 0; i--) {
    const j = randomInt(i + 1, rng);
    const tmp = array[i] as T;
    array[i] = array[j] as T;
    array[j] = tmp;
  }
  return array;
}

/** One draw from N(mean, sd²) by Box–Muller; consumes exactly two rng values so streams stay aligned. */
export function normal(rng: Rng, mean = 0, sd = 1): number {
  if (!Number.isFinite(mean)) throw new RangeError(`normal: mean must be finite, got ${mean}`);
  if (!Number.isFinite(sd) || sd < 0) throw new RangeError(`normal: sd must be finite and >= 0, got ${sd}`);
  const a = rng();
  const b = rng();
  if (!(a >= 0 && a < 1 && b >= 0 && b < 1)) throw new RangeError(`normal: rng must return values in [0, 1), got ${a}, ${b}`);
  // 1 - a lies in (0, 1], so the log is finite; the second Box–Muller value is dropped to keep the function stateless.
  const radius = Math.sqrt(-2 * Math.log(1 - a));
  return mean + sd * radius * Math.cos(2 * Math.PI * b);
}
