/** A `tune` study as the store holds it: opening it, claiming and re-queueing trials, and what state it is in. */
import { createHash } from 'node:crypto';
import { UserError } from '../src/errors.js';
import { getModel, type ParamValue, type ParamValues } from '../src/ml/models/index.js';
import { mulberry32 } from '../src/ml/random.js';
import { randomSample, tpeSample, type CompletedTrial } from '../src/ml/tune/samplers.js';
import { searchSpace } from '../src/ml/tune/space.js';
import type { Store } from '../src/store/connect.js';
import type { WalkForward } from './walk-forward.js';

export type SamplerName = 'tpe' | 'random';

/** What makes two processes' studies the same question. */
export interface StudySettings {
  model: string;
  featureSet: string;
  competitions: string[];
  seasons: string[];
  lastSeasons: number | null;
  walkForward: WalkForward;
  /** Absent when not set (see TuneOptions.trainSeasons). */
  trainSeasons?: number;
  fixed: Record<string, ParamValue>;
}

export interface BestTrial {
  number: number;
  value: number;
  params: ParamValues;
}

/** A trial of the study's target that is not complete, pruned or failed. */
export interface UnfinishedTrial {
  number: number;
  status: 'running' | 'waiting';
  /** `host:pid` of the process running it (null while waiting). */
  worker: string | null;
  /** ms since its last heartbeat (null while waiting). */
  heartbeatAgeMs: number | null;
}

export interface StudyState {
  trials: { complete: number; pruned: number; failed: number; running: number; waiting: number };
  /** Trials numbered below the target that are running or waiting, by number. */
  unfinished: UnfinishedTrial[];
  /** Trials still to be sampled to reach the target. */
  notStarted: number;
}

export interface Claimed {
  id: number;
  number: number;
  params: ParamValues;
}

const now = () => new Date().toISOString();

/**
 * Finds the study or creates it; another process's study of the same name must ask the same question. `key` names
 * the study outside the store (its MLflow runs): the same for every process whatever address it opened the store
 * by, different for a study of the same name in another store.
 */
export async function openStudy(store: Store, name: string, sampler: SamplerName, settings: StudySettings): Promise<{ id: number; key: string }> {
  const text = JSON.stringify(settings);
  await store.db
    .insertInto('tune_studies')
    .values({ name, model: settings.model, feature_set: settings.featureSet, sampler, settings: text })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const study = await store.db.selectFrom('tune_studies').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
  if (study.settings !== text) {
    throw new UserError(`study "${name}" exists with other settings (${study.settings})`, {
      hint: 'run with the same model, features, competitions, seasons and fixed params, or pick another --study name',
    });
  }
  // PostgreSQL hands back a Date, SQLite the text it stored.
  const at: unknown = study.created_at;
  const created = at instanceof Date ? at.toISOString() : String(at);
  const key = createHash('sha256')
    .update(JSON.stringify([name, Number(study.id), created, text]))
    .digest('hex')
    .slice(0, 16);
  return { id: Number(study.id), key };
}

/**
 * Whether the process behind a `host:pid` worker is known to be gone. Only a process on this host can be asked
 * (signal 0 checks existence without signalling); a reused pid makes a dead worker look alive, which only defers
 * the decision to the heartbeat rule.
 */
export function workerGone(worker: string, host: string): boolean {
  // A queue worker's tag is `host:pid job ID` (see jobWorker): the process part decides.
  const proc = worker.split(' job ')[0]!;
  const at = proc.lastIndexOf(':');
  if (at < 0 || proc.slice(0, at) !== host) return false;
  const pid = Number(proc.slice(at + 1));
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the pid exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Puts trials whose process died back in the queue, with their params: none is lost. Dead means no heartbeat for
 * `staleAfterMs`, or (known at once) a worker on this host whose pid no longer exists.
 */
export async function requeueDead(store: Store, studyId: number, staleAfterMs: number, host: string): Promise<number> {
  const running = await store.db
    .selectFrom('tune_trials')
    .select(['id', 'worker', 'heartbeat_at'])
    .where('study_id', '=', studyId)
    .where('status', '=', 'running')
    .execute();
  const cutoffMs = Date.now() - staleAfterMs;
  const cutoff = new Date(cutoffMs).toISOString();
  let requeued = 0;
  for (const trial of running) {
    const stale = trial.heartbeat_at === null || Date.parse(trial.heartbeat_at) < cutoffMs;
    const gone = trial.worker !== null && workerGone(trial.worker, host);
    if (!stale && !gone) continue;
    // Another process may have re-queued and claimed the row since it was read: only the same dead worker's trial
    // goes back, and a heartbeat that arrived meanwhile proves the worker alive.
    let update = store.db
      .updateTable('tune_trials')
      .set({ status: 'waiting', worker: null, intermediate: '[]' })
      .where('id', '=', trial.id)
      .where('status', '=', 'running');
    update = trial.worker === null ? update.where('worker', 'is', null) : update.where('worker', '=', trial.worker);
    if (!gone) update = update.where((eb) => eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', cutoff)]));
    requeued += Number((await update.executeTakeFirst()).numUpdatedRows);
  }
  return requeued;
}

export interface ClaimOptions {
  model: string;
  sampler: SamplerName;
  trials: number;
  fixed: Record<string, ParamValue>;
  seed: number;
}

/** Claims a queued trial or samples and inserts a new one, atomically with respect to other processes. */
export async function claimTrial(store: Store, studyId: number, options: ClaimOptions, worker: string): Promise<Claimed | null> {
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
        const rng = mulberry32((options.seed * 1_000_003 + number) >>> 0);
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

/** The worker tag of a trial run by a queued job: the process (for workerGone) and the job (for claimJobTrial). */
export function jobWorker(host: string, pid: number, jobId: string): string {
  return `${host}:${pid} job ${jobId}`;
}

/** A job's trial: claimed now (or taken back after its worker died), or already ended by an earlier run of the job. */
export type JobClaim = { kind: 'run'; trial: Claimed } | { kind: 'ended'; number: number } | null;

/**
 * claimTrial for a queued trial job, so that a job is one trial however often it runs: a retried job (its worker
 * was killed, or lost its lock) takes back the trial an earlier run of it left running, from its first fold, and a
 * job whose trial already ended (the worker died after writing it, before the queue heard) runs nothing again.
 */
export async function claimJobTrial(store: Store, studyId: number, options: ClaimOptions, worker: string, jobId: string): Promise<JobClaim> {
  const mine = await store.db
    .selectFrom('tune_trials')
    .select(['id', 'number', 'status', 'params', 'worker'])
    .where('study_id', '=', studyId)
    .where('worker', 'like', `% job ${jobId}`)
    .orderBy('number')
    .executeTakeFirst();
  if (mine && mine.status !== 'running' && mine.status !== 'waiting') return { kind: 'ended', number: mine.number };
  if (mine && mine.status === 'running') {
    // Only the row still tagged with this job moves: a requeueDead by another process in between wins.
    const taken = await store.db
      .updateTable('tune_trials')
      .set({ worker, intermediate: '[]', started_at: now(), heartbeat_at: now() })
      .where('id', '=', mine.id)
      .where('status', '=', 'running')
      .where('worker', '=', mine.worker)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1)
      return { kind: 'run', trial: { id: Number(mine.id), number: mine.number, params: JSON.parse(mine.params) as ParamValues } };
  }
  const trial = await claimTrial(store, studyId, options, worker);
  return trial ? { kind: 'run', trial } : null;
}

/** Counts the study's trials and lists those of the first `target` numbers that have not ended. */
export async function studyState(store: Store, studyId: number, target: number): Promise<StudyState> {
  const rows = await store.db
    .selectFrom('tune_trials')
    .select(['number', 'status', 'worker', 'heartbeat_at'])
    .where('study_id', '=', studyId)
    .orderBy('number')
    .execute();
  const count = (status: string) => rows.filter((r) => r.status === status).length;
  const at = Date.now();
  const unfinished = rows
    .filter((r) => r.number < target && (r.status === 'running' || r.status === 'waiting'))
    .map(
      (r): UnfinishedTrial => ({
        number: r.number,
        status: r.status as UnfinishedTrial['status'],
        worker: r.worker,
        heartbeatAgeMs: r.status === 'running' && r.heartbeat_at !== null ? Math.max(0, at - Date.parse(r.heartbeat_at)) : null,
      }),
    );
  return {
    trials: { complete: count('complete'), pruned: count('pruned'), failed: count('failed'), running: count('running'), waiting: count('waiting') },
    unfinished,
    notStarted: Math.max(0, target - rows.length),
  };
}

/** The complete trial with the lowest value. */
export async function bestTrial(store: Store, studyId: number): Promise<BestTrial | null> {
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
