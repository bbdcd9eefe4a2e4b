/**
 * `predict --distributed`: the matches an in-process predict would forecast, in its order, split into batches; one
 * job per batch on the predict queue (the model's ONNX bytes travel in it), workers score and store each batch once,
 * and this process puts the forecasts back in order.
 */
import { gzipSync } from 'node:zlib';
import { UserError } from '../src/errors.js';
import { predictJobId, type PredictPayload } from '../src/queue/ml-payloads.js';
import { origin, PAYLOAD_VERSION } from '../src/queue/payload.js';
import type { PredictJobResult } from '../src/queue/predict-job.js';
import type { Queues } from '../src/queue/queues.js';
import { enqueueOnce, waitForJobs, type Enqueued } from '../src/queue/wait.js';
import type { LoadedModel } from '../src/predict/model.js';
import type { Store } from '../src/store/connect.js';
import type { Forecast, Predictor } from './predict.js';
import { prepareRun, type PredictRunOptions } from './predict-run.js';

/** Model bytes above this do not go in jobs (Redis holds every job's payload). */
const MAX_MODEL_BYTES = 64 * 1024 * 1024;

export interface PredictDistributedOptions extends PredictRunOptions {
  storeLocation: string;
  batchSize: number;
  attempts: number;
  version: string;
  pollMs?: number;
  signal?: AbortSignal;
  onEnqueued?: (jobs: { jobId: string; enqueued: Enqueued; matches: number }[]) => void;
  onJobs?: (counts: { total: number; completed: number; failed: number; active: number }) => void;
}

export interface PredictDistributedResult {
  /** In the order an in-process predict prints them (empty unless every batch completed). */
  forecasts: Forecast[];
  jobs: { jobId: string; enqueued: Enqueued; matches: number; state: string; written: boolean | null; failedReason: string | null }[];
  /** False when waiting was interrupted (the jobs stay on the queue). */
  finished: boolean;
}

/** Enqueues the batches (ids from model, matches and feature state: running it again adds none twice) and waits. */
export async function predictDistributed(
  store: Store,
  queues: Queues,
  predictor: Predictor,
  model: LoadedModel,
  options: PredictDistributedOptions,
): Promise<PredictDistributedResult> {
  const { inputs } = await prepareRun(store, predictor, options);
  const pairing = inputs.find((i) => i.matchId === null);
  if (pairing)
    throw new UserError(`predict --distributed forecasts stored matches; ${pairing.home} v ${pairing.away} is a pairing the store does not hold`, {
      hint: 'forecast a pairing without --distributed',
    });
  if (model.bytes.byteLength > MAX_MODEL_BYTES)
    throw new UserError(`${model.identity.uri} is ${model.bytes.byteLength} bytes, too large to travel in jobs`, { hint: 'predict it without --distributed' });
  const ids = inputs.map((i) => i.matchId!);
  const { uri, name, version, alias, run } = model.identity;
  const modelPart = { who: { uri, name, version, alias, run }, sha256: model.identity.digest, onnx: gzipSync(model.bytes).toString('base64') };
  const state = { frontier: predictor.features.frontier, results: predictor.features.results };
  const queue = await queues.get('predict');
  const enqueued: { jobId: string; enqueued: Enqueued; matches: number }[] = [];
  for (let i = 0; i < ids.length; i += options.batchSize) {
    const matchIds = ids.slice(i, i + options.batchSize);
    const payload: PredictPayload = {
      v: PAYLOAD_VERSION,
      kind: 'predict',
      store: options.storeLocation,
      model: modelPart,
      matchIds,
      state,
      principal: options.principal,
      origin: origin(options.version),
    };
    const jobId = predictJobId(payload);
    enqueued.push({ jobId, matches: matchIds.length, enqueued: await enqueueOnce(queue, 'predict', jobId, payload, options.attempts) });
  }
  options.onEnqueued?.(enqueued);
  const { jobs, finished } = await waitForJobs<PredictJobResult>(
    queue,
    enqueued.map((e) => e.jobId),
    {
      pollMs: options.pollMs,
      signal: options.signal,
      onPoll(all) {
        const count = (s: string) => all.filter((j) => j.state === s).length;
        options.onJobs?.({ total: all.length, completed: count('completed'), failed: count('failed'), active: count('active') });
      },
    },
  );
  const views = enqueued.map((e, k) => ({ ...e, state: jobs[k]!.state, written: jobs[k]!.result?.written ?? null, failedReason: jobs[k]!.failedReason }));
  if (!finished || jobs.some((j) => j.state !== 'completed')) return { forecasts: [], jobs: views, finished };
  // A worker orders a batch as predictRun does (live matches before replayed ones): put them in this run's order.
  const byId = new Map<number, Forecast>();
  for (const j of jobs) for (const f of j.result!.forecasts) byId.set(f.matchId!, f);
  const forecasts = ids.map((id) => {
    const f = byId.get(id);
    if (!f) throw new Error(`no forecast for match ${id} in the completed batches`);
    return f;
  });
  return { forecasts, jobs: views, finished };
}
