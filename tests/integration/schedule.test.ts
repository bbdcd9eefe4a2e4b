// `oracx schedule` against the shared Redis (a key prefix of this test's own) and PostgreSQL: bad input is refused at
// add (cron, time zone, missing or invalid file, a pipeline the file does not declare, a SQLite store) with nothing
// added; add/list/remove/run; a schedule actually fires and `oracx worker --queues pipeline` runs the pipeline on
// PostgreSQL; a gate failure is a completed job (report status gate_failed), a stage error a failed job, not retried.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import type { ScheduleView } from '../../src/queue/schedules.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { REDIS_URL, redisReachable } from '../helpers/redis.js';
import { DIALECTS, pgLocation, tempDir } from '../helpers/stores.js';

const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const pg = DIALECTS.find((d) => d.name === 'postgres')!;
const redisUp = await redisReachable();
for (const [ok, what] of [
  [redisUp, `Redis at ${REDIS_URL}`],
  [pg.available, 'PostgreSQL'],
] as const) {
  if (ok) continue;
  if (ci) throw new Error(`schedule tests need ${what} under CI=true`);
  console.warn(`[oracx tests] schedule: ${what} unavailable, skipped`);
}

const small = { collect: { inputs: [path.join(FIXTURES, 'E0_2019-2020.csv')] }, features: { set: 'core@2' } };

describe.skipIf(!redisUp || !pg.available)('oracx schedule', () => {
  const prefix = `oracx-sched-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const store = pgLocation();
  const dir = tempDir();
  const flags = ['--redis', REDIS_URL, '--queue-prefix', prefix];
  const cli = (args: string[], cwd = dir) => runCli(['--store', store, ...args], { cwd });
  let queue: Queue;
  let connection: Redis;
  const list = async () => {
    const r = await cli(['schedule', 'list', ...flags, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return r.json<{ schedules: ScheduleView[] }>().schedules;
  };
  /** Waits for a finished job of the schedule matching `pick`. */
  const finishedJob = async (pick: (j: Job) => boolean, timeoutMs = 60_000): Promise<Job> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const jobs = (await queue.getJobs(['completed', 'failed'], 0, -1)) as Job[];
      const found = jobs.find((j) => j && pick(j));
      if (found) return found;
      if (Date.now() > end) throw new Error(`no finished job within ${timeoutMs} ms; jobs: ${JSON.stringify(await queue.getJobCounts())}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'oracx.yaml'), stringify({ name: 'nightly-e0', stages: small }));
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue('pipeline', { connection, prefix });
  });
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    connection?.disconnect();
  });

  it('refuses bad input at add, naming it, and adds nothing', async () => {
    const add = (args: string[], cwd = dir) => cli(['schedule', 'add', 'nightly', ...args, ...flags], cwd);
    let r = await add(['--cron', '61 4 * * *', '--run', 'nightly-e0']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--cron "61 4 * * *" is not a valid cron expression: Constraint error')]);
    r = await add(['--cron', '0 4 * *', '--run', 'nightly-e0']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('4 field(s); expected 5')]);
    r = await add(['--cron', '0 4 * * *', '--tz', 'Europe/Londn', '--run', 'nightly-e0']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--tz "Europe/Londn" is not a time zone')]);
    r = await add(['--run', 'nightly-e0']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('schedule add needs --cron')]);
    r = await add(['--cron', '0 4 * * *', '--run', 'nightly-e0', '--file', 'missing.yaml']);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('cannot read missing.yaml: no such file')]);
    r = await add(['--cron', '0 4 * * *', '--run', 'nightly-eo']);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('--run nightly-eo: oracx.yaml declares pipeline "nightly-e0"')]);
    const bad = tempDir();
    writeFileSync(
      path.join(bad, 'oracx.yaml'),
      stringify({ name: 'cyc', stages: { a: { kind: 'collect', inputs: ['x.csv'], deps: ['b'] }, b: { kind: 'features', deps: ['a'] } } }),
    );
    r = await add(['--cron', '0 4 * * *', '--run', 'cyc'], bad);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('dependency cycle a → b → a')]);
    writeFileSync(path.join(bad, 'oracx.yaml'), stringify({ name: 'typo', stages: { evalute: { seasons: ['2019-2020'] } } }));
    r = await add(['--cron', '0 4 * * *', '--run', 'typo'], bad);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('unknown kind "evalute" — did you mean "evaluate"?')]);
    r = await runCli(['--store', path.join(tempDir(), 's.db'), 'schedule', 'add', 'nightly', '--cron', '0 4 * * *', '--run', 'nightly-e0', ...flags], {
      cwd: dir,
    });
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('PostgreSQL stores only')]);
    r = await runCli(['--store', store, 'schedule', 'add', 'nightly', '--cron', '0 4 * * *', '--run', 'nightly-e0'], {
      cwd: dir,
      env: { ORACX_REDIS_URL: '' },
    });
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('oracx schedule add needs Redis')]);
    expect(await list()).toEqual([]);
  });

  it('add, add again (replaced), list with the next run, remove', async () => {
    const before = Date.now();
    let r = await cli(['schedule', 'add', 'nightly', '--cron', '0 4 * * *', '--tz', 'Europe/London', '--run', 'nightly-e0', ...flags]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^schedule nightly added: pipeline nightly-e0 at "0 4 \* \* \*" \(Europe\/London\); next run \d{4}-\d\d-\d\dT0[34]:00:00\.000Z/);
    r = await cli(['schedule', 'add', 'nightly', '--cron', '30 5 * * *', '--run', 'nightly-e0', ...flags]);
    expect(r.stdout).toContain('schedule nightly replaced');
    const [s, ...others] = await list();
    expect(others).toEqual([]);
    expect(s).toMatchObject({ name: 'nightly', cron: '30 5 * * *', tz: null, pipeline: 'nightly-e0', file: path.join(dir, 'oracx.yaml'), last: null });
    const next = Date.parse(s!.next!);
    expect(next).toBeGreaterThan(before);
    expect(next - before).toBeLessThanOrEqual(24 * 3600_000);
    expect(new Date(next).toISOString()).toMatch(/T05:30:00\.000Z$/);
    // The scheduler's next job is waiting (delayed) on the queue already.
    expect((await queue.getJobs(['delayed'])).some((j) => j?.name === 'nightly')).toBe(true);
    r = await cli(['schedule', 'remove', 'nightly-x', ...flags]);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(/no schedule "nightly-x".*\n?.*schedules: nightly/)]);
    r = await cli(['schedule', 'remove', 'nightly', ...flags]);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'schedule nightly removed']);
    expect(await list()).toEqual([]);
    expect((await queue.getJobs(['delayed'])).filter((j) => j?.name === 'nightly')).toEqual([]);
  });

  it('a schedule fires and a worker runs the pipeline on PostgreSQL; schedule run enqueues it now', { timeout: 240_000 }, async () => {
    const stop = new AbortController();
    const worker = runCli(['--store', store, 'worker', '--queues', 'pipeline', ...flags, '--log-format', 'json'], { cwd: tempDir(), signal: stop.signal });
    try {
      // Every 2 seconds (a seconds field): the first run is due within 2 s.
      let r = await cli(['schedule', 'add', 'often', '--cron', '*/2 * * * * *', '--run', 'nightly-e0', ...flags]);
      expect(r.code, r.stderr).toBe(0);
      const fired = await finishedJob((j) => j.data.schedule === 'often' && j.id!.startsWith('repeat:often:'));
      expect(fired.failedReason, fired.stacktrace?.join('\n')).toBeFalsy();
      const report = fired.returnvalue as PipelineReport;
      expect(report).toMatchObject({ pipeline: 'nightly-e0', status: 'succeeded' });
      expect(report.stages.map((s) => [s.stage, s.status])).toEqual([
        ['collect', 'ran'],
        ['features', 'ran'],
      ]);
      const s = await openStore(store);
      try {
        const run = await s.db.selectFrom('pipeline_runs').selectAll().where('id', '=', report.pipelineRunId!).executeTakeFirstOrThrow();
        expect(run).toMatchObject({ pipeline: 'nightly-e0', status: 'succeeded' });
        expect(await s.db.selectFrom('pipeline_locks').selectAll().execute()).toEqual([]);
      } finally {
        await s.close();
      }
      r = await cli(['schedule', 'remove', 'often', ...flags]);
      expect(r.code, r.stderr).toBe(0);

      // Enqueue now: a schedule that would not fire for a year; every stage is up to date, nothing recorded.
      await cli(['schedule', 'add', 'yearly', '--cron', '0 0 1 1 *', '--run', 'nightly-e0', ...flags]);
      r = await cli(['schedule', 'run', 'yearly', ...flags, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const id = r.json<{ job: string }>().job;
      const now = await finishedJob((j) => j.id === id);
      expect(now.returnvalue).toMatchObject({ status: 'succeeded', pipelineRunId: null, stages: [{ status: 'skipped' }, { status: 'skipped' }] });
      const yearly = (await list()).find((x) => x.name === 'yearly')!;
      expect(yearly.last).toMatchObject({ job: id, outcome: 'succeeded' });
      expect(yearly.next).toMatch(/-01-01T00:00:00\.000Z$/);
      expect((await cli(['schedule', 'run', 'nope', ...flags])).code).toBe(1);

      // A stage's error: the job fails at once (no retry of a missing input), the store has the failed run.
      writeFileSync(path.join(dir, 'broken.yaml'), stringify({ name: 'broken', stages: { collect: { inputs: ['missing.csv'] } } }));
      await cli(['schedule', 'add', 'broken', '--cron', '0 0 1 1 *', '--run', 'broken', '--file', 'broken.yaml', ...flags]);
      const brokenId = (await cli(['schedule', 'run', 'broken', ...flags, '--json'])).json<{ job: string }>().job;
      const failed = await finishedJob((j) => j.id === brokenId);
      expect(failed.failedReason).toMatch(/stage "collect" \(collect\): collect input missing\.csv does not exist \(pipeline run \d+\)/);
      expect([failed.attemptsMade, failed.opts.attempts]).toEqual([1, 3]);
      expect((await list()).find((x) => x.name === 'broken')!.last).toMatchObject({ outcome: 'failed' });

      // A gate failure is an answer, not a fault: the job completes, its report says gate_failed, no retry.
      writeFileSync(
        path.join(dir, 'gated.yaml'),
        stringify({
          name: 'gated',
          stages: {
            collect: { inputs: [path.join(FIXTURES, 'full')] },
            train: { model: 'logreg', competitions: ['E0'], 'train-until': '2019-06-30', params: { l2: 0.1 } },
            evaluate: { seasons: ['2019-2020'], gate: ['rps<=0.1'] },
            register: { name: 'gated-e0', registry: 'local' },
          },
        }),
      );
      await cli(['schedule', 'add', 'gated', '--cron', '0 0 1 1 *', '--run', 'gated', '--file', 'gated.yaml', ...flags]);
      const gatedId = (await cli(['schedule', 'run', 'gated', ...flags, '--json'])).json<{ job: string }>().job;
      const gated = await finishedJob((j) => j.id === gatedId, 150_000);
      expect(gated.failedReason).toBeFalsy();
      expect(gated.attemptsMade).toBe(1);
      const gatedReport = gated.returnvalue as PipelineReport;
      expect(gatedReport.status).toBe('gate_failed');
      expect(gatedReport.stages.map((x) => x.status)).toEqual(['ran', 'ran', 'gate-failed', 'not-run']);
      expect((await list()).find((x) => x.name === 'gated')!.last).toMatchObject({ job: gatedId, outcome: 'gate_failed' });
    } finally {
      stop.abort();
      const w = await worker;
      expect(w.code, w.stderr).toBe(0);
    }
  });
});
