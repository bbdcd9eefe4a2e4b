/**
 * A `tune` study in MLflow, after Optuna's MLflowCallback: one run per trial (params, `state` tag, objective metric
 * only for a complete trial) nested under one parent run per study (settings, best value and params,
 * best-params.json), which a resumed study logs to again instead of starting another.
 */
import { modelColumns } from '../src/ml/models/columns.js';
import { oracxRunTags } from '../src/mlflow/run-tags.js';
import type { RunRef, SpoolMetric, SpoolPayload } from '../src/tracking/spool.js';
import { matchesDigest, storeDataset } from './track-dataset.js';
import type { BestTrial, StudyStart, TrialEvent, TuneOptions } from './tune.js';

/** What the runs of one study share: its settings as the command ran it, and what its folds resolved to. */
export type StudyTracking = Pick<
  TuneOptions,
  'study' | 'model' | 'featureSet' | 'competitions' | 'seasons' | 'lastSeasons' | 'trainSeasons' | 'sampler' | 'seed' | 'trials' | 'fixed'
> & {
  start: StudyStart;
  storeLocation: string;
  cwd: string;
};

/** How this process's part of a study ended, for its parent run. */
export interface StudyEnd {
  status: 'FINISHED' | 'FAILED' | 'KILLED';
  best: BestTrial | null;
  /** The text of best-params.json, when it was written. */
  bestParamsFile: string | null;
  trials: { complete: number; pruned: number; failed: number } | null;
  finished: boolean | null;
}

/** Optuna's TrialState names, which its MLflow callback puts in the `state` tag. */
const OPTUNA_STATE = { complete: 'COMPLETE', pruned: 'PRUNED', failed: 'FAIL' } as const;

/** The tags that find a study's parent run (its key, not its name: the same name in another store is another study). */
export function studyRunRef(key: string): RunRef {
  return { 'oracx.kind': 'tune-study', 'oracx.study_key': key };
}

/** The study's window, the same for every run of it. */
function windowParams(s: StudyTracking): Record<string, string> {
  const params: Record<string, string> = {
    model: s.model,
    feature_set: s.featureSet,
    competitions: s.competitions.join(','),
    walk_forward: s.start.walkForward,
  };
  if (s.seasons.length) params.seasons = s.seasons.join(',');
  if (s.lastSeasons !== undefined) params.last_seasons = String(s.lastSeasons);
  if (s.trainSeasons !== undefined) params.train_seasons = String(s.trainSeasons);
  return params;
}

/** The matches the study scores trials on, as a dataset input with the columns its model reads. */
function validationDataset(s: StudyTracking) {
  const columns = modelColumns(s.model, s.start.params, s.start.featureNames);
  return storeDataset({
    name: `${s.competitions.join('+')} ${s.start.seasons.join('+')}`,
    digest: matchesDigest(s.start.testMatchIds),
    storeLocation: s.storeLocation,
    cwd: s.cwd,
    source: { featureSet: s.featureSet, competitions: s.competitions, seasons: s.start.seasons, walkForward: s.start.walkForward },
    columns,
    profile: { num_rows: s.start.testMatchIds.length, num_elements: s.start.testMatchIds.length * columns.length, folds: s.start.folds },
    context: 'validation',
  });
}

const studyName = (s: StudyTracking) => `tune:${s.study}`.slice(0, 250);

function studyTags(s: StudyTracking): Record<string, string> {
  return {
    ...oracxRunTags('tune-study', { runName: studyName(s), source: 'oracx tune', cwd: s.cwd }),
    ...studyRunRef(s.start.key),
    'oracx.study': s.study,
    'oracx.store': s.storeLocation,
    'oracx.model': s.model,
    'oracx.feature_set': s.featureSet,
  };
}

/**
 * The study's parent run as a tune command starts: created, or found again when the study is resumed, and left
 * RUNNING. Only settings the store holds fixed for a study are params (MLflow params are write-once); sampler, seed,
 * trials requested and the seasons --last-seasons resolved to may differ between runs of a study, so they are tags.
 */
export function studyStartPayload(s: StudyTracking, startedAt: number): SpoolPayload {
  const params = windowParams(s);
  for (const [key, value] of Object.entries(s.fixed)) params[`model.${key}`] = String(value);
  return {
    runName: studyName(s),
    startTime: startedAt,
    endTime: startedAt,
    status: 'RUNNING',
    params,
    tags: {
      ...studyTags(s),
      direction: 'MINIMIZE',
      'oracx.sampler': s.sampler,
      'oracx.seed': String(s.seed),
      'oracx.trials_requested': String(s.trials),
      'oracx.test_seasons': s.start.seasons.join(','),
    },
    metrics: [],
    inputs: [validationDataset(s)],
    sharedRun: studyRunRef(s.start.key),
  };
}

/**
 * The study's parent run as a tune command ends: the study's best so far as metric best_rps (step = trials ended,
 * so the latest value is the best over the most trials) and tags best.<param> (tags, not params: a resumed study's
 * best changes), trial counts, and best-params.json.
 */
export function studyEndPayload(s: StudyTracking, end: StudyEnd, at: number): SpoolPayload {
  const ended = end.trials ? end.trials.complete + end.trials.pruned + end.trials.failed : 0;
  const metrics: SpoolMetric[] = [];
  if (end.best) metrics.push({ key: 'best_rps', value: end.best.value, timestamp: at, step: ended });
  if (end.trials) for (const [state, n] of Object.entries(end.trials)) metrics.push({ key: `trials_${state}`, value: n, timestamp: at, step: ended });
  const tags: Record<string, string> = { ...studyTags(s) };
  if (end.best) {
    tags['oracx.best_trial'] = String(end.best.number);
    for (const [key, value] of Object.entries(end.best.params)) tags[`best.${key}`] = String(value);
  }
  if (end.finished !== null) tags['oracx.study_finished'] = String(end.finished);
  return {
    runName: studyName(s),
    startTime: at,
    endTime: at,
    status: end.status,
    params: {},
    tags,
    metrics,
    inputs: [],
    sharedRun: studyRunRef(s.start.key),
    ...(end.bestParamsFile === null ? {} : { files: [{ path: 'best-params.json', content: end.bestParamsFile }] }),
  };
}

/**
 * One trial as a run nested under its study's run, as Optuna's MLflow callback logs it: params, the `state` tag
 * (COMPLETE, PRUNED, FAIL) and the objective `rps` for a complete trial only. A pruned trial's running RPS covers only
 * its first folds, so it is no objective value: it stays in `running_rps` (step = folds scored), which also draws each
 * trial's curve. Optuna ends every trial's run FINISHED (its start_run context closes normally, whatever the state),
 * pruned ones included, and so does oracx; a failed trial ends FAILED instead, so MLflow's status filter finds it.
 */
export function trialPayload(t: TrialEvent, s: StudyTracking): SpoolPayload {
  const runName = `${s.study}-trial-${t.number}`.slice(0, 250);
  const metrics: SpoolMetric[] = t.intermediate.map((value, i) => ({ key: 'running_rps', value, timestamp: t.finishedAt, step: i + 1 }));
  if (t.status === 'complete' && t.value !== null) metrics.push({ key: 'rps', value: t.value, timestamp: t.finishedAt, step: 0 });
  const params: Record<string, string> = { ...windowParams(s), seasons: s.start.seasons.join(','), sampler: s.sampler, seed: String(s.seed) };
  for (const [key, value] of Object.entries({ ...s.fixed, ...t.params })) params[`model.${key}`] = String(value);
  return {
    runName,
    startTime: t.startedAt,
    endTime: t.finishedAt,
    status: t.status === 'failed' ? 'FAILED' : 'FINISHED',
    params,
    tags: {
      ...oracxRunTags('tune-trial', { runName, source: 'oracx tune', cwd: s.cwd }),
      'oracx.study': s.study,
      'oracx.study_key': s.start.key,
      'oracx.trial': String(t.number),
      'oracx.trial_state': t.status,
      'oracx.store': s.storeLocation,
      state: OPTUNA_STATE[t.status],
      number: String(t.number),
      direction: 'MINIMIZE',
      ...(t.error ? { 'oracx.error': t.error.slice(0, 5000) } : {}),
    },
    metrics,
    inputs: [validationDataset(s)],
    parentRun: studyRunRef(s.start.key),
  };
}
