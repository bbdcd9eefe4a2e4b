/** Planning `runs/log-batch` requests: validate, de-duplicate, and split into requests within MLflow's limits. */
import { MlflowValidationError } from './errors.js';
import { checkMetric, checkParam, checkTag, LIMITS } from './limits.js';
import type { Metric, Param, RunTag } from './types.js';
import { toWire } from './wire.js';

export interface Batch {
  metrics?: Metric[];
  params?: Param[];
  tags?: RunTag[];
}

export type WireMetric = ReturnType<typeof toWire.metric>;
export type WireKeyValue = { key: string; value: string };

/** One log-batch request body, without the run id. */
export interface BatchChunk {
  metrics: WireMetric[];
  params: WireKeyValue[];
  tags: WireKeyValue[];
}

export interface BatchLimits {
  metrics: number;
  params: number;
  tags: number;
  entities: number;
  bytes: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  metrics: LIMITS.metricsPerBatch,
  params: LIMITS.paramsPerBatch,
  tags: LIMITS.tagsPerBatch,
  entities: LIMITS.entitiesPerBatch,
  bytes: LIMITS.batchRequestBytes,
};

const ENDPOINT = '/api/2.0/mlflow/runs/log-batch';
// {"run_id":"<32 hex>","metrics":[],"params":[],"tags":[]} plus slack.
const ENVELOPE_BYTES = 128;

/** Params once per key: a repeat with the same value is dropped, one with another value is an error (MLflow would refuse it). */
function uniqueParams(params: Param[]): Param[] {
  const seen = new Map<string, string>();
  const out: Param[] = [];
  for (const p of params) {
    const before = seen.get(p.key);
    if (before === undefined) {
      seen.set(p.key, p.value);
      out.push(p);
    } else if (before !== p.value) {
      throw new MlflowValidationError(`param "${p.key}" is given twice with different values ("${before.slice(0, 80)}" and "${p.value.slice(0, 80)}")`, {
        endpoint: ENDPOINT,
        hint: 'a run keeps one value per param: log it once',
      });
    }
  }
  return out;
}

/** Tags once per key, the last value winning (tags are mutable in MLflow). */
function uniqueTags(tags: RunTag[]): RunTag[] {
  const last = new Map<string, RunTag>();
  for (const t of tags) {
    last.delete(t.key);
    last.set(t.key, t);
  }
  return [...last.values()];
}

interface Sized<T> {
  item: T;
  bytes: number;
}

function sized<T>(items: T[]): Sized<T>[] {
  return items.map((item) => ({ item, bytes: Buffer.byteLength(JSON.stringify(item)) + 1 }));
}

/**
 * Validates the batch and splits it into requests: each within the per-kind caps, the entity total and the byte budget.
 * Params and tags go first and metrics fill the remaining room, like MLflow's Python client, so 200 params and 10,000
 * metrics take 11 requests.
 */
export function planBatch(batch: Batch, limits: BatchLimits = DEFAULT_BATCH_LIMITS): BatchChunk[] {
  const params = uniqueParams(batch.params ?? []);
  const tags = uniqueTags(batch.tags ?? []);
  const metrics = batch.metrics ?? [];
  for (const p of params) checkParam(ENDPOINT, p.key, p.value);
  for (const t of tags) checkTag(ENDPOINT, t.key, t.value);
  for (const m of metrics) checkMetric(ENDPOINT, m.key, m.value, m.timestamp, m.step);

  const queues = {
    params: sized(params.map(toWire.param)),
    tags: sized(tags.map(toWire.tag)),
    metrics: sized(metrics.map(toWire.metric)),
  };
  const next = { params: 0, tags: 0, metrics: 0 };
  const chunks: BatchChunk[] = [];
  const remaining = () => next.params < queues.params.length || next.tags < queues.tags.length || next.metrics < queues.metrics.length;
  while (remaining()) {
    const chunk: BatchChunk = { metrics: [], params: [], tags: [] };
    let bytes = ENVELOPE_BYTES;
    let count = 0;
    for (const kind of ['params', 'tags', 'metrics'] as const) {
      const queue = queues[kind];
      const target = chunk[kind] as unknown[];
      while (next[kind] < queue.length && target.length < limits[kind] && count < limits.entities) {
        const entry = queue[next[kind]] as Sized<unknown>;
        // An entity larger than the whole budget still goes, alone: the length checks above keep that from happening.
        if (bytes + entry.bytes > limits.bytes && count > 0) break;
        target.push(entry.item);
        bytes += entry.bytes;
        count++;
        next[kind]++;
      }
    }
    chunks.push(chunk);
  }
  return chunks;
}
