// `oracx worker` + `oracx backfill --distributed` as users run them: spawned CLIs, a real Redis (a private
// redis-server, also under its own key prefix) and a real PostgreSQL. One worker is SIGKILLed mid-file: BullMQ's
// stalled-job recovery hands its job to the other, which resumes the file from its last committed chunk; the store
// must equal an in-process backfill of the same files, every row exactly once.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packContent } from '../../src/queue/collect-job.js';
import { collectJobId, origin, PAYLOAD_VERSION, type CollectPayload } from '../../src/queue/payload.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnWatched, type Watched } from '../helpers/cli.js';
import { dumpStore } from '../helpers/dump.js';
import { startRedis, type RedisServer } from '../helpers/obs-fixture.js';
import { DIALECTS, pgLocation, tempDir } from '../helpers/stores.js';

const pg = DIALECTS.find((d) => d.name === 'postgres')!;
if (!pg.available) console.warn('[oracx tests] worker-backfill: PostgreSQL unavailable, the distributed backfill tests are skipped');

/** Ten files: the seven small bundled seasons, two full ones (~380 rows each) and the quarantine fixture. */
function archive(): string {
  const folder = path.join(tempDir('oracx-archive-'), 'archive');
  mkdirSync(folder);
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.csv'))) copyFileSync(path.join(FIXTURES, f), path.join(folder, f));
  for (const f of ['E0_2017-2018.csv', 'E0_2018-2019.csv']) copyFileSync(path.join(FIXTURES, 'full', f), path.join(folder, f));
  copyFileSync(path.join(FIXTURES, 'quirks', 'bad_rows.csv'), path.join(folder, 'bad_rows.csv'));
  return folder;
}

type Proc = Watched;

const children: Proc[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

describe.skipIf(!pg.available)('distributed backfill on PostgreSQL', () => {
  let redis: RedisServer;
  let prefix: string;
  const folder = archive();
  const store = pgLocation();
  const queueFlags = () => ['--redis', redis.url, '--queue-prefix', prefix];
  const worker = (extra: string[] = []) => {
    const p = spawnWatched([
      'worker',
      '--store',
      store,
      ...queueFlags(),
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

  beforeAll(async () => {
    redis = await startRedis();
    prefix = `oracx-test-${process.pid}`;
  });
  afterAll(async () => {
    await redis?.kill();
  });

  it('two workers, one SIGKILLed mid-file: every row once, the store equal to an in-process backfill', { timeout: 90_000 }, async () => {
    const reference = pgLocation();
    const single = await runCli(['backfill', 'football-data', folder, '--store', reference, '--json']);
    expect(single.code, single.stderr).toBe(0);

    const a = worker();
    const b = worker();
    await Promise.all([a.waitFor(/oracx worker: .* processing collect/), b.waitFor(/oracx worker: .* processing collect/)]);

    const backfill = spawnWatched(['backfill', 'football-data', folder, '--distributed', '--store', store, ...queueFlags(), '--chunk-size', '5', '--json']);
    children.push(backfill);

    // Kill A once it holds a job whose file already has committed chunks (a checkpoint), i.e. truly mid-file.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('collect', { connection, prefix });
    const watch = await openStore(store);
    let killedJob: Job | undefined;
    try {
      const aName = `${hostname()}:${a.child.pid}`;
      const end = Date.now() + 40_000;
      while (!killedJob) {
        if (Date.now() > end) throw new Error(`worker A never held a job mid-file; A:\n${a.text()}`);
        const active = (await queue.getJobs(['active'])) as Job[];
        for (const job of active.filter((j) => j?.processedBy === aName)) {
          const run = await watch.db
            .selectFrom('ingest_runs')
            .select('last_line')
            .where('source', '=', (job.data as { source: string }).source)
            .where('status', '=', 'running')
            .executeTakeFirst()
            .catch(() => undefined);
          if (run && run.last_line > 0) {
            a.child.kill('SIGKILL');
            killedJob = job;
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const done = await backfill.done;
      expect(done.code, backfill.text()).toBe(0);
      const report = done.json<{ finished: boolean; jobs: { jobId: string; state: string; enqueued: string }[] }>();
      expect(report.finished).toBe(true);
      expect(report.jobs).toHaveLength(10);
      expect(report.jobs.every((j) => j.state === 'completed' && j.enqueued === 'added')).toBe(true);
      expect(b.text()).toMatch(new RegExp(`job ${killedJob.id}: its worker stopped renewing the lock`));

      // The killed file was resumed from A's checkpoint by B, not started over.
      const runs = await watch.db.selectFrom('ingest_runs').select(['source', 'status', 'resumed_from']).execute();
      const killedSource = (killedJob.data as { source: string }).source;
      expect(
        runs
          .filter((r) => r.source === killedSource)
          .map((r) => r.status)
          .sort(),
      ).toEqual(['completed', 'interrupted']);
      expect(runs.find((r) => r.source === killedSource && r.status === 'completed')!.resumed_from).not.toBeNull();

      // Exactly once: no key twice, and the same rows, odds, teams and quarantine as the single-process run.
      const dupes = await sql<{
        n: number;
      }>`select count(*) as n from (select competition_id, season, date, home_team_id, away_team_id from matches group by 1, 2, 3, 4, 5 having count(*) > 1) d`.execute(
        watch.db,
      );
      expect(Number(dupes.rows[0]!.n)).toBe(0);
      const ref = await openStore(reference);
      try {
        const [got, want] = [await dumpStore(watch), await dumpStore(ref)];
        expect(got.matches.length).toBeGreaterThan(900);
        expect(got.quarantine.length).toBeGreaterThan(0);
        expect(got).toEqual(want);
      } finally {
        await ref.close();
      }

      // Enqueueing the same files again adds nothing: same ids, the jobs are already done.
      const again = await runCli(['backfill', 'football-data', folder, '--distributed', '--store', store, ...queueFlags(), '--json']);
      expect(again.code, again.stderr).toBe(0);
      const second = again.json<{ jobs: { jobId: string; enqueued: string }[]; totals: { inserted: number } }>();
      expect(second.jobs.map((j) => j.jobId).sort()).toEqual(report.jobs.map((j) => j.jobId).sort());
      expect(second.jobs.every((j) => j.enqueued === 'existing')).toBe(true);
      expect(await queue.getJobCounts('completed', 'waiting', 'active', 'failed')).toEqual({ completed: 10, waiting: 0, active: 0, failed: 0 });
    } finally {
      await watch.close();
      await queue.close();
      connection.disconnect();
    }

    // SIGTERM: B stops taking jobs and exits cleanly.
    b.child.kill('SIGTERM');
    const stopped = await b.done;
    expect(stopped.code, b.text()).toBe(0);
    expect(b.text()).toMatch(/oracx worker: stopped \(\d+ completed, 0 failed\)/);
  });

  it('SIGTERM mid-file: the worker finishes the job in hand (no stall, no re-run) and exits 0; another worker takes the rest', {
    timeout: 90_000,
  }, async () => {
    const folder2 = archive();
    const store2 = pgLocation();
    const reference = pgLocation();
    const single = await runCli(['backfill', 'football-data', folder2, '--store', reference, '-q']);
    expect(single.code, single.stderr).toBe(0);
    const flags = ['--store', store2, ...queueFlags()];
    const spawnWorker = () => {
      const p = spawnWatched(['worker', ...flags, '--lock-duration', '1s', '--stalled-interval', '500ms', '--log-format', 'json']);
      children.push(p);
      return p;
    };
    const first = spawnWorker();
    await first.waitFor(/processing collect/);
    const backfill = spawnWatched(['backfill', 'football-data', folder2, '--distributed', ...flags, '--chunk-size', '5', '--json']);
    children.push(backfill);
    const watch = await openStore(store2);
    try {
      let source: string | undefined;
      for (const end = Date.now() + 40_000; !source; await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() > end) throw new Error(`no job got under way; worker:\n${first.text()}`);
        const run = await watch.db
          .selectFrom('ingest_runs')
          .select('source')
          .where('status', '=', 'running')
          .where('last_line', '>', 0)
          .executeTakeFirst()
          .catch(() => undefined);
        source = run?.source;
      }
      first.child.kill('SIGTERM');
      const stopped = await first.done;
      expect(stopped.code, first.text()).toBe(0);
      expect(first.text()).toMatch(/stopping: no new jobs; finishing the jobs in hand/);
      // The file it held was finished by it, in one run: not abandoned, not resumed by someone else.
      const runs = await watch.db.selectFrom('ingest_runs').select(['status', 'resumed_from']).where('source', '=', source!).execute();
      expect(runs).toEqual([{ status: 'completed', resumed_from: null }]);
      expect(backfill.child.exitCode).toBeNull();

      const second = spawnWorker();
      const done = await backfill.done;
      expect(done.code, backfill.text()).toBe(0);
      expect(second.text()).not.toMatch(/stopped renewing the lock/);
      const ref = await openStore(reference);
      try {
        expect(await dumpStore(watch)).toEqual(await dumpStore(ref));
      } finally {
        await ref.close();
      }
      second.child.kill('SIGTERM');
      expect((await second.done).code).toBe(0);
    } finally {
      await watch.close();
    }
  });

  it('a transient failure is retried with backoff; one outlasting the attempts is kept as failed until jobs retry; every row once', {
    timeout: 60_000,
  }, async () => {
    const store3 = pgLocation();
    const reference = pgLocation();
    const file = path.join(FIXTURES, 'full', 'E0_2018-2019.csv');
    expect((await runCli(['backfill', 'football-data', file, '--store', reference, '-q'])).code).toBe(0);
    const w = spawnWatched(['worker', '--store', store3, ...queueFlags(), '--log-format', 'json']);
    children.push(w);
    await w.waitFor(/processing collect/);
    const s = await openStore(store3);
    try {
      // The odds table goes missing: every chunk's transaction fails (a database error, not a bad file).
      await sql`alter table odds rename to odds_away`.execute(s.db);
      const backfill = spawnWatched(['backfill', 'football-data', file, '--distributed', '--store', store3, ...queueFlags(), '--attempts', '3', '--json']);
      children.push(backfill);
      await w.waitFor(/attempt 1 failed, retrying with backoff: .*odds/);
      await sql`alter table odds_away rename to odds`.execute(s.db);
      const done = await backfill.done;
      expect(done.code, backfill.text() + w.text()).toBe(0);
      expect(done.json<{ jobs: { attemptsMade: number; state: string }[] }>().jobs).toMatchObject([{ state: 'completed', attemptsMade: 2 }]);
      const ref = await openStore(reference);
      try {
        expect(await dumpStore(s)).toEqual(await dumpStore(ref));
      } finally {
        await ref.close();
      }

      // A failure that outlasts the attempts: the job is kept as failed (the dead letter), then retried by hand.
      const second = path.join(FIXTURES, 'full', 'E0_2019-2020.csv');
      await sql`alter table odds rename to odds_away`.execute(s.db);
      const failing = await runCli(['backfill', 'football-data', second, '--distributed', '--store', store3, ...queueFlags(), '--attempts', '2', '--json']);
      expect(failing.code).toBe(1);
      const [dead] = failing.json<{ jobs: { jobId: string; attemptsMade: number; state: string }[] }>().jobs;
      expect(dead).toMatchObject({ state: 'failed', attemptsMade: 2 });
      expect(failing.stderr).toMatch(/1 of 1 job\(s\) failed: E0_2019-2020\.csv .*odds/);
      await sql`alter table odds_away rename to odds`.execute(s.db);
      expect((await runCli(['jobs', 'retry', dead!.jobId, ...queueFlags()])).code).toBe(0);
      // Waiting on it again (same id: nothing new is enqueued) sees it through.
      const after = await runCli(['backfill', 'football-data', second, '--distributed', '--store', store3, ...queueFlags(), '--json']);
      expect(after.code, after.stderr).toBe(0);
      expect(after.json<{ jobs: { jobId: string; state: string; enqueued: string }[] }>().jobs).toMatchObject([
        { jobId: dead!.jobId, state: 'completed', enqueued: 'existing' },
      ]);
      expect((await runCli(['backfill', 'football-data', second, '--store', reference, '-q'])).code).toBe(0);
      const ref2 = await openStore(reference);
      try {
        expect(await dumpStore(s)).toEqual(await dumpStore(ref2));
      } finally {
        await ref2.close();
      }
    } finally {
      await s.close();
      w.child.kill('SIGTERM');
      await w.done;
    }
  });

  it('Ctrl-C stops waiting (exit 130) and leaves the jobs queued; a worker started later finishes them', { timeout: 60_000 }, async () => {
    const store4 = pgLocation();
    const flags = ['--store', store4, '--redis', redis.url, '--queue-prefix', `${prefix}-ctrlc`];
    const small = path.join(tempDir(), 'small');
    mkdirSync(small);
    for (const f of ['D1_2010-2011.csv', 'E0_2005-2006.csv', 'F1_2006-2007.csv']) copyFileSync(path.join(FIXTURES, f), path.join(small, f));
    const backfill = spawnWatched(['backfill', 'football-data', small, '--distributed', ...flags, '--log-format', 'json']);
    children.push(backfill);
    await backfill.waitFor(/3 job\(s\) on the collect queue \(3 added, 0 already there, 0 failed ones retried\); waiting for workers/);
    backfill.child.kill('SIGINT');
    const stopped = await backfill.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/stopped waiting; 3 job\(s\) left on the queue for the workers \(see oracx jobs list\)/);
    const waiting = await runCli(['jobs', 'list', '--state', 'waiting', '--json', '--redis', redis.url, '--queue-prefix', `${prefix}-ctrlc`]);
    expect(waiting.json<{ jobs: unknown[] }>().jobs).toHaveLength(3);

    const w = spawnWatched(['worker', ...flags, '--log-format', 'json']);
    children.push(w);
    try {
      await w.waitFor(/(job collect-[0-9a-f]+: completed[\s\S]*){3}/);
      const again = await runCli(['backfill', 'football-data', small, '--distributed', ...flags, '--json']);
      expect(again.code, again.stderr).toBe(0);
      const report = again.json<{ jobs: { state: string; enqueued: string }[]; totals: { inserted: number } }>();
      expect(report.jobs.every((j) => j.state === 'completed' && j.enqueued === 'existing')).toBe(true);
      expect(report.totals.inserted).toBe(80);
      const purged = await runCli(['jobs', 'purge', '--completed', '--json', '--redis', redis.url, '--queue-prefix', `${prefix}-ctrlc`]);
      expect(purged.json()).toEqual({
        purged: {
          collect: { failed: 0, completed: 3 },
          predict: { failed: 0, completed: 0 },
          train: { failed: 0, completed: 0 },
          tune: { failed: 0, completed: 0 },
          pipeline: { failed: 0, completed: 0 },
          stage: { failed: 0, completed: 0 },
        },
      });
      const left = await runCli(['jobs', 'list', '--json', '--redis', redis.url, '--queue-prefix', `${prefix}-ctrlc`]);
      expect(left.json<{ jobs: unknown[] }>().jobs).toEqual([]);
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
    }
  });

  it('a job of another payload version is refused (failed, not applied); jobs show, retry and purge act on it', { timeout: 60_000 }, async () => {
    const w = worker();
    await w.waitFor(/processing collect/);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('collect', { connection, prefix });
    const s = await openStore(store);
    try {
      const cli = (args: string[]) => runCli([...args, ...queueFlags()]);
      const good = await cli(['backfill', 'football-data', path.join(FIXTURES, 'E0_2019-2020.csv'), '--distributed', '--store', store, '--json']);
      expect(good.code, good.stderr).toBe(0);
      const goodId = good.json<{ jobs: { jobId: string }[] }>().jobs[0]!.jobId;
      const before = await dumpStore(s);
      await queue.add(
        'collect',
        { v: 2, kind: 'collect', store: s.location, source: '/future.csv', fields: 'from a newer oracx' },
        { jobId: 'future-1', attempts: 3 },
      );
      let shown: { state: string; failedReason: string; attemptsMade: number } | undefined;
      for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
        const r = await cli(['jobs', 'show', 'future-1', '--json']);
        expect(r.code, r.stderr).toBe(0);
        shown = r.json();
        if (shown!.state === 'failed') break;
      }
      expect(shown!.state).toBe('failed');
      // Unrecoverable: one attempt, no retries of a payload the worker cannot read.
      expect(shown!.attemptsMade).toBe(1);
      expect(shown!.failedReason).toMatch(/payload version 2 is not the version this worker reads \(1, .*newer oracx; upgrade this worker/);
      expect(await dumpStore(s)).toEqual(before);

      const listed = (await cli(['jobs', 'list', '--state', 'failed', '--json'])).json<{ jobs: { id: string }[] }>();
      expect(listed.jobs.map((j) => j.id)).toEqual(['future-1']);
      const retry = await cli(['jobs', 'retry', 'future-1', '--json']);
      expect(retry.code, retry.stderr).toBe(0);
      await w.waitFor(/job future-1: failed for good[\s\S]*job future-1: failed for good/);
      const notFailed = await cli(['jobs', 'retry', goodId]);
      expect(notFailed.code).toBe(1);
      expect(notFailed.stderr).toMatch(/is completed, not failed/);

      // A well-formed job for another store is refused too: a worker writes only to the store it was started on.
      const bytes = readFileSync(path.join(FIXTURES, 'E0_2019-2020.csv'));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const other = 'postgres://postgres@127.0.0.1:5432/test?schema=somewhere_else';
      const payload: CollectPayload = {
        v: PAYLOAD_VERSION,
        kind: 'collect',
        store: other,
        source: '/x/E0_2019-2020.csv',
        name: 'E0_2019-2020.csv',
        sha256,
        season: null,
        chunkSize: 100,
        content: packContent(bytes),
        origin: origin('test'),
      };
      await queue.add('collect', payload, { jobId: collectJobId(other, sha256, null), attempts: 3 });
      await w.waitFor(
        /failed for good \(kept in the failed state; oracx jobs retry ID\): job is for store postgres:\/\/postgres@127\.0\.0\.1:5432\/test\?schema=somewhere_else, but this worker writes to .*give each store its own --queue-prefix/,
      );
      expect(await dumpStore(s)).toEqual(before);

      // A file oracx cannot read fails at once (no retries: it would stay unreadable), kept with its reason.
      const bad = await cli([
        'backfill',
        'football-data',
        path.join(FIXTURES, 'quirks', 'binary.csv'),
        '--distributed',
        '--store',
        store,
        '--attempts',
        '4',
        '--json',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/1 of 1 job\(s\) failed: binary\.csv \(collect-[0-9a-f]+\): .*binary content.* — they are kept as failed/);
      expect(bad.json<{ jobs: { attemptsMade: number; state: string }[] }>().jobs).toMatchObject([{ attemptsMade: 1, state: 'failed' }]);
      expect(await dumpStore(s)).toEqual(before);

      const purge = await cli(['jobs', 'purge', '--failed', '--queue', 'collect', '--json']);
      expect(purge.json()).toEqual({ purged: { collect: { failed: 3, completed: 0 } } });
      expect((await cli(['jobs', 'show', 'future-1'])).stderr).toMatch(/no job future-1/);
      expect((await cli(['jobs', 'purge'])).code).toBe(2);
    } finally {
      await s.close();
      await queue.close();
      connection.disconnect();
      w.child.kill('SIGTERM');
      await w.done;
    }
  });
});

describe.skipIf(!pg.available)('Redis going away mid-job', () => {
  it('the worker reconnects; the waiting backfill fails clearly; run again, every row is in the store once', { timeout: 90_000 }, async () => {
    const redis = await startRedis();
    const prefix = `oracx-outage-${process.pid}`;
    const folder = archive();
    const store = pgLocation();
    const reference = pgLocation();
    const flags = ['--store', store, '--redis', redis.url, '--queue-prefix', prefix];
    const w = spawnWatched(['worker', ...flags, '--lock-duration', '2s', '--stalled-interval', '1s', '--log-format', 'json']);
    children.push(w);
    const watch = await openStore(store);
    try {
      const single = await runCli(['backfill', 'football-data', folder, '--store', reference, '-q']);
      expect(single.code, single.stderr).toBe(0);
      await w.waitFor(/processing collect/);
      const backfill = spawnWatched(['backfill', 'football-data', folder, '--distributed', ...flags, '--chunk-size', '5']);
      children.push(backfill);
      // Redis dies (and loses every key: nothing is persisted) while a file is half written.
      for (const end = Date.now() + 40_000; ; await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() > end) throw new Error(`no job got under way; worker:\n${w.text()}`);
        const run = await watch.db
          .selectFrom('ingest_runs')
          .select('last_line')
          .where('status', '=', 'running')
          .where('last_line', '>', 0)
          .executeTakeFirst()
          .catch(() => undefined);
        if (run) break;
      }
      await redis.kill();
      await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ went away .*reconnecting/);
      await new Promise((r) => setTimeout(r, 1500));
      await redis.restart();
      await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+ is back/);
      const lost = await backfill.done;
      expect(lost.code, backfill.text()).toBe(1);
      expect(lost.stderr).toMatch(/disappeared from the queue \(purged, or Redis lost its data\) — run the backfill again/);
      expect(w.child.exitCode).toBeNull();

      // The same worker, reconnected, takes the backfill run again; files already in are reported unchanged.
      const again = await runCli(['backfill', 'football-data', folder, '--distributed', ...flags, '--json']);
      expect(again.code, again.stderr + w.text()).toBe(0);
      const ref = await openStore(reference);
      try {
        expect(await dumpStore(watch)).toEqual(await dumpStore(ref));
      } finally {
        await ref.close();
      }
    } finally {
      await watch.close();
      w.child.kill('SIGTERM');
      await w.done;
      await redis.kill();
    }
  });
});

describe('distributed backfill: bad setups are clear errors', () => {
  it('a SQLite store, no Redis configured, an unreachable Redis, an unknown queue', async () => {
    const dir = tempDir();
    const sqlite = path.join(dir, 'store.db');
    const one = path.join(FIXTURES, 'E0_2019-2020.csv');
    const r1 = await runCli(['backfill', 'football-data', one, '--distributed', '--store', sqlite, '--redis', 'redis://127.0.0.1:6379']);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/backfill --distributed needs a PostgreSQL store; .*store\.db is a SQLite file/);
    const r2 = await runCli(['worker', '--store', sqlite, '--redis', 'redis://127.0.0.1:6379']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/writes to PostgreSQL stores only/);
    // Refused before the store is opened: no SQLite file was created (or migrated) for nothing.
    expect(existsSync(sqlite)).toBe(false);
    const r3 = await runCli(['jobs', 'list']);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/needs Redis — pass --redis redis:\/\/127\.0\.0\.1:6379 or set ORACX_REDIS_URL/);
    const r4 = await runCli(['jobs', 'list', '--redis', 'redis://127.0.0.1:1']);
    expect(r4.code).toBe(1);
    expect(r4.stderr).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/);
    const r5 = await runCli(['worker', '--queues', 'collect,trian', '--redis', 'redis://127.0.0.1:6379']);
    expect(r5.code).toBe(2);
    expect(r5.stderr).toMatch(/unknown queue "trian" in --queues — queues: collect, predict, train, tune/);
    // Without --distributed the same command collects in-process, into SQLite too.
    const r6 = await runCli(['backfill', 'football-data', one, '--store', sqlite, '--json']);
    expect(r6.code, r6.stderr).toBe(0);
    expect(r6.json<{ totals: { inserted: number } }>().totals.inserted).toBeGreaterThan(0);
  });
});
