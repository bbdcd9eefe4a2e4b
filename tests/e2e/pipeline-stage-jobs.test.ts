// `oracx run --distributed` with one `oracx worker --queues stage`, as users run them: spawned CLIs, a private
// redis-server and a real PostgreSQL. Every stage that runs is a stage job the worker ran, and the records equal an
// in-process run's; a second run enqueues nothing; a failed gate exits 3 from a completed (not retried) job; a stage's
// own error fails its job at once; Ctrl-C removes the job no worker took; Redis lost mid-stage fails the run clearly and a
// rerun completes; a SQLite store is refused, and --dry needs no Redis;
// with MLflow, the worker's train-stage run nests under the command's pipeline run.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import type { JobView } from '../../src/queue/queues.js';
import { stageJobId } from '../../src/queue/stage-job.js';
import { FIXTURES, runCli, spawnCli, spawnWatched, type Watched } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { startRedis, type RedisServer } from '../helpers/obs-fixture.js';
import { e0Pipeline } from '../helpers/pipelines.js';
import { DIALECTS, pgLocation, tempDir, withStore } from '../helpers/stores.js';

const pg = DIALECTS.find((d) => d.name === 'postgres')!;
if (!pg.available) console.warn('[oracx tests] pipeline-stage-jobs: PostgreSQL unavailable, the distributed run tests are skipped');

/** collect → features → train → evaluate (with a gate) on the bundled E0 seasons: a second or so in-process. */
const pipeline = e0Pipeline;

/** The pipeline runs and stage runs of a store, as statuses (ids and times left out). */
const records = (location: string) =>
  withStore(location, async (s) => ({
    pipelineRuns: (await s.db.selectFrom('pipeline_runs').select('status').orderBy('id').execute()).map((r) => r.status),
    stageRuns: (await s.db.selectFrom('stage_runs').select(['stage', 'status']).orderBy('id').execute()).map((r) => `${r.stage} ${r.status}`),
  }));

const statuses = (r: PipelineReport) => Object.fromEntries(r.stages.map((s) => [s.stage, s.status]));

describe.skipIf(!pg.available)('oracx run --distributed: stages as jobs on a worker (PostgreSQL, Redis)', () => {
  let redis: RedisServer;
  let worker: Watched;
  const prefix = `oracx-stage-${process.pid}`;
  const store = pgLocation();
  let location = '';
  const dir = tempDir();
  const queueFlags = () => ['--redis', redis.url, '--queue-prefix', prefix];
  const write = (text: string) => writeFileSync(path.join(dir, 'oracx.yaml'), text);
  const run = async (args: string[] = [], code = 0) => {
    const r = await spawnCli(['--store', store, 'run', '--distributed', ...queueFlags(), '--json', ...args], { cwd: dir }).done;
    expect(r.code, `${r.stderr}\nworker:\n${worker.text()}`).toBe(code);
    return r.json<PipelineReport>();
  };
  const stageJobs = async () => {
    const r = await runCli(['jobs', 'list', '--queue', 'stage', ...queueFlags(), '--json']);
    expect(r.code, r.stderr).toBe(0);
    return r.json<{ jobs: JobView[] }>().jobs;
  };

  beforeAll(async () => {
    redis = await startRedis();
    write(pipeline());
    // The worker migrates the store; the command opens it read-only until its first write.
    worker = spawnWatched(['worker', '--store', store, ...queueFlags(), '--queues', 'stage', '--log-format', 'json'], dir);
    await worker.waitFor(/processing stage/);
    location = await withStore(store, async (s) => s.location);
  }, 60_000);
  afterAll(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGTERM');
      await worker.done;
    }
    await redis?.kill();
  });

  it('runs each stage that must run as a stage job, records as in-process; a second run enqueues nothing', { timeout: 60_000 }, async () => {
    const r = await run();
    expect(r.status).toBe('succeeded');
    expect(statuses(r)).toEqual({ collect: 'ran', features: 'ran', train: 'ran', evaluate: 'ran' });
    const runId = r.pipelineRunId!;
    const jobs = await stageJobs();
    expect(jobs.map((j) => j.id).sort()).toEqual(['collect', 'evaluate', 'features', 'train'].map((s) => stageJobId(location, runId, s)).sort());
    for (const j of jobs) {
      expect(j).toMatchObject({ state: 'completed', attemptsMade: 1, result: { status: 'succeeded' } });
      expect(j.worker).toMatch(new RegExp(`:${worker.child.pid}$`));
      expect(worker.text()).toContain(`job ${j.id}: completed`);
    }
    // The stage outputs the command recorded are the job's.
    const train = jobs.find((j) => j.id === stageJobId(location, runId, 'train'))!;
    expect(r.stages.find((s) => s.stage === 'train')!.outputs).toEqual((train.result as { outputs: unknown }).outputs);

    // The same pipeline run in-process on another store: the same records.
    const refDir = tempDir();
    const ref = pgLocation();
    writeFileSync(path.join(refDir, 'oracx.yaml'), pipeline());
    const inProcess = await runCli(['--store', ref, 'run', '--json'], { cwd: refDir });
    expect(inProcess.code, inProcess.stderr).toBe(0);
    expect(statuses(inProcess.json<PipelineReport>())).toEqual(statuses(r));
    expect(await records(store)).toEqual(await records(ref));

    const again = await run();
    expect(Object.values(statuses(again))).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(await stageJobs()).toHaveLength(4);
  });

  it('a failed gate exits 3 and records gate_failed; its job completed, not retried', { timeout: 60_000 }, async () => {
    write(pipeline((s) => (s.evaluate!.gate = ['rps<=0.1'])));
    const r = await run([], 3);
    expect(r.status).toBe('gate_failed');
    expect(statuses(r)).toEqual({ collect: 'skipped', features: 'skipped', train: 'skipped', evaluate: 'gate-failed' });
    expect(r.stages[3]!.error).toMatch(/gate failed: rps<=0\.1 \(actual 0\.\d+, threshold 0\.1000\)/);
    const row = await withStore(store, (s) =>
      s.db.selectFrom('stage_runs').selectAll().where('stage', '=', 'evaluate').orderBy('id', 'desc').executeTakeFirstOrThrow(),
    );
    expect(row.status).toBe('gate_failed');
    expect(JSON.parse(row.outputs!)).toMatchObject({ gates: [{ gate: 'rps<=0.1', passed: false }] });
    const job = (await stageJobs()).find((j) => j.id === stageJobId(location, r.pipelineRunId!, 'evaluate'))!;
    expect(job).toMatchObject({ state: 'completed', attemptsMade: 1, result: { status: 'gate_failed' } });
    const { pipelineRuns } = await records(store);
    expect(pipelineRuns.at(-1)).toBe('gate_failed');
  });

  it("a stage's own error fails its job at once and the run exits 1 naming the stage", { timeout: 60_000 }, async () => {
    write(pipeline((s) => (s.train!.competitions = ['XX'])));
    const r = await run([], 1);
    expect(statuses(r)).toEqual({ collect: 'skipped', features: 'skipped', train: 'failed', evaluate: 'not-run' });
    expect(r.stages[2]!.error).toMatch(/^stage "train" \(train\): /);
    const job = (await stageJobs()).find((j) => j.id === stageJobId(location, r.pipelineRunId!, 'train'))!;
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(r.stages[2]!.error).toContain(job.failedReason!);
  });

  it('Ctrl-C while waiting stops with exit 130 and removes the stage job no worker took; a late one is not run', { timeout: 60_000 }, async () => {
    // A prefix no worker takes: the job waits until the command is interrupted.
    const idle = ['--redis', redis.url, '--queue-prefix', `${prefix}-idle`];
    write(pipeline((s) => (s.train!.params = { l2: 0.2 })));
    const r = spawnWatched(['--store', store, 'run', '--distributed', ...idle], dir);
    await r.waitFor(/stage train: job \S+ added to the stage queue/);
    r.child.kill('SIGINT');
    const done = await r.done;
    expect(done.code, r.text()).toBe(130);
    const id = /stopped waiting; stage job (\S+) had not started and was removed from the stage queue/.exec(r.text())?.[1];
    expect(id, r.text()).toBeDefined();
    const show = await runCli(['jobs', 'show', id!, ...idle]);
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/no job/);
    // The interrupted run is over (a worker taking a job of it late drops it: tests/integration/stage-job.test.ts).
    const { pipelineRuns } = await records(store);
    expect(pipelineRuns.at(-1)).toBe('failed');
  });

  it('Redis lost mid-stage (restarted empty): the run fails clearly naming the stage; run again, it completes', { timeout: 90_000 }, async () => {
    // A Redis and a worker of its own: the file's others stay up.
    const lost = await startRedis();
    const flags = ['--redis', lost.url, '--queue-prefix', `${prefix}-lost`];
    const w = spawnWatched(['worker', '--store', store, ...flags, '--queues', 'stage', '--log-format', 'json'], dir);
    try {
      await w.waitFor(/processing stage/);
      // An MLP: a couple of seconds of training, while which Redis goes away and comes back with nothing.
      write(pipeline((s) => (s.train = { ...s.train, model: 'mlp', params: {} })));
      const r = spawnWatched(['--store', store, 'run', '--distributed', ...flags, '--log-format', 'json'], dir);
      await r.waitFor(/stage train: job \S+ active/);
      await lost.kill();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await lost.restart();
      const done = await r.done;
      expect(done.code, r.text()).toBe(1);
      expect(r.text()).toMatch(/stage "train" \(train\): job \S+ disappeared from the stage queue \(purged, or Redis lost its data\)/);
      expect(r.text()).toContain('run the pipeline again: stages recorded as succeeded are skipped, stage "train" runs again');
      const { pipelineRuns } = await records(store);
      expect(pipelineRuns.at(-1)).toBe('failed');
      // The worker reconnects; the same command, run again, runs the train stage (and what follows) to the end.
      const again = await run(['--queue-prefix', `${prefix}-lost`, '--redis', lost.url]);
      expect(statuses(again)).toMatchObject({ collect: 'skipped', features: 'skipped', train: 'ran', evaluate: 'ran' });
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
      await lost.kill();
    }
  });

  it('refuses a SQLite store; --dry needs no Redis', async () => {
    const sqlite = await runCli(['--store', path.join(dir, 'oracx.db'), 'run', '--distributed', ...queueFlags()], { cwd: dir });
    expect(sqlite.code).toBe(1);
    expect(sqlite.stderr).toContain('run --distributed needs a PostgreSQL store');
    expect(existsSync(path.join(dir, 'oracx.db'))).toBe(false);
    write(pipeline());
    const dry = await runCli(['--store', store, 'run', '--distributed', '--dry', '--json'], { cwd: dir });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json<PipelineReport>().status).toBe('dry');
    const noRedis = await runCli(['--store', store, 'run', '--distributed'], { cwd: dir });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toContain('run --distributed needs Redis');
  });

  describe.skipIf(!mlflowOrSkip())('with MLFLOW_TRACKING_URI', () => {
    it("nests the train stage's run, logged by the worker, under the command's pipeline run", { timeout: 60_000 }, async () => {
      const url = await mlflowServer();
      const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: uniqueName('oracx-stage-jobs'), MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' };
      // Its own store and prefix: the worker above (no MLflow) never takes these jobs.
      const tracked = pgLocation();
      const flags = ['--redis', redis.url, '--queue-prefix', `${prefix}-mlflow`];
      const trackedDir = tempDir();
      writeFileSync(
        path.join(trackedDir, 'oracx.yaml'),
        stringify({
          name: 'tracked',
          stages: {
            collect: { inputs: [path.join(FIXTURES, 'full')] },
            fit: { kind: 'train', model: 'logreg', competitions: ['E0'], 'train-until': '2019-06-30', params: { l2: 0.1 } },
          },
        }),
      );
      const w = spawnWatched(['worker', '--store', tracked, ...flags, '--queues', 'stage', '--log-format', 'json'], trackedDir, env);
      try {
        await w.waitFor(/processing stage/);
        const r = await spawnCli(['--store', tracked, 'run', '--distributed', ...flags, '--json'], { cwd: trackedDir, env }).done;
        expect(r.code, `${r.stderr}\nworker:\n${w.text()}`).toBe(0);
        const report = r.json<PipelineReport>();
        const mlflowRunId = report.stages.find((s) => s.stage === 'fit')!.outputs!.mlflowRunId as string;
        expect(mlflowRunId).toMatch(/^[0-9a-f]{32}$/);
        const client = testClient(url);
        const tagsOf = async (id: string) => Object.fromEntries((await client.getRun(id)).data.tags.map((t) => [t.key, t.value]));
        const fit = await tagsOf(mlflowRunId);
        expect(fit).toMatchObject({ 'oracx.pipeline': 'tracked', 'oracx.pipeline_run': String(report.pipelineRunId), 'oracx.stage': 'fit' });
        expect(fit['oracx.input_hash']).toBe(report.stages.find((s) => s.stage === 'fit')!.inputHash);
        const parent = await tagsOf(fit['mlflow.parentRunId']!);
        expect(parent).toMatchObject({ 'oracx.pipeline': 'tracked', 'oracx.pipeline_run': String(report.pipelineRunId), 'oracx.status': 'succeeded' });
        expect(parent['mlflow.parentRunId']).toBeUndefined();
      } finally {
        w.child.kill('SIGTERM');
        await w.done;
      }
    });
  });
});
