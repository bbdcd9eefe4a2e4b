/** Parsing --walk-forward values. */
import type { WalkForward } from '../pipelines/walk-forward.js';

const EXPECTED = 'season, season+<N>d, season+none, <N>d (e.g. 28d) or matchdays:<N>';

/** Days in "<N>d" or "matchdays:<N>" (N weekly rounds), or undefined. */
function cadenceDays(value: string): number | undefined {
  const days = /^(\d+)d$/.exec(value);
  if (days && Number(days[1]) > 0) return Number(days[1]);
  const rounds = /^matchdays:(\d+)$/.exec(value);
  if (rounds && Number(rounds[1]) > 0) return 7 * Number(rounds[1]);
  return undefined;
}

/**
 * "season" (a fit per test season, updated in-season at the model's own cadence), "season+<N>d" (updated every N
 * days), "season+none" (never updated), or "<N>d" / "matchdays:<N>" (every model refitted every N days).
 */
export function parseWalkForward(value: string): WalkForward {
  if (value === 'season') return { kind: 'season' };
  if (value === 'season+none') return { kind: 'season', update: 'none' };
  if (value.startsWith('season+')) {
    const update = cadenceDays(value.slice('season+'.length));
    if (update !== undefined) return { kind: 'season', update };
  }
  const days = cadenceDays(value);
  if (days !== undefined) return { kind: 'days', days };
  throw new Error(`expected ${EXPECTED}, got "${value}"`);
}
