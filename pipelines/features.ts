/** The feature store: register feature sets, materialise their values per match, read them back. */
import { UserError } from '../src/errors.js';
import { canonicalJson, definitionHash, featureNames, type FeatureSetDefinition } from '../src/ml/features/definition.js';
import { computeFeatures } from '../src/ml/features/engine.js';
import { FEATURE_SETS, featureSetRef, parseFeatureSetRef } from '../src/ml/features/registry.js';
import type { MatchFact } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadMatchFacts } from '../src/store/match-facts.js';

export interface FeatureSetInfo {
  ref: string;
  description: string;
  hash: string;
  features: string[];
  /** Matches with stored values (0 when never built). */
  materialised: number;
  builtAt: string | null;
}

export interface FeatureBuildResult {
  ref: string;
  hash: string;
  matches: number;
  written: number;
  unchanged: number;
  ms: number;
  matchesPerSecond: number;
}

/** Resolves a reference, turning an unknown one into a UserError that lists the valid sets. */
export function resolveFeatureSet(ref: string): FeatureSetDefinition {
  try {
    return parseFeatureSetRef(ref);
  } catch (error) {
    throw new UserError((error as Error).message, { hint: 'see oracx features list' });
  }
}

/** Inserts the set's row, or checks that the stored definition is the same (a changed definition needs a new version). */
export async function ensureFeatureSet(store: Store, def: FeatureSetDefinition): Promise<number> {
  const hash = definitionHash(def);
  const existing = await store.db
    .selectFrom('feature_sets')
    .select(['id', 'definition_hash'])
    .where('name', '=', def.name)
    .where('version', '=', def.version)
    .executeTakeFirst();
  if (existing) {
    if (existing.definition_hash !== hash) {
      throw new UserError(`feature set ${featureSetRef(def)} in the store was built from a different definition`, {
        hint: 'a changed definition needs a new version number',
      });
    }
    return Number(existing.id);
  }
  await store.db
    .insertInto('feature_sets')
    .values({
      name: def.name,
      version: def.version,
      definition_hash: hash,
      definition: canonicalJson(def),
      feature_names: JSON.stringify(featureNames(def)),
    })
    .onConflict((oc) => oc.columns(['name', 'version']).doNothing())
    .execute();
  return ensureFeatureSet(store, def);
}

/** Lists registered feature sets with what the store holds of each. */
export async function listFeatureSets(store: Store): Promise<FeatureSetInfo[]> {
  const stored = await store.db
    .selectFrom('feature_sets as f')
    .leftJoin('feature_values as v', 'v.feature_set_id', 'f.id')
    .select(['f.name', 'f.version', 'f.created_at', (eb) => eb.fn.count<number>('v.match_id').as('n')])
    .groupBy(['f.name', 'f.version', 'f.created_at'])
    .execute();
  return Object.entries(FEATURE_SETS).map(([ref, def]) => {
    const s = stored.find((r) => r.name === def.name && r.version === def.version);
    return {
      ref,
      description: def.description,
      hash: definitionHash(def),
      features: featureNames(def),
      materialised: Number(s?.n ?? 0),
      builtAt: s?.created_at ?? null,
    };
  });
}

const WRITE_BATCH = 500;

/** Computes the set over every match in the store and writes the vectors that are new or changed. */
export async function buildFeatures(store: Store, ref: string, facts?: MatchFact[]): Promise<FeatureBuildResult> {
  return (await materialise(store, resolveFeatureSet(ref), facts)).build;
}

async function materialise(
  store: Store,
  def: FeatureSetDefinition,
  facts?: MatchFact[],
): Promise<{ build: FeatureBuildResult; values: Map<number, Float64Array> }> {
  const started = performance.now();
  const setId = await ensureFeatureSet(store, def);
  const matches = facts ?? (await loadMatchFacts(store));
  const { values } = computeFeatures(matches, def);
  const stored = new Map<number, string>();
  for (const row of await store.db.selectFrom('feature_values').select(['match_id', 'vals']).where('feature_set_id', '=', setId).execute()) {
    stored.set(Number(row.match_id), row.vals);
  }
  // Values of later matches change when an earlier match is added (ratings are sequential): compare, don't assume.
  const pending: { feature_set_id: number; match_id: number; vals: string }[] = [];
  for (const [matchId, vector] of values) {
    const vals = JSON.stringify(Array.from(vector));
    if (stored.get(matchId) !== vals) pending.push({ feature_set_id: setId, match_id: matchId, vals });
  }
  await store.db.transaction().execute(async (tx) => {
    for (let i = 0; i < pending.length; i += WRITE_BATCH) {
      await tx
        .insertInto('feature_values')
        .values(pending.slice(i, i + WRITE_BATCH))
        .onConflict((oc) => oc.columns(['feature_set_id', 'match_id']).doUpdateSet((eb) => ({ vals: eb.ref('excluded.vals') })))
        .execute();
    }
  });
  const ms = performance.now() - started;
  const build = {
    ref: featureSetRef(def),
    hash: definitionHash(def),
    matches: values.size,
    written: pending.length,
    unchanged: values.size - pending.length,
    ms: Math.round(ms),
    matchesPerSecond: Math.round(values.size / (ms / 1000)),
  };
  return { build, values };
}

/** Brings the stored values of a set up to date and returns them with the feature names (what train and evaluate use). */
export async function featureMatrix(
  store: Store,
  ref: string,
  facts?: MatchFact[],
): Promise<{ names: string[]; values: Map<number, Float64Array>; build: FeatureBuildResult }> {
  const def = resolveFeatureSet(ref);
  const { build, values } = await materialise(store, def, facts);
  return { names: featureNames(def), values, build };
}

/** Reads the stored vector of one match (for `features show`). */
export async function storedVector(store: Store, ref: string, matchId: number): Promise<Record<string, number> | null> {
  const def = resolveFeatureSet(ref);
  const row = await store.db
    .selectFrom('feature_values as v')
    .innerJoin('feature_sets as f', 'f.id', 'v.feature_set_id')
    .select(['v.vals', 'f.feature_names'])
    .where('f.name', '=', def.name)
    .where('f.version', '=', def.version)
    .where('v.match_id', '=', matchId)
    .executeTakeFirst();
  if (!row) return null;
  const names = JSON.parse(row.feature_names) as string[];
  const vals = JSON.parse(row.vals) as number[];
  return Object.fromEntries(names.map((n, i) => [n, vals[i]!]));
}
