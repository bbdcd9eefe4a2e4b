/** Parsing --walk-forward values. */
import type { WalkForward } from '../pipelines/walk-forward.js';

/** "season" or "<N>d" (refit every N days) or "matchdays:<N>" (N weekly rounds). */
export function parseWalkForward(value: string): WalkForward {
  if (value === 'season') return { kind: 'season' };
  const days = /^(\d+)d$/.exec(value);
  if (days && Number(days[1]) > 0) return { kind: 'days', days: Number(days[1]) };
  const rounds = /^matchdays:(\d+)$/.exec(value);
  if (rounds && Number(rounds[1]) > 0) return { kind: 'days', days: 7 * Number(rounds[1]) };
  throw new Error(`expected season, <N>d (e.g. 28d) or matchdays:<N>, got "${value}"`);
}
