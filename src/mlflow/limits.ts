/**
 * MLflow's server-side limits (mlflow/utils/validation.py, checked against MLflow 3.17) and the client-side checks
 * that apply them. Checking here gives a clear error before anything is sent; the server would otherwise reject the
 * request, or — for param and tag values — silently truncate them (MLFLOW_TRUNCATE_LONG_VALUES defaults to true).
 */
import { MlflowValidationError } from './errors.js';

export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** MLflow declares 1 MB for a log-batch body (its own check is ineffective, but proxies such as nginx enforce ~1 MB). */
  batchRequestBytes: 1_000_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  experimentTagKeyLength: 250,
  experimentTagValueLength: 20_000,
  registryTagKeyLength: 250,
  registryTagValueLength: 100_000,
  aliasLength: 255,
  datasetsPerBatch: 1000,
  datasetName: 500,
  datasetDigest: 36,
  datasetSource: 65_535,
  datasetSchema: 1_048_575,
  datasetProfile: 16_777_215,
  inputTagKey: 255,
  inputTagValue: 500,
} as const;

// Python's `re` \w is Unicode-aware: letters, digits and underscore of any script.
const NAME = /^[/\p{L}\p{N}\p{M}_.\- :]*$/u;

/** Length as Python's len() counts it (code points), which is what MLflow's limits use. */
export function pyLength(value: string): number {
  // UTF-16 length is an upper bound: only count code points when it matters.
  if (value.length <= 1) return value.length;
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function invalid(endpoint: string, message: string): never {
  throw new MlflowValidationError(message, { endpoint });
}

/** Throws when `value` is longer than `limit` characters. */
export function checkLength(endpoint: string, what: string, value: string, limit: number): void {
  if (value.length > limit && pyLength(value) > limit) {
    invalid(endpoint, `${what} is ${pyLength(value)} characters long; MLflow's limit is ${limit}`);
  }
}

/**
 * Metric, param and tag keys: MLflow allows letters, digits, `_ - . : /` and spaces, at most 250 characters, and no
 * path tricks (empty, leading `/`, `.`/`..` segments, `//`, trailing `/`).
 */
export function checkKey(endpoint: string, what: string, key: string): void {
  if (typeof key !== 'string' || key === '') invalid(endpoint, `${what} key is empty`);
  if (!NAME.test(key)) {
    invalid(endpoint, `${what} key "${key}" has characters MLflow refuses: only letters, digits, _ - . : / and spaces are allowed`);
  }
  const segments = key.split('/');
  if (key.startsWith('/') || key.endsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    invalid(endpoint, `${what} key "${key}" is not a normalised path (no leading or trailing /, //, . or .. segments)`);
  }
  checkLength(endpoint, `${what} key "${key.slice(0, 40)}…"`, key, LIMITS.keyLength);
}

/** Run tag: key rules plus value ≤ 8000 characters. */
export function checkTag(endpoint: string, key: string, value: string): void {
  checkKey(endpoint, 'tag', key);
  if (typeof value !== 'string') invalid(endpoint, `tag "${key}" value is not a string`);
  checkLength(endpoint, `tag "${key}" value`, value, LIMITS.tagValueLength);
}

/** Param: key rules plus value ≤ 6000 characters. */
export function checkParam(endpoint: string, key: string, value: string): void {
  checkKey(endpoint, 'param', key);
  if (typeof value !== 'string') invalid(endpoint, `param "${key}" value is not a string`);
  checkLength(endpoint, `param "${key}" value`, value, LIMITS.paramValueLength);
}

/** Metric: key rules, a number value, a non-negative integer timestamp and an integer step. */
export function checkMetric(endpoint: string, key: string, value: number, timestamp: number, step: number): void {
  checkKey(endpoint, 'metric', key);
  if (typeof value !== 'number') invalid(endpoint, `metric "${key}" value ${String(value)} is not a number`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    invalid(endpoint, `metric "${key}" timestamp ${String(timestamp)} is not a non-negative integer (milliseconds since the epoch)`);
  }
  if (!Number.isSafeInteger(step)) invalid(endpoint, `metric "${key}" step ${String(step)} is not an integer`);
}

/** Registry (model and model version) tags: key rules, value ≤ 100,000 characters. */
export function checkRegistryTag(endpoint: string, key: string, value: string): void {
  checkKey(endpoint, 'tag', key);
  checkLength(endpoint, `tag "${key}" value`, value, LIMITS.registryTagValueLength);
}

/** Experiment tags: key rules, value ≤ 20,000 characters. */
export function checkExperimentTag(endpoint: string, key: string, value: string): void {
  checkKey(endpoint, 'experiment tag', key);
  checkLength(endpoint, `experiment tag "${key}" value`, value, LIMITS.experimentTagValueLength);
}
