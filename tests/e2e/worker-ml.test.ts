// `oracx worker --queues tune,predict,train` with `tune|predict|train --distributed`, as users run them: spawned CLIs,
// a private redis-server and a real PostgreSQL. Two workers share a study and one is SIGKILLed mid-trial: the study
// still ends with exactly N trials, numbered once each. Distributed predict prints and stores what in-process predict
// does, each batch once. A job of another payload version is refused by every queue.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forecast } from '../../pipelines/predict.js';
import type { TuneResult } from '../../pipelines/tune.js';
import { PAYLOAD_VERSION } from '../../src/queue/payload.js';
import { runPredictJob } from '../../src/queue/predict-job.js';
import type { PredictPayload } from '../../src/queue/ml-payloads.js';
import type { Run } from '../../src/mlflow/types.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnWatched, type Watched } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { startRedis, type RedisServer } from '../helpers/obs-fixture.js';
import { DIALECTS, pgLocation, tempDir, withStore } from '../helpers/stores.js';

const pg = DIALECTS.find((d) => d.name === 'postgres')!;
if (!pg.available) console.warn('[oracx tests] worker-ml: PostgreSQL unavailable, the distributed tune/predict/train tests are skipped');

const FULL = path.join(FIXTURES, 'full');
const TUNE = ['tune', '--model', 'elo-ordered', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '28d', '--no-track'];

type Proc = Watched;

const children: Proc[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

/** The first n matches of E0 2019-20 as a fixture list: results and statistics blanked, prices kept. */
function fixturesFile(dir: string, n: number): string {
  const RESULT_COLUMNS = new Set(['FTHG', 'FTAG', 'FTR', 'HTHG', 'HTAG', 'HTR', 'HS', 'AS', 'HST', 'AST', 'HF', 'AF', 'HC', 'AC', 'HY', 'AY', 'HR', 'AR']);
  const lines = readFileSync(path.join(FULL, 'E0_2019-2020.csv'), 'latin1')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',');
  const rows = lines.slice(1, n + 1).map((l) =>
    l
      .split(',')
      .map((c, i) => (RESULT_COLUMNS.has(header[i]!) ? '' : c))
      .join(','),
  );
  const sub = path.join(dir, 'upcoming');
  mkdirSync(sub, { recursive: true });
  const file = path.join(sub, 'E0_2019-2020.csv');
  writeFileSync(file, `${[lines[0], ...rows].join('\r\n')}\r\n`, 'latin1');
  return file;
}

describe.skipIf(!pg.available)('tune, predict and train on workers (PostgreSQL, Redis)', () => {
  let redis: RedisServer;
  let prefix = '';
  let n = 0;
  const queueFlags = () => ['--redis', redis.url, '--queue-prefix', prefix];
  const worker = (store: string, queues: string, extra: string[] = []) => {
    const p = spawnWatched([
      'worker',
      '--store',
      store,
      ...queueFlags(),
      '--queues',
      queues,
      '--lock-duration',
      '1s',
      '--stalled-interval',
      '500ms',
      '--log-format',
      'json',
      ...extra,
    ]);
    children.push(p);
    return p;
  };
  const stop = async (p: Proc) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill('SIGTERM');
    await p.done;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.kill();
  });
  // Each test its own key prefix: the jobs of one never meet the workers of another.
  const fresh = () => (prefix = `oracx-ml-${process.pid}-${++n}`);

  it('tune: two workers, one SIGKILLed mid-trial; the study ends with N trials, each number once, best = min RPS', { timeout: 120_000 }, async () => {
    fresh();
    const store = pgLocation();
    const dir = tempDir();
    const seeded = await runCli(['--store', store, 'collect', 'football-data', FULL, '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    // A's short lock makes its death quick to see; B's outlasts a loaded machine's synchronous stretches (data
    // loading, fold fits), so B's own jobs are never taken for stalled.
    const a = worker(store, 'tune');
    const b = worker(store, 'tune', ['--lock-duration', '20s']);
    await Promise.all([a.waitFor(/processing tune/), b.waitFor(/processing tune/)]);

    const trials = 8;
    const tune = spawnWatched(['--store', store, ...TUNE, '--trials', String(trials), '--distributed', ...queueFlags(), '--json'], dir);
    children.push(tune);
    // Kill A while the study shows a trial running under one of A's jobs.
    const killed = await withStore(store, async (s) => {
      const tag = `${hostname()}:${a.child.pid} job `;
      const end = Date.now() + 60_000;
      for (;;) {
        if (Date.now() > end) throw new Error(`worker A never ran a trial; A:\n${a.text()}\ntune:\n${tune.text()}`);
        const running = await s.db
          .selectFrom('tune_trials')
          .select(['number', 'worker'])
          .where('status', '=', 'running')
          .execute()
          .catch(() => []);
        const mine = running.find((t) => t.worker?.startsWith(tag));
        if (mine) {
          a.child.kill('SIGKILL');
          return mine;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    const done = await tune.done;
    expect(done.code, tune.text()).toBe(0);
    const result = done.json<TuneResult & { failedJobs: unknown[] }>();
    expect(result.finished).toBe(true);
    expect(result.failedJobs).toEqual([]);
    expect(result.trials.complete + result.trials.pruned + result.trials.failed).toBe(trials);
    expect(b.text()).toMatch(/its worker stopped renewing the lock/);

    const rows = await withStore(store, (s) =>
      s.db.selectFrom('tune_trials').select(['number', 'status', 'value', 'params', 'worker']).orderBy('number').execute(),
    );
    expect(rows.map((r) => r.number)).toEqual([...Array(trials).keys()]);
    expect(rows.every((r) => r.status === 'complete' || r.status === 'pruned' || r.status === 'failed')).toBe(true);
    // The killed trial was run again (by B), with the params it was sampled with.
    const again = rows.find((r) => r.number === killed.number)!;
    expect(again.worker).toMatch(new RegExp(`^${hostname()}:${b.child.pid} job `));
    const complete = rows.filter((r) => r.status === 'complete');
    const min = Math.min(...complete.map((r) => r.value!));
    expect(result.best!.value).toBe(min);
    expect(JSON.stringify(result.best!.params)).toBe(complete.find((r) => r.value === min)!.params);
    const file = JSON.parse(readFileSync(path.join(dir, 'best-params.json'), 'utf8')) as { trial: number; value: number };
    expect(file).toMatchObject({ trial: result.best!.number, value: min });

    // The same command again: every job is already there, no trial is added or run twice.
    const rerun = await runCli(['--store', store, ...TUNE, '--trials', String(trials), '--distributed', ...queueFlags(), '--json'], { cwd: dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(new RegExp(`${trials} trial job\\(s\\) on the tune queue \\(0 added, ${trials} already there`));
    expect(rerun.json<TuneResult>().best).toEqual(result.best);
    expect(await withStore(store, async (s) => (await s.db.selectFrom('tune_trials').select('id').execute()).length)).toBe(trials);
    await stop(b);
  });

  it('tune: Ctrl-C stops waiting (exit 130), the trial jobs stay queued; a worker started later runs them, the command run again reports the study', {
    timeout: 120_000,
  }, async () => {
    fresh();
    const store = pgLocation();
    const dir = tempDir();
    const seeded = await runCli(['--store', store, 'collect', 'football-data', FULL, '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    const args = ['--store', store, ...TUNE, '--trials', '3', '--distributed', ...queueFlags()];
    const waiting = spawnWatched(args, dir);
    children.push(waiting);
    await waiting.waitFor(/3 trial job\(s\) on the tune queue \(3 added.*waiting for workers/);
    waiting.child.kill('SIGINT');
    const stopped = await waiting.done;
    expect(stopped.code, waiting.text()).toBe(130);
    expect(waiting.text()).toMatch(/stopped waiting; 3 trial job\(s\) left on the tune queue for the workers/);
    const w = worker(store, 'tune', ['--lock-duration', '20s']);
    const again = await runCli([...args, '--json'], { cwd: dir });
    expect(again.code, again.stderr + w.text()).toBe(0);
    expect(again.stderr).toMatch(/\(0 added, 3 already there/);
    const result = again.json<TuneResult>();
    expect(result.finished).toBe(true);
    expect(result.trials.complete + result.trials.pruned + result.trials.failed).toBe(3);
    await stop(w);
  });

  it('predict: the forecasts of in-process predict, in its order; each batch stored once, even when run again', { timeout: 120_000 }, async () => {
    fresh();
    const store = pgLocation();
    const dir = tempDir();
    const ok = async (args: string[]) => {
      const r = await runCli([...args, '--store', store], { cwd: dir, env: { ORACX_ACTOR: 'ci-bot' } });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r;
    };
    await ok(['collect', 'football-data', path.join(FULL, 'E0_2017-2018.csv'), path.join(FULL, 'E0_2018-2019.csv'), '-q']);
    await ok(['collect', 'football-data', fixturesFile(dir, 20), '-q']);
    const run = (await ok(['train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--param', 'l2=10', '--json'])).json<{
      runId: number;
    }>().runId;
    const select = ['--run', String(run), '--from', '2019-08-01', '--to', '2019-08-31'];
    const local = (await ok(['predict', ...select, '--json'])).json<{ forecasts: Forecast[] }>().forecasts;
    expect(local).toHaveLength(20);

    // Replaying the feature state is synchronous work that holds the event loop (no lock renewal) for a while on a
    // busy machine: the lock must outlast it, or the job is taken for stalled (see docs/workers.md).
    const a = worker(store, 'predict', ['--lock-duration', '20s']);
    const b = worker(store, 'predict', ['--lock-duration', '20s']);
    await Promise.all([a.waitFor(/processing predict/), b.waitFor(/processing predict/)]);
    const distributed = await ok(['predict', ...select, '--distributed', ...queueFlags(), '--batch-size', '6', '--json']);
    expect(distributed.stderr).toMatch(/4 batch job\(s\) on the predict queue \(4 added/);
    expect(distributed.json<{ forecasts: Forecast[] }>().forecasts).toEqual(local);
    const counts = () =>
      withStore(store, async (s) => {
        const rows = await s.db.selectFrom('predictions').select(['request_id', 'principal', 'match_id']).execute();
        return {
          all: rows.length,
          queued: rows.filter((r) => r.request_id?.startsWith('predict-')).length,
          batches: new Set(rows.map((r) => r.request_id).filter(Boolean)).size,
          principals: [...new Set(rows.map((r) => r.principal))],
        };
      });
    expect(await counts()).toEqual({ all: 40, queued: 20, batches: 4, principals: ['ci-bot'] });
    // Text output is the in-process table too.
    const text = await ok(['predict', ...select, '--distributed', ...queueFlags(), '--batch-size', '6']);
    const textLocal = await ok(['predict', ...select]);
    expect(text.stdout).toBe(textLocal.stdout);
    expect(text.stderr).toMatch(/0 added, 4 already there/);
    // Only the in-process run stored rows again: the batches were stored once.
    expect(await counts()).toMatchObject({ all: 60, queued: 20, batches: 4 });

    // A batch that runs twice (its worker lost the lock after storing it) stores nothing the second time.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('predict', { connection, prefix });
    try {
      const job = ((await queue.getJobs(['completed'])) as Job[])[0]!;
      // jobs show: the payload without the model's bytes, the subject naming the batch.
      const shown = await runCli(['jobs', 'show', job.id!, '--json', ...queueFlags()]);
      expect(shown.code, shown.stderr).toBe(0);
      const view = shown.json<{ subject: string; payload: { model: Record<string, unknown>; matchIds: number[] } }>();
      expect(view.subject).toBe(`${view.payload.matchIds.length} match(es) with run ${run}`);
      expect(Object.keys(view.payload.model).sort()).toEqual(['sha256', 'who']);
      const s = await openStore(store);
      try {
        const twice = await runPredictJob(s, job.data as PredictPayload, job.id!);
        expect(twice.written).toBe(false);
        expect(twice.forecasts).toEqual((job.returnvalue as { forecasts: Forecast[] }).forecasts);
      } finally {
        await s.close();
      }
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(await counts()).toMatchObject({ all: 60, queued: 20 });
    await Promise.all([stop(a), stop(b)]);
  });

  it('train: a worker trains it; the same training enqueued again is the same job, one model version', { timeout: 120_000 }, async () => {
    fresh();
    const store = pgLocation();
    const dir = tempDir();
    const seeded = await runCli(['--store', store, 'collect', 'football-data', path.join(FULL, 'E0_2018-2019.csv'), '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    const w = worker(store, 'train');
    await w.waitFor(/processing train/);
    const args = [
      '--store',
      store,
      'train',
      '--model',
      'logreg',
      '--competitions',
      'E0',
      '--param',
      'l2=10',
      '--distributed',
      ...queueFlags(),
      '--artifacts',
      path.join(dir, 'artifacts'),
      '--no-track',
      '--json',
    ];
    const first = await runCli(args, { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const r1 = first.json<{ jobId: string; runId: number; modelVersionId: number; nMatches: number; trainMetrics: { rps: number } }>();
    expect(r1.jobId).toMatch(/^train-[0-9a-f]{40}$/);
    expect(r1.nMatches).toBe(380);
    expect(w.text()).toMatch(new RegExp(`job ${r1.jobId}: completed — run ${r1.runId}, model version ${r1.modelVersionId}`));
    const second = await runCli(args, { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/already on the train queue/);
    expect(second.json<{ runId: number }>().runId).toBe(r1.runId);
    // The same fit in-process gives the same figures (the worker ran the train pipeline).
    const local = await runCli(
      [
        '--store',
        store,
        'train',
        '--model',
        'logreg',
        '--competitions',
        'E0',
        '--param',
        'l2=10',
        '--artifacts',
        path.join(dir, 'local'),
        '--no-track',
        '--json',
      ],
      { cwd: dir },
    );
    expect(local.code, local.stderr).toBe(0);
    expect(local.json<{ trainMetrics: { rps: number } }>().trainMetrics.rps).toBe(r1.trainMetrics.rps);
    const versions = await withStore(store, (s) => s.db.selectFrom('model_versions').select('run_id').orderBy('run_id').execute());
    expect(versions.map((v) => Number(v.run_id))).toEqual([r1.runId, r1.runId + 1]);
    const links = await withStore(store, (s) => s.db.selectFrom('train_jobs').selectAll().execute());
    expect(links.map((l) => [l.job_id, Number(l.run_id)])).toEqual([[r1.jobId, r1.runId]]);
    await stop(w);
  });

  it('train: its worker SIGKILLed mid-fit, another retries the job; the dead run is marked failed, one model version', { timeout: 120_000 }, async () => {
    fresh();
    const store = pgLocation();
    const dir = tempDir();
    const seeded = await runCli(['--store', store, 'collect', 'football-data', path.join(FULL, 'E0_2018-2019.csv'), '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    const a = worker(store, 'train');
    await a.waitFor(/processing train/);
    // An mlp fit of a few hundred epochs without early stopping: seconds, so the kill lands mid-fit.
    const args = [
      '--store',
      store,
      'train',
      '--model',
      'mlp',
      '--competitions',
      'E0',
      '--param',
      'epochs=400',
      '--param',
      'patience=0',
      '--param',
      'l2=0.01',
      '--param',
      'hiddenUnits=64',
      '--distributed',
      ...queueFlags(),
      '--artifacts',
      path.join(dir, 'artifacts'),
      '--no-track',
      '--json',
    ];
    const train = spawnWatched(args, dir);
    children.push(train);
    const dead = await withStore(store, async (s) => {
      for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 5))) {
        if (Date.now() > end) throw new Error(`no training started; A:\n${a.text()}`);
        const row = await s.db
          .selectFrom('train_jobs')
          .innerJoin('training_runs', 'training_runs.id', 'train_jobs.run_id')
          .select(['training_runs.id', 'training_runs.status'])
          .executeTakeFirst()
          .catch(() => undefined);
        if (row) {
          a.child.kill('SIGKILL');
          expect(row.status).toBe('running');
          return Number(row.id);
        }
      }
    });
    // B's lock outlasts the fit's synchronous stretches (data loading, tfjs start-up), so only A's death is a stall.
    const b = worker(store, 'train', ['--lock-duration', '20s']);
    const done = await train.done;
    expect(done.code, train.text() + b.text()).toBe(0);
    const result = done.json<{ jobId: string; runId: number; modelVersionId: number }>();
    expect(result.runId).not.toBe(dead);
    const runs = await withStore(store, (s) => s.db.selectFrom('training_runs').select(['id', 'status', 'error']).orderBy('id').execute());
    expect(runs.map((r) => [Number(r.id), r.status])).toEqual([
      [dead, 'failed'],
      [result.runId, 'completed'],
    ]);
    expect(runs[0]!.error).toMatch(new RegExp(`its worker stopped mid-fit; job ${result.jobId} was retried`));
    const versions = await withStore(store, (s) => s.db.selectFrom('model_versions').select(['id', 'run_id']).execute());
    expect(versions.map((v) => [Number(v.id), Number(v.run_id)])).toEqual([[result.modelVersionId, result.runId]]);
    await stop(b);
  });

  it('a job of another payload version is refused on every queue (failed at once, nothing applied); jobs list names it', { timeout: 60_000 }, async () => {
    fresh();
    const store = pgLocation();
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queues = ['tune', 'predict', 'train'].map((name) => new Queue(name, { connection, prefix }));
    const w = worker(store, 'tune,predict,train');
    try {
      await w.waitFor(/processing tune, predict, train/);
      for (const q of queues)
        await q.add(q.name, { v: PAYLOAD_VERSION + 1, kind: q.name, store: 'x', from: 'a newer oracx' }, { jobId: `future-${q.name}`, attempts: 3 });
      for (const q of queues) {
        const end = Date.now() + 20_000;
        let job = (await q.getJob(`future-${q.name}`)) as Job;
        while ((await job.getState()) !== 'failed') {
          if (Date.now() > end) throw new Error(`the ${q.name} job was not failed; worker:\n${w.text()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        // Read after the state changed: unrecoverable, one attempt, no retries of a payload the worker cannot read.
        job = (await q.getJob(`future-${q.name}`)) as Job;
        expect(job.attemptsMade).toBe(1);
        expect(job.failedReason).toMatch(/payload version 2 is not the version this worker reads \(1, .*newer oracx; upgrade this worker/);
      }
      const list = await runCli(['jobs', 'list', '--state', 'failed', '--json', ...queueFlags()]);
      expect(list.code, list.stderr).toBe(0);
      expect(
        list
          .json<{ jobs: { id: string; queue: string }[] }>()
          .jobs.map((j) => `${j.queue}:${j.id}`)
          .sort(),
      ).toEqual(['predict:future-predict', 'train:future-train', 'tune:future-tune']);
      const shown = await runCli(['jobs', 'show', 'future-train', '--json', ...queueFlags()]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.json<{ queue: string; state: string; payload: { from: string } }>()).toMatchObject({
        queue: 'train',
        state: 'failed',
        payload: { from: 'a newer oracx' },
      });
      const purged = await runCli(['jobs', 'purge', '--failed', '--json', ...queueFlags()]);
      expect(purged.json<{ purged: Record<string, { failed: number }> }>().purged).toMatchObject({
        tune: { failed: 1 },
        predict: { failed: 1 },
        train: { failed: 1 },
      });
      const counts = await withStore(store, async (s) => {
        await s.migrate();
        const [t, p, r] = await Promise.all([
          s.db.selectFrom('tune_trials').select('id').execute(),
          s.db.selectFrom('predictions').select('id').execute(),
          s.db.selectFrom('training_runs').select('id').execute(),
        ]);
        return [t.length, p.length, r.length];
      });
      expect(counts).toEqual([0, 0, 0]);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      connection.disconnect();
      await stop(w);
    }
  });
});

describe.skipIf(!pg.available)('Redis going away mid-tune', () => {
  it('the worker reconnects; the waiting tune fails clearly; run again: N trials, none run twice', { timeout: 120_000 }, async () => {
    const redis = await startRedis();
    const store = pgLocation();
    const dir = tempDir();
    const flags = ['--store', store, '--redis', redis.url, '--queue-prefix', `oracx-ml-outage-${process.pid}`];
    const seeded = await runCli(['--store', store, 'collect', 'football-data', FULL, '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    const w = spawnWatched(['worker', ...flags, '--queues', 'tune', '--lock-duration', '2s', '--stalled-interval', '1s', '--log-format', 'json']);
    children.push(w);
    const trials = 6;
    const ended = (s: Store) =>
      s.db.selectFrom('tune_trials').select(['number', 'status', 'worker']).where('status', 'in', ['complete', 'pruned', 'failed']).execute();
    try {
      await w.waitFor(/processing tune/);
      const tune = spawnWatched([...TUNE, '--trials', String(trials), '--distributed', ...flags], dir);
      children.push(tune);
      // Redis dies (losing every job: nothing is persisted) once some trials have ended and the worker holds another.
      await withStore(store, async (s) => {
        for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 10))) {
          if (Date.now() > end) throw new Error(`no trial ended; worker:\n${w.text()}`);
          const running = await s.db
            .selectFrom('tune_trials')
            .select('id')
            .where('status', '=', 'running')
            .execute()
            .catch(() => []);
          if ((await ended(s).catch(() => [])).length >= 2 && running.length > 0) break;
        }
      });
      await redis.kill();
      await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ went away .*reconnecting/);
      await new Promise((r) => setTimeout(r, 1500));
      await redis.restart();
      await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ is back/);
      const lost = await tune.done;
      expect(lost.code, tune.text()).toBe(1);
      expect(lost.stderr).toMatch(/disappeared from the tune queue \(purged, or Redis lost its data\) — run the same command again/);
      expect(w.child.exitCode).toBeNull();
      const before = await withStore(store, ended);

      // The same command again: the jobs are enqueued anew; those whose trial already ended run nothing.
      const again = await runCli([...TUNE, '--trials', String(trials), '--distributed', ...flags, '--json'], { cwd: dir });
      expect(again.code, again.stderr + w.text()).toBe(0);
      const result = again.json<TuneResult>();
      expect(result.finished).toBe(true);
      const rows = await withStore(store, (s) => s.db.selectFrom('tune_trials').select(['number', 'status', 'worker']).orderBy('number').execute());
      expect(rows.map((r) => r.number)).toEqual([...Array(trials).keys()]);
      expect(rows.every((r) => r.status !== 'running' && r.status !== 'waiting')).toBe(true);
      // Trials that had ended before the outage were not run again: same rows, same worker tags.
      for (const b of before) expect(rows.find((r) => r.number === b.number)).toEqual(b);
      expect(w.text()).toMatch(/already ended/);
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
      await redis.kill();
    }
  });
});

describe.skipIf(!pg.available || !mlflowOrSkip())('tune --distributed in MLflow', () => {
  it('the waiting command logs the study as one parent run with every trial nested, as in-process', { timeout: 120_000 }, async () => {
    const url = await mlflowServer();
    const client = testClient(url);
    const experiment = uniqueName('oracx-tune-distributed');
    const redis = await startRedis();
    const store = pgLocation();
    const dir = tempDir();
    const flags = ['--store', store, '--redis', redis.url, '--queue-prefix', `oracx-ml-mlflow-${process.pid}`];
    const seeded = await runCli(['--store', store, 'collect', 'football-data', FULL, '-q'], { cwd: dir });
    expect(seeded.code, seeded.stderr).toBe(0);
    // The workers have no MLflow settings: the command logs.
    const w = spawnWatched(['worker', ...flags, '--queues', 'tune', '--concurrency', '2', '--log-format', 'json']);
    children.push(w);
    try {
      await w.waitFor(/processing tune/);
      const study = uniqueName('study');
      const args = [
        'tune',
        '--model',
        'elo-ordered',
        '--competitions',
        'E0',
        '--seasons',
        '2019-2020',
        '--walk-forward',
        '84d',
        '--sampler',
        'random',
        '--trials',
        '5',
        '--study',
        study,
        '--distributed',
        ...flags,
        '--json',
      ];
      const r = await runCli(args, { cwd: dir, env: { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' } });
      expect(r.code, r.stderr).toBe(0);
      const result = r.json<TuneResult>();
      const tag = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;
      const experimentId = (await client.getExperimentByName(experiment))!.experimentId;
      const runs = (await client.searchRuns({ experimentIds: [experimentId], filter: `tags.\`oracx.study\` = '${study}'` })).runs;
      const parents = runs.filter((x) => tag(x, 'oracx.kind') === 'tune-study');
      const trials = runs.filter((x) => tag(x, 'oracx.kind') === 'tune-trial');
      expect(parents).toHaveLength(1);
      expect(parents[0]!.info.status).toBe('FINISHED');
      expect(trials.map((t) => Number(tag(t, 'oracx.trial'))).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
      for (const t of trials) expect(tag(t, 'mlflow.parentRunId')).toBe(parents[0]!.info.runId);
      expect(parents[0]!.data.metrics.find((m) => m.key === 'best_rps')?.value).toBeCloseTo(result.best!.value, 12);
      const stored = await withStore(store, (s) => s.db.selectFrom('tune_trials').select(['number', 'value', 'status']).execute());
      for (const t of stored.filter((x) => x.status === 'complete')) {
        const logged = trials.find((x) => tag(x, 'oracx.trial') === String(t.number))!;
        expect(logged.data.metrics.find((m) => m.key === 'rps')?.value).toBeCloseTo(t.value!, 12);
      }
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
      await redis.kill();
    }
  });
});

describe('tune, predict and train --distributed: bad setups are clear errors', () => {
  it('a SQLite store, --timeout with tune, a pairing with predict', async () => {
    const dir = tempDir();
    const sqlite = path.join(dir, 'store.db');
    const redis = ['--redis', 'redis://127.0.0.1:6379'];
    const t = await runCli(['--store', sqlite, ...TUNE, '--distributed', ...redis]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/tune --distributed needs a PostgreSQL store; .*store\.db is a SQLite file/);
    const t2 = await runCli(['--store', sqlite, ...TUNE, '--distributed', '--timeout', '1m', ...redis]);
    expect(t2.code).toBe(2);
    expect(t2.stderr).toMatch(/--timeout does not go with --distributed/);
    const p = await runCli(['--store', sqlite, 'predict', '--run', '1', '--match', '1', '--distributed', ...redis]);
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/predict --distributed needs a PostgreSQL store/);
    const p2 = await runCli([
      '--store',
      sqlite,
      'predict',
      '--run',
      '1',
      '--competition',
      'E0',
      '--home',
      'Arsenal',
      '--away',
      'Chelsea',
      '--date',
      '2020-09-26',
      '--distributed',
      ...redis,
    ]);
    expect(p2.code).toBe(2);
    expect(p2.stderr).toMatch(/--distributed forecasts stored matches, not a pairing/);
    const tr = await runCli(['--store', sqlite, 'train', '--model', 'logreg', '--distributed', ...redis]);
    expect(tr.code).toBe(1);
    expect(tr.stderr).toMatch(/train --distributed needs a PostgreSQL store/);
    // Each refused before the store is opened: no SQLite file was created (or migrated) for nothing.
    expect(existsSync(sqlite)).toBe(false);
  });
});
