/** `tune`: hyperparameter search (TPE or random) with median pruning over walk-forward folds, trials kept in the store. */
import { hostname } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { Interrupted, UserError } from '../src/errors.js';
import { rps } from '../src/ml/metrics.js';
import { fitModel, getModel, type ParamValue, type ParamValues } from '../src/ml/models/index.js';
import { mulberry32 } from '../src/ml/random.js';
import { medianPrune } from '../src/ml/tune/pruner.js';
import { randomSample, tpeSample, type CompletedTrial } from '../src/ml/tune/samplers.js';
import { searchSpace } from '../src/ml/tune/space.js';
import { outcomeOf, type Outcome } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadUniverse, toDataset, type Universe } from './dataset.js';
import { foldData, planFolds, type FoldPlan, type WalkForward, type WalkForwardSpec } from './walk-forward.js';
import { checkModelParams } from './train.js';

export type SamplerName = 'tpe' | 'random';

export interface TuneOptions extends WalkForwardSpec {
  study: string;
  sampler: SamplerName;
  /** Total trials the study should reach (counting every process's trials). */
  trials: number;
  timeoutMs?: number;
  seed: number;
  /** Params held fixed (not searched). */
  fixed: Record<string, ParamValue>;
  /** Trials running longer than this without a heartbeat are re-queued (their process died). */
  staleAfterMs: number;
  output?: string;
  signal?: AbortSignal;
  onTrial?: (event: TrialEvent) => void;
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
  trials: { complete: number; pruned: number; failed: number; running: number; waiting: number };
  ranHere: number;
  requeued: number;
  best: { number: number; value: number; params: ParamValues } | null;
  output: string | null;
}

interface StudySettings {
  model: string;
  featureSet: string;
  competitions: string[];
  seasons: string[];
  lastSeasons: number | null;
  walkForward: WalkForward;
  fixed: Record<string, ParamValue>;
}

const now = () => new Date().toISOString();

/** Finds the study or creates it; another process's study of the same name must ask the same question. */
async function openStudy(store: Store, options: TuneOptions): Promise<number> {
  const settings: StudySettings = {
    model: options.model,
    featureSet: options.featureSet,
    competitions: options.competitions,
    seasons: options.seasons,
    lastSeasons: options.lastSeasons ?? null,
    walkForward: options.walkForward,
    fixed: options.fixed,
  };
  const text = JSON.stringify(settings);
  await store.db
    .insertInto('tune_studies')
    .values({ name: options.study, model: options.model, feature_set: options.featureSet, sampler: options.sampler, settings: text })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const study = await store.db.selectFrom('tune_studies').selectAll().where('name', '=', options.study).executeTakeFirstOrThrow();
  if (study.settings !== text) {
    throw new UserError(`study "${options.study}" exists with other settings (${study.settings})`, {
      hint: 'run with the same model, features, competitions, seasons and fixed params, or pick another --study name',
    });
  }
  return Number(study.id);
}

/** Puts trials whose process stopped sending heartbeats back in the queue, with their params: none is lost. */
async function requeueStale(store: Store, studyId: number, staleAfterMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - staleAfterMs).toISOString();
  const result = await store.db
    .updateTable('tune_trials')
    .set({ status: 'waiting', worker: null, intermediate: '[]' })
    .where('study_id', '=', studyId)
    .where('status', '=', 'running')
    .where('heartbeat_at', '<', cutoff)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

interface Claimed {
  id: number;
  number: number;
  params: ParamValues;
}

/** Claims a queued trial or samples and inserts a new one, atomically with respect to other processes. */
async function claimTrial(store: Store, studyId: number, options: TuneOptions, rngSeed: number, worker: string): Promise<Claimed | null> {
  const spec = getModel(options.model);
  const dims = searchSpace(spec.params, { exclude: Object.keys(options.fixed) });
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return await store.db.transaction().execute(async (tx) => {
        // PostgreSQL: the study row lock serialises claims; SQLite serialises writers by itself.
        if (store.dialect === 'postgres') await tx.selectFrom('tune_studies').select('id').where('id', '=', studyId).forUpdate().execute();
        const waiting = await tx
          .selectFrom('tune_trials')
          .select(['id', 'number', 'params'])
          .where('study_id', '=', studyId)
          .where('status', '=', 'waiting')
          .orderBy('number')
          .limit(1)
          .executeTakeFirst();
        if (waiting) {
          await tx.updateTable('tune_trials').set({ status: 'running', worker, started_at: now(), heartbeat_at: now() }).where('id', '=', waiting.id).execute();
          return { id: Number(waiting.id), number: waiting.number, params: JSON.parse(waiting.params) as ParamValues };
        }
        const trials = await tx
          .selectFrom('tune_trials')
          .select(['number', 'status', 'params', 'value'])
          .where('study_id', '=', studyId)
          .orderBy('number')
          .execute();
        if (trials.length >= options.trials) return null;
        const completed: CompletedTrial[] = trials
          .filter((t) => t.status === 'complete' && t.value !== null)
          .map((t) => ({ params: JSON.parse(t.params) as ParamValues, value: t.value! }));
        const number = trials.reduce((max, t) => Math.max(max, t.number), -1) + 1;
        // Each trial number gets its own stream, so a study's samples do not depend on which process draws them.
        const rng = mulberry32((rngSeed * 1_000_003 + number) >>> 0);
        const pruned = trials.filter((t) => t.status === 'pruned').map((t) => ({ params: JSON.parse(t.params) as ParamValues }));
        const sampled = options.sampler === 'tpe' ? tpeSample(dims, completed, rng, { pruned }) : randomSample(dims, rng);
        const params = { ...sampled, ...options.fixed };
        const row = await tx
          .insertInto('tune_trials')
          .values({ study_id: studyId, number, status: 'running', params: JSON.stringify(params), worker, started_at: now(), heartbeat_at: now() })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { id: Number(row.id), number, params };
      });
    } catch (error) {
      // Two processes raced for the same number (or SQLite refused a lock upgrade): try again.
      const text = String((error as { code?: string }).code ?? '') + String((error as Error).message);
      if (!/23505|UNIQUE|SQLITE_BUSY|unique|40001|40P01/.test(text)) throw error;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  }
  throw new Error('could not claim a trial after 20 attempts');
}

/** Runs a study until it has `trials` trials, the timeout passes, or the user interrupts. */
export async function tune(store: Store, options: TuneOptions): Promise<TuneResult> {
  checkModelParams(options.model, options.fixed);
  const universe: Universe = await loadUniverse(store, options.featureSet);
  const plan: FoldPlan[] = planFolds(universe, options);
  const folds = plan.map((fold) => foldData(universe, fold, { competitions: options.competitions, bookmaker: false, margin: 'multiplicative' })).filter((f) => f.test.length > 0);
  const studyId = await openStudy(store, options);
  const requeued = await requeueStale(store, studyId, options.staleAfterMs);
  const worker = `${hostname()}:${process.pid}`;
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let ranHere = 0;

  while (Date.now() < deadline && !options.signal?.aborted) {
    const trial = await claimTrial(store, studyId, options, options.seed, worker);
    if (!trial) break;
    ranHere++;
    const startedAt = Date.now();
    let sum = 0;
    let n = 0;
    const history: number[] = [];
    let status: 'complete' | 'pruned' | 'failed' = 'complete';
    let error: string | null = null;
    try {
      for (const [step, fold] of folds.entries()) {
        if (options.signal?.aborted) break;
        const model = await fitModel(options.model, toDataset(universe, fold.train), trial.params, { seed: options.seed + step, signal: options.signal });
        const probs = model.predict(toDataset(universe, fold.test));
        fold.test.forEach((m, i) => {
          sum += rps(probs[i]!, outcomeOf(m) as Outcome);
          n++;
        });
        history.push(sum / n);
        await store.db.updateTable('tune_trials').set({ intermediate: JSON.stringify(history), heartbeat_at: now() }).where('id', '=', trial.id).execute();
        const others = await store.db
          .selectFrom('tune_trials')
          .select('intermediate')
          .where('study_id', '=', studyId)
          .where('status', 'in', ['complete', 'pruned'])
          .execute();
        if (medianPrune(step, sum / n, others.map((o) => JSON.parse(o.intermediate) as number[]))) {
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
      break;
    }
    const value = status === 'failed' || n === 0 ? null : sum / n;
    await store.db
      .updateTable('tune_trials')
      .set({ status, value, error, finished_at: now(), heartbeat_at: now() })
      .where('id', '=', trial.id)
      .execute();
    const best = await bestTrial(store, studyId);
    options.onTrial?.({
      number: trial.number,
      status,
      value,
      params: trial.params,
      bestValue: best?.value ?? null,
      intermediate: history,
      error,
      startedAt,
      finishedAt: Date.now(),
    });
  }

  const counts = await store.db
    .selectFrom('tune_trials')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('study_id', '=', studyId)
    .groupBy('status')
    .execute();
  const count = (s: string) => Number(counts.find((c) => c.status === s)?.n ?? 0);
  const best = await bestTrial(store, studyId);
  let output: string | null = null;
  if (options.output && best) {
    output = options.output;
    await writeFile(
      output,
      JSON.stringify({ study: options.study, model: options.model, featureSet: options.featureSet, trial: best.number, value: best.value, params: best.params }, null, 2) + '\n',
    );
  }
  const result: TuneResult = {
    study: options.study,
    trials: { complete: count('complete'), pruned: count('pruned'), failed: count('failed'), running: count('running'), waiting: count('waiting') },
    ranHere,
    requeued,
    best,
    output,
  };
  if (options.signal?.aborted) throw Object.assign(new Interrupted('tune interrupted; the current trial is queued again, resume with the same command'), { result });
  return result;
}

/** The complete trial with the lowest value. */
export async function bestTrial(store: Store, studyId: number): Promise<{ number: number; value: number; params: ParamValues } | null> {
  const row = await store.db
    .selectFrom('tune_trials')
    .select(['number', 'value', 'params'])
    .where('study_id', '=', studyId)
    .where('status', '=', 'complete')
    .where('value', 'is not', null)
    .orderBy('value')
    .orderBy('number')
    .limit(1)
    .executeTakeFirst();
  return row ? { number: row.number, value: row.value!, params: JSON.parse(row.params) as ParamValues } : null;
}
