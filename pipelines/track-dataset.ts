/** Datasets as MLflow's log-inputs records them, for every kind of run oracx logs. */
import { createHash } from 'node:crypto';
import type { DatasetInput } from '../src/mlflow/types.js';

/** A slice of the store as MLflow's log-inputs records it (source type oracx-store); name and digest cut to MLflow's limits. */
export function storeDataset(d: {
  name: string;
  digest: string;
  storeLocation: string;
  /** What selects the rows (feature set, competitions, window), after the store's location. */
  source: Record<string, unknown>;
  schema?: Record<string, unknown>;
  profile: Record<string, number>;
  context: string;
}): DatasetInput {
  return {
    dataset: {
      name: d.name.slice(0, 500),
      digest: d.digest.slice(0, 36),
      sourceType: 'oracx-store',
      source: JSON.stringify({ store: d.storeLocation, ...d.source }),
      ...(d.schema ? { schema: JSON.stringify(d.schema) } : {}),
      profile: JSON.stringify(d.profile),
    },
    context: d.context,
  };
}

/** The digest of a set of scored matches: the same matches in the same order give the same digest. */
export function matchesDigest(matchIds: readonly number[]): string {
  return createHash('sha256').update(JSON.stringify(matchIds)).digest('hex').slice(0, 36);
}
