/** The named, versioned feature sets oracx ships, and parsing of "name@version" references to them. */
import { defineFeatureSet, type FeatureSetDefinition } from './definition.js';
import type { FeatureGroups } from './params.js';

// Parameters are spelled out rather than taken from DEFAULT_*: a registered version must never change when a
// default does. tests/unit/features-definition.test.ts pins their hashes; a failing pin means "bump the version".
const CORE_V1_GROUPS: FeatureGroups = {
  elo: { k: 20, homeAdvantage: 65, initialRating: 1500, newcomerOffset: 100, seasonRegression: 0.2, marginRule: 'world-football' },
  pi: { lambda: 0.035, gamma: 0.7, b: 10, c: 3 },
  form: { windows: [5, 10], shots: true, venueSplit: true },
  rest: { capDays: 30 },
  h2h: { window: 5 },
};

const SETS: FeatureSetDefinition[] = [
  defineFeatureSet({
    name: 'core',
    version: 1,
    description: 'Results-only: Elo, pi-ratings, form over 5 and 10 matches (with shots), rest days and head-to-head.',
    groups: CORE_V1_GROUPS,
  }),
  defineFeatureSet({
    name: 'core',
    version: 2,
    description:
      "core@1 plus opponent-adjusted attack/defence ratings on shots on target and total shots: each side's expected count and the log of their ratio.",
    groups: {
      ...CORE_V1_GROUPS,
      shotRatings: { stats: ['shotsOnTarget', 'shots'], step: 0.08, baseStep: 0.01, seasonShrink: 0.25, newcomerStrength: -0.1 },
    },
  }),
  defineFeatureSet({
    name: 'market',
    version: 1,
    description: 'core@1 plus pre-match market probabilities (Shin margin removal) and the overround.',
    groups: { ...CORE_V1_GROUPS, market: { method: 'shin' } },
  }),
  defineFeatureSet({
    name: 'market',
    version: 2,
    description: 'market@1 plus the market log-odds (home v away, draw v away), in which a logit model can reproduce the market.',
    groups: { ...CORE_V1_GROUPS, market: { method: 'shin', logOdds: true } },
  }),
  defineFeatureSet({
    name: 'closing',
    version: 1,
    description: 'market@2 from closing prices where the file has them (else pre-match): for forecasts made at kick-off, not before.',
    groups: { ...CORE_V1_GROUPS, market: { method: 'shin', logOdds: true, prices: 'closing' } },
  }),
];

/** Registered feature sets keyed by "name@version", e.g. FEATURE_SETS['core@1']. */
export const FEATURE_SETS: Readonly<Record<string, FeatureSetDefinition>> = Object.freeze(Object.fromEntries(SETS.map((d) => [`${d.name}@${d.version}`, d])));

/** The "name@version" reference of a definition. */
export function featureSetRef(def: FeatureSetDefinition): string {
  return `${def.name}@${def.version}`;
}

/** Resolves "core@1" (or "core" for its latest version) to a registered definition; throws listing the valid ones. */
export function parseFeatureSetRef(ref: string): FeatureSetDefinition {
  const valid = Object.keys(FEATURE_SETS).sort();
  const fail = (why: string): never => {
    throw new Error(`unknown feature set ${JSON.stringify(ref)}: ${why}; valid: ${valid.join(', ')}`);
  };
  const m = /^([a-z][a-z0-9_-]*)(?:@(\d+))?$/.exec(typeof ref === 'string' ? ref.trim() : '');
  if (!m) return fail('expected name@version, e.g. core@1');
  const name = m[1]!;
  if (m[2] !== undefined) return FEATURE_SETS[`${name}@${Number(m[2])}`] ?? fail('no such name and version');
  const latest = SETS.filter((d) => d.name === name).sort((a, b) => b.version - a.version)[0];
  return latest ?? fail('no such name');
}
