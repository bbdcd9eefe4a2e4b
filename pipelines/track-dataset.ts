/**
 * Datasets as MLflow's log-inputs records them, for every kind of run oracx logs.
 *
 * The source type is `oracx-store`: rows selected from an oracx store. MLflow has no resolver for it, so Python's
 * `mlflow.data.get_source(dataset)` raises; the dataset itself (`MlflowClient().get_run(id).inputs.dataset_inputs`)
 * reads cleanly, and its `source` is JSON: `uri` (the store, see datasetSourceUri) and what selects the rows.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DatasetColumn } from '../src/ml/models/columns.js';
import type { DatasetInput } from '../src/mlflow/types.js';

/**
 * The store as a dataset's source names it, without anything private to the machine or the user: a SQLite file as
 * `sqlite:` and its path relative to the working directory (only its file name when it lies outside), a PostgreSQL
 * store as `postgres://host:port/database` with its schema, without user, password or other connection params.
 */
export function datasetSourceUri(storeLocation: string, cwd: string): string {
  if (/^postgres(ql)?:\/\//i.test(storeLocation)) {
    // The printable location has its password redacted already; the user and the query (sslpassword=, host=/a/socket
    // folder, …) go too. Only the schema says which store of the database it is.
    let url: URL;
    try {
      url = new URL(storeLocation);
    } catch {
      return 'postgres:'; // unreachable for a location parseStoreLocation accepted; never the raw text
    }
    const schema = url.searchParams.get('schema');
    const port = url.port ? `:${url.port}` : '';
    return `postgres://${url.hostname}${port}${url.pathname}${schema ? `?schema=${encodeURIComponent(schema)}` : ''}`;
  }
  if (storeLocation === ':memory:') return 'sqlite::memory:';
  const relative = path.relative(cwd, storeLocation);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return `sqlite:${(inside ? relative : path.basename(storeLocation)).split(path.sep).join('/')}`;
}

/** A schema as MLflow 3's pandas datasets log theirs: `{"mlflow_colspec": [{"type", "name", "required"}, …]}`. */
export function colspecSchema(columns: readonly DatasetColumn[]): string {
  return JSON.stringify({ mlflow_colspec: columns.map((c) => ({ type: c.type, name: c.name, required: true })) });
}

/** A slice of the store as MLflow's log-inputs records it (source type oracx-store); name and digest cut to MLflow's limits. */
export function storeDataset(d: {
  name: string;
  digest: string;
  storeLocation: string;
  /** The working directory, which a SQLite store's path in the source is relative to. */
  cwd: string;
  /** What selects the rows (feature set, competitions, window), after the store's uri. */
  source: Record<string, unknown>;
  /** The columns the run reads, when known. */
  columns?: readonly DatasetColumn[];
  profile: Record<string, number>;
  context: string;
}): DatasetInput {
  return {
    dataset: {
      name: d.name.slice(0, 500),
      digest: datasetDigest(d.digest, d.columns),
      sourceType: 'oracx-store',
      source: JSON.stringify({ uri: datasetSourceUri(d.storeLocation, d.cwd), ...d.source }),
      ...(d.columns ? { schema: colspecSchema(d.columns) } : {}),
      profile: JSON.stringify(d.profile),
    },
    context: d.context,
  };
}

/**
 * A dataset's digest: the rows' digest, combined with the columns when they are known. MLflow keeps one dataset per
 * experiment, name and digest, and a run logging an existing (name, digest) is linked to the first one logged: two
 * models read from one window with different columns (a logreg's features, Dixon–Coles's scores) must differ, as
 * the digests of two pandas datasets with different columns do.
 */
export function datasetDigest(rowsDigest: string, columns?: readonly DatasetColumn[]): string {
  if (!columns) return rowsDigest.slice(0, 36);
  return createHash('sha256').update(rowsDigest).update('\n').update(colspecSchema(columns)).digest('hex').slice(0, 36);
}

/** The digest of a set of scored matches: the same matches in the same order give the same digest. */
export function matchesDigest(matchIds: readonly number[]): string {
  return createHash('sha256').update(JSON.stringify(matchIds)).digest('hex').slice(0, 36);
}
