/** `train --distributed`: one job on the train queue with the train options, its id from them and the data they select. */
import { UserError } from '../src/errors.js';
import { trainJobId, type TrainPayload } from '../src/queue/ml-payloads.js';
import { origin, PAYLOAD_VERSION } from '../src/queue/payload.js';
import type { Queues } from '../src/queue/queues.js';
import type { TrainJobResult } from '../src/queue/train-job.js';
import { enqueueOnce, waitForJobs, type Enqueued } from '../src/queue/wait.js';
import type { Store } from '../src/store/connect.js';
import { dataHash, loadUniverse, toDataset, trainingMatches } from './dataset.js';
import { checkModelParams, type TrainOptions } from './train.js';

export interface TrainDistributedOptions extends Omit<TrainOptions, 'onStart' | 'onEpoch' | 'onWarning'> {
  storeLocation: string;
  attempts: number;
  version: string;
  pollMs?: number;
  onEnqueued?: (job: { jobId: string; enqueued: Enqueued }) => void;
  onState?: (state: string) => void;
}

export interface TrainDistributedResult {
  jobId: string;
  enqueued: Enqueued;
  state: string;
  result: TrainJobResult | null;
  failedReason: string | null;
  finished: boolean;
}

/** The hash of the training data the options select (what train records as the run's data hash). */
export async function trainDataHash(store: Store, options: Pick<TrainOptions, 'featureSet' | 'competitions' | 'trainFrom' | 'trainUntil'>): Promise<string> {
  const universe = await loadUniverse(store, options.featureSet);
  const matches = trainingMatches(universe, { competitions: options.competitions, from: options.trainFrom, until: options.trainUntil, finishedOnly: true });
  if (matches.length === 0)
    throw new UserError('no finished matches in the training window', {
      hint: 'collect results first, or widen --competitions / --train-from / --train-until',
    });
  return dataHash(toDataset(universe, matches));
}

/** Enqueues the training (a second identical one finds the first job) and waits for a worker to run it. */
export async function trainDistributed(store: Store, queues: Queues, options: TrainDistributedOptions): Promise<TrainDistributedResult> {
  checkModelParams(options.model, options.params);
  const payload: TrainPayload = {
    v: PAYLOAD_VERSION,
    kind: 'train',
    store: options.storeLocation,
    options: {
      model: options.model,
      featureSet: options.featureSet,
      competitions: options.competitions,
      ...(options.trainFrom === undefined ? {} : { trainFrom: options.trainFrom }),
      ...(options.trainUntil === undefined ? {} : { trainUntil: options.trainUntil }),
      seed: options.seed,
      params: options.params,
      artifactsDir: options.artifactsDir,
    },
    dataHash: await trainDataHash(store, options),
    origin: origin(options.version),
  };
  const jobId = trainJobId(payload);
  const queue = await queues.get('train');
  const enqueued = await enqueueOnce(queue, 'train', jobId, payload, options.attempts);
  options.onEnqueued?.({ jobId, enqueued });
  const { jobs, finished } = await waitForJobs<TrainJobResult>(queue, [jobId], {
    pollMs: options.pollMs,
    signal: options.signal,
    onPoll: (all) => options.onState?.(all[0]!.state),
  });
  const job = jobs[0]!;
  return { jobId, enqueued, state: job.state, result: job.result, failedReason: job.failedReason, finished };
}
