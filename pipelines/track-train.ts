/**
 * A `train` run in MLflow as Python's tracking leaves one: created RUNNING when the fit starts, with its window and
 * dataset, its per-epoch losses as they come, and ended FINISHED (everything trackPayload logged before), FAILED or
 * KILLED with the losses so far. Start and end are two spool entries sharing one run, as a tune study's are.
 */
import { modelColumns } from '../src/ml/models/columns.js';
import { oracxRunTags } from '../src/mlflow/run-tags.js';
import type { RunRef, SpoolMetric, SpoolPayload } from '../src/tracking/spool.js';
import { storeDataset } from './track-dataset.js';
import type { TrainStart, TrainedEpoch } from './train.js';

/** The tags that find a training run's MLflow run: store-local run ids repeat across stores, so the store is one. */
export function trainingRunRef(runId: number, storeLocation: string): RunRef {
  return { 'oracx.kind': 'train', 'oracx.run_id': String(runId), 'oracx.store': storeLocation };
}

/** The run name of a training run, the same from its start to its end. */
export const trainingRunName = (s: Pick<TrainStart, 'model' | 'featureSet' | 'runId'>) => `${s.model}-${s.featureSet}-run${s.runId}`;

/** The tags a training run carries from its start (the end adds how the fit chose auto params). */
export function trainingTags(s: TrainStart, options: { storeLocation: string; cwd: string }): Record<string, string> {
  const runName = trainingRunName(s);
  return {
    ...oracxRunTags('train', { runName, source: 'oracx train', cwd: options.cwd }),
    'oracx.run_id': String(s.runId),
    'oracx.model': s.model,
    'oracx.feature_set': s.featureSet,
    'oracx.data_hash': s.dataHash,
    'oracx.store': options.storeLocation,
  };
}

/** The window a run is fitted on, as params (model.* params come at the end: an `auto` one is only known then). */
export function windowParams(s: TrainStart): Record<string, string> {
  return {
    model: s.model,
    feature_set: s.featureSet,
    seed: String(s.seed),
    competitions: s.competitions.join(','),
    train_from: s.trainFrom,
    train_until: s.trainUntil,
    n_matches: String(s.nMatches),
  };
}

/** The training dataset as a log-inputs entry, with the columns the model reads (see modelColumns). */
export function trainingDataset(s: TrainStart, options: { storeLocation: string; cwd: string }) {
  const columns = modelColumns(s.model, s.params, s.featureNames);
  return storeDataset({
    name: `${s.competitions.join('+')} ${s.trainFrom}..${s.trainUntil}`,
    digest: s.dataHash,
    storeLocation: options.storeLocation,
    cwd: options.cwd,
    source: { featureSet: s.featureSet, competitions: s.competitions, from: s.trainFrom, until: s.trainUntil },
    columns,
    profile: { num_rows: s.nMatches, num_elements: s.nMatches * columns.length },
    context: 'training',
  });
}

/**
 * Per-epoch losses as MLflow metrics loss, val_loss and grad_norm (step = epoch), prefixed with the log's series
 * when it has one (E0.loss, logreg.loss, dixon-coles.E0.grad_norm).
 */
export function epochMetrics(logs: readonly TrainedEpoch[]): SpoolMetric[] {
  const metrics: SpoolMetric[] = [];
  for (const log of logs) {
    const key = (name: string) => (log.series === undefined ? name : `${log.series}.${name}`);
    metrics.push({ key: key('loss'), value: log.loss, timestamp: log.timestamp, step: log.epoch });
    if (log.valLoss !== undefined) metrics.push({ key: key('val_loss'), value: log.valLoss, timestamp: log.timestamp, step: log.epoch });
    if (log.gradNorm !== undefined) metrics.push({ key: key('grad_norm'), value: log.gradNorm, timestamp: log.timestamp, step: log.epoch });
  }
  return metrics;
}

/** The run as the fit starts: left RUNNING, with its window params, tags and dataset. */
export function trainingStartPayload(s: TrainStart, options: { storeLocation: string; cwd: string }): SpoolPayload {
  return {
    runName: trainingRunName(s),
    startTime: s.startedAt,
    endTime: s.startedAt,
    status: 'RUNNING',
    params: windowParams(s),
    tags: trainingTags(s, options),
    metrics: [],
    inputs: [trainingDataset(s, options)],
    sharedRun: trainingRunRef(s.runId, options.storeLocation),
  };
}

/** The run as a fit that did not finish leaves it: FAILED (with the error) or KILLED, with the epochs logged so far. */
export function trainingStopPayload(
  s: TrainStart,
  end: { status: 'FAILED' | 'KILLED'; error: string; epochs: readonly TrainedEpoch[]; at: number },
  options: { storeLocation: string; cwd: string },
): SpoolPayload {
  return {
    runName: trainingRunName(s),
    startTime: s.startedAt,
    endTime: end.at,
    status: end.status,
    // All the start logged too: this entry supersedes the start's when that is still spooled.
    params: windowParams(s),
    tags: { ...trainingTags(s, options), 'oracx.error': end.error.slice(0, 5000) },
    metrics: epochMetrics(end.epochs),
    inputs: [trainingDataset(s, options)],
    sharedRun: trainingRunRef(s.runId, options.storeLocation),
  };
}
