/** `tune`: hyperparameter search (TPE or random) with median pruning over walk-forward folds, trials kept in the store. */
import { hostname } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { Interrupted } from '../src/errors.js';
import { rps } from '../src/ml/metrics.js';
import { updateEvery, type Model, type ParamValue, type ParamValues } from '../src/ml/models/index.js';
import { medianPrune } from '../src/ml/tune/pruner.js';
import { outcomeOf, type Outcome } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadUniverse, toDataset, type Universe } from './dataset.js';
import { describeWalkForward, foldData, foldModel, planFolds, type FoldPlan, type WalkForwardSpec } from './walk-forward.js';
import { checkModelParams } from './train.js';
import { pause } from '../src/pause.js';
import {
  bestTrial,
  claimTrial,
  openStudy,
  requeueDead,
  studyState,
  type BestTrial,
  type Claimed,
  type SamplerName,
  type UnfinishedTrial,
} from './tune-study.js';

export type { BestTrial, SamplerName, UnfinishedTrial } from './tune-study.js';
export { bestTrial } from './tune-study.js';

/** How often a process with nothing left to claim looks at the trials other processes are running. */
const POLL_MS = 500;

export interface TuneOptions extends WalkForwardSpec {
  study: string;
  sampler: SamplerName;
  /** Total trials the study should reach (counting every process's trials). */
  trials: number;
  /** After this long no trial is started and no other process is waited for. */
  timeoutMs?: number;
  seed: number;
  /** Params held fixed (not searched). */
  fixed: Record<string, ParamValue>;
  /** Trials running longer than this without a heartbeat are re-queued (their process died). */
  staleAfterMs: number;
  output?: string;
  signal?: AbortSignal;
  /** Called once the study is open and its folds planned, before any trial. */
  onStart?: (study: StudyStart) => void;
  onTrial?: (event: TrialEvent) => void;
  /** Called when the process starts waiting for trials other processes run (and again if that set changes). */
  onWait?: (trials: UnfinishedTrial[]) => void;
}

/** What a study is scored on, known once it is open and its folds planned. */
export interface StudyStart {
  /** The study's name outside the store (see openStudy). */
  key: string;
  /** The test seasons the folds cover (what --last-seasons resolved to). */
  seasons: string[];
  /** The walk-forward as results name it: season, season+7d, 28d. */
  walkForward: string;
  folds: number;
  /** The matches every trial is scored on, in fold order. */
  testMatchIds: number[];
  /** The params every trial starts from (fixed ones, else defaults) and the feature set's columns: what trials read. */
  params: ParamValues;
  featureNames: string[];
}

export interface TrialEvent {
  number: number;
  status: 'complete' | 'pruned' | 'failed';
  value: number | null;
  params: ParamValues;
  bestValue: number | null;
  /** Running RPS after each fold (what pruning looked at). */
  intermediate: number[];
  error: string | null;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt: number;
}

export interface TuneResult {
  study: string;
  /** Every process's trials, counted when this process ended. */
  trials: { complete: number; pruned: number; failed: number; running: number; waiting: number };
  ranHere: number;
  requeued: number;
  /** The study's best complete trial when this process ended (what `output` holds). */
  best: BestTrial | null;
  output: string | null;
  /** True when all `trials` trials have ended (complete, pruned or failed). */
  finished: boolean;
  /** Trials that had not ended when this process stopped (a --timeout, or Ctrl-C), with who runs them. */
  unfinished: UnfinishedTrial[];
  /** Trials still to be sampled to reach `trials`. */
  notStarted: number;
}

export type Fold = ReturnType<typeof foldData> & { plan: FoldPlan };

/** The text of best-params.json (what `train --params-file` reads): the study, its best trial and that trial's params. */
export function bestParamsFile(study: Pick<TuneOptions, 'study' | 'model' | 'featureSet'>, best: BestTrial): string {
  const doc = { study: study.study, model: study.model, featureSet: study.featureSet, trial: best.number, value: best.value, params: best.params };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** A study opened and its folds planned: what every trial of it needs, in this process or in a worker's. */
export interface PreparedStudy {
  studyId: number;
  start: StudyStart;
  universe: Universe;
  folds: Fold[];
}

/** Checks the params, loads the data, plans the folds and opens (or creates) the study in the store. */
export async function prepareStudy(store: Store, options: TuneOptions): Promise<PreparedStudy> {
  const resolved = checkModelParams(options.model, options.fixed);
  const universe: Universe = await loadUniverse(store, options.featureSet);
  // The update cadence comes from params no tuner searches (e.g. ensemble members), so the fixed ones decide it.
  const modelDays = updateEvery(options.model, resolved);
  const plan: FoldPlan[] = planFolds(universe, options, modelDays);
  const folds: Fold[] = plan
    .map((fold) => ({
      plan: fold,
      ...foldData(universe, fold, { competitions: options.competitions, bookmaker: false, margin: 'multiplicative', trainSeasons: options.trainSeasons }),
    }))
    .filter((f) => f.test.length > 0);
  const { id: studyId, key } = await openStudy(store, options.study, options.sampler, {
    model: options.model,
    featureSet: options.featureSet,
    competitions: options.competitions,
    seasons: options.seasons,
    lastSeasons: options.lastSeasons ?? null,
    walkForward: options.walkForward,
    // Only when set, so studies opened before the option existed resume with the same settings text.
    ...(options.trainSeasons === undefined ? {} : { trainSeasons: options.trainSeasons }),
    fixed: options.fixed,
  });
  const start: StudyStart = {
    key,
    seasons: [...new Set(folds.map((f) => f.plan.season))].sort(),
    walkForward: describeWalkForward(options.walkForward, modelDays),
    folds: folds.length,
    testMatchIds: folds.flatMap((f) => f.test.map((m) => m.id)),
    params: resolved,
    featureNames: universe.featureNames,
  };
  return { studyId, start, universe, folds };
}

/** Runs a study until it has `trials` ended trials, the timeout passes, or the user interrupts. */
export async function tune(store: Store, options: TuneOptions): Promise<TuneResult> {
  const { studyId, start, universe, folds } = await prepareStudy(store, options);
  options.onStart?.(start);
  const host = hostname();
  const worker = `${host}:${process.pid}`;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let ranHere = 0;
  let requeued = 0;
  let awaited = '';
  let requeuedOwn = false;

  while (Date.now() < deadline && !options.signal?.aborted) {
    // Checked before every claim, so a trial whose process died is picked up here, not only by the next run.
    requeued += await requeueDead(store, studyId, options.staleAfterMs, host);
    const trial = await claimTrial(store, studyId, options, worker);
    if (trial) {
      ranHere++;
      requeuedOwn = (await runTrial(store, studyId, trial, universe, folds, options)) === null;
      continue;
    }
    // Nothing left to claim, but ending now would report a best that misses the trials other processes are still
    // running: wait for them (or for their process to be found dead, and run them here).
    const { unfinished } = await studyState(store, studyId, options.trials);
    if (unfinished.length === 0) break;
    const key = unfinished.map((t) => `${t.number}@${t.worker ?? ''}`).join(',');
    if (key !== awaited) {
      awaited = key;
      options.onWait?.(unfinished);
    }
    await pause(Math.min(POLL_MS, deadline - Date.now()), options.signal);
  }

  const result: TuneResult = { ...(await studyOutcome(store, studyId, options)), ranHere, requeued };
  if (options.signal?.aborted) {
    const what = requeuedOwn ? 'the current trial is queued again' : 'no trial was running here';
    throw Object.assign(new Interrupted(`tune interrupted; ${what}, resume with the same command`), { result });
  }
  return result;
}

/**
 * The study as it stands when a tune command ends, whoever ran its trials: counts, best trial (written to
 * options.output when there is one) and what is left.
 */
export async function studyOutcome(store: Store, studyId: number, options: TuneOptions): Promise<Omit<TuneResult, 'ranHere' | 'requeued'>> {
  const state = await studyState(store, studyId, options.trials);
  const best = await bestTrial(store, studyId);
  let output: string | null = null;
  if (options.output && best) {
    output = options.output;
    await writeFile(output, bestParamsFile(options, best));
  }
  return {
    study: options.study,
    trials: state.trials,
    best,
    output,
    finished: state.unfinished.length === 0 && state.notStarted === 0,
    unfinished: state.unfinished,
    notStarted: state.notStarted,
  };
}

/** Runs one claimed trial fold by fold (heartbeat and pruning check after each) and records how it ended (null: interrupted, re-queued). */
export async function runTrial(
  store: Store,
  studyId: number,
  trial: Claimed,
  universe: Universe,
  folds: Fold[],
  options: TuneOptions,
): Promise<TrialEvent | null> {
  const startedAt = Date.now();
  let sum = 0;
  let n = 0;
  const history: number[] = [];
  let status: 'complete' | 'pruned' | 'failed' = 'complete';
  let error: string | null = null;
  // Each test season's latest model, which an in-season update (a fold after its season's first) starts from.
  const latest = new Map<string, Model>();
  try {
    for (const [step, fold] of folds.entries()) {
      if (options.signal?.aborted) break;
      const model = await foldModel(options.model, latest.get(fold.plan.season), fold.plan, toDataset(universe, fold.train), trial.params, {
        seed: options.seed + step,
        signal: options.signal,
      });
      latest.set(fold.plan.season, model);
      const probs = model.predict(toDataset(universe, fold.test));
      fold.test.forEach((m, i) => {
        sum += rps(probs[i]!, outcomeOf(m) as Outcome);
        n++;
      });
      history.push(sum / n);
      await store.db
        .updateTable('tune_trials')
        .set({ intermediate: JSON.stringify(history), heartbeat_at: new Date().toISOString() })
        .where('id', '=', trial.id)
        .execute();
      const others = await store.db
        .selectFrom('tune_trials')
        .select('intermediate')
        .where('study_id', '=', studyId)
        .where('status', 'in', ['complete', 'pruned'])
        .execute();
      if (
        medianPrune(
          step,
          sum / n,
          others.map((o) => JSON.parse(o.intermediate) as number[]),
        )
      ) {
        status = 'pruned';
        break;
      }
    }
  } catch (e) {
    // An interrupted fit throws too; that trial is re-queued just below, not failed.
    if (!options.signal?.aborted) {
      status = 'failed';
      error = e instanceof Error ? e.message : String(e);
    }
  }
  if (options.signal?.aborted) {
    // Interrupted mid-trial: back to the queue with the same params, to be run again (by any process).
    await store.db.updateTable('tune_trials').set({ status: 'waiting', worker: null, intermediate: '[]' }).where('id', '=', trial.id).execute();
    return null;
  }
  const value = status === 'failed' || n === 0 ? null : sum / n;
  const at = new Date().toISOString();
  await store.db.updateTable('tune_trials').set({ status, value, error, finished_at: at, heartbeat_at: at }).where('id', '=', trial.id).execute();
  const best = await bestTrial(store, studyId);
  const event: TrialEvent = {
    number: trial.number,
    status,
    value,
    params: trial.params,
    bestValue: best?.value ?? null,
    intermediate: history,
    error,
    startedAt,
    finishedAt: Date.now(),
  };
  options.onTrial?.(event);
  return event;
}
