// The pipeline lease (migration 0012) on SQLite and PostgreSQL: a second `oracx run` of a pipeline being run exits 1
// naming the holder, --wait waits for it, a crashed holder's lease lapses, and two concurrent `oracx run --wait` run
// each stage once (the second, under the lease, skips what the first ran).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { acquireLease, leaseHolder, PipelineLocked } from '../../pipelines/pipeline-lock.js';
import type { PipelineReport } from '../../pipelines/pipeline-run.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const pg = DIALECTS.find((d) => d.name === 'postgres')!;
if (!pg.available) {
  if (ci) throw new Error('pipeline-lock tests need PostgreSQL under CI=true');
  console.warn('[oracx tests] pipeline-lock: PostgreSQL unavailable, its PostgreSQL cases are skipped');
}

const pipelineText = stringify({
  name: 'locked',
  stages: { collect: { inputs: [path.join(FIXTURES, 'E0_2019-2020.csv')] }, features: { set: 'core@2' } },
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`pipeline lease on ${dialect.name}`, () => {
    let location = '';
    let store: Store;
    let dir = '';
    const run = (args: string[] = []) => runCli(['--store', location, 'run', '--json', ...args], { cwd: dir });
    const count = async (table: 'pipeline_runs' | 'stage_runs') =>
      Number(
        (
          await store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    beforeAll(async () => {
      location = dialect.newLocation();
      store = await openStore(location);
      await store.migrate();
      dir = tempDir();
      writeFileSync(path.join(dir, 'oracx.yaml'), pipelineText);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('a second holder is refused with the first named; released, it can take it', async () => {
      const first = await acquireLease(store, 'p1', { holder: 'first', ttlMs: 60_000 });
      const error = await acquireLease(store, 'p1', { holder: 'second' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PipelineLocked);
      expect((error as Error).message).toMatch(/^pipeline "p1" is being run by .+:\d+ \(first\) \(since \d{4}-/);
      // Another pipeline is not affected.
      await (await acquireLease(store, 'p2', { holder: 'other' })).release();
      await first.release();
      expect(await leaseHolder(store, 'p1')).toBeNull();
      await (await acquireLease(store, 'p1', { holder: 'second' })).release();
    });

    it("a crashed holder's lease lapses after its ttl", async () => {
      // A holder that died: its row stays, nobody renews it.
      await store.db
        .insertInto('pipeline_locks')
        .values({ pipeline: 'p3', token: 'dead', holder: 'ghost:1 (oracx run)', acquired_at: new Date().toISOString(), expires_ms: Date.now() + 400 })
        .execute();
      await expect(acquireLease(store, 'p3', { holder: 'next' })).rejects.toThrow(/being run by ghost:1 \(oracx run\)/);
      await new Promise((r) => setTimeout(r, 450));
      const lease = await acquireLease(store, 'p3', { holder: 'next' });
      expect((await leaseHolder(store, 'p3'))?.holder).toMatch(/\(next\)$/);
      await lease.release();
    });

    // PostgreSQL only: a SQLite file's clock is the machine's own.
    if (dialect.name === 'postgres')
      it("times a lease by the store's clock: a run on a machine whose clock is ahead takes no live lease", async () => {
        const held = await acquireLease(store, 'skew', { holder: 'CI runner', ttlMs: 60_000 });
        // Another machine, 10 minutes ahead: by its own clock the lease lapsed long ago.
        const ahead = vi.spyOn(Date, 'now').mockImplementation(() => performance.timeOrigin + performance.now() + 600_000);
        try {
          await expect(acquireLease(store, 'skew', { holder: 'worker' })).rejects.toBeInstanceOf(PipelineLocked);
          expect((await leaseHolder(store, 'skew'))?.holder).toMatch(/\(CI runner\)$/);
        } finally {
          ahead.mockRestore();
        }
        await held.release();
        expect(await leaseHolder(store, 'skew')).toBeNull();
      });

    it('a held lease is renewed while its run lasts', async () => {
      const lease = await acquireLease(store, 'p4', { holder: 'long', ttlMs: 300 });
      await new Promise((r) => setTimeout(r, 700));
      await expect(acquireLease(store, 'p4', { holder: 'late' })).rejects.toBeInstanceOf(PipelineLocked);
      await lease.release();
    });

    it('oracx run while another run holds the lease exits 1 naming it, and records nothing', async () => {
      const held = await acquireLease(store, 'locked', { holder: 'oracx run (CI job 1)', ttlMs: 60_000 });
      try {
        const r = await run();
        expect(r.code).toBe(1);
        expect(r.json<{ ok: false; error: { message: string } }>().error.message).toMatch(/pipeline "locked" is being run by .+ \(oracx run \(CI job 1\)\)/);
        expect(await count('pipeline_runs')).toBe(0);
        // --dry only reads: no lease needed.
        expect((await run(['--dry'])).code).toBe(0);
      } finally {
        await held.release();
      }
    });

    it('--wait waits for the holder, then runs', async () => {
      const held = await acquireLease(store, 'locked', { holder: 'a schedule', ttlMs: 60_000 });
      const started = Date.now();
      const release = setTimeout(() => void held.release(), 800);
      const r = await runCli(['--store', location, 'run', '--json', '--wait'], { cwd: dir });
      clearTimeout(release);
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(750);
      expect(r.stderr).toMatch(/pipeline locked is being run by .+ \(a schedule\) since .*: waiting for it/);
      expect(r.json<PipelineReport>().stages.map((s) => s.status)).toEqual(['ran', 'ran']);
      expect(await leaseHolder(store, 'locked')).toBeNull();
    });

    it('two concurrent oracx run --wait run each stage once', async () => {
      // Fresh inputs for the pipeline: a second file to collect.
      writeFileSync(
        path.join(dir, 'oracx.yaml'),
        stringify({
          name: 'locked',
          stages: { collect: { inputs: [path.join(FIXTURES, 'E0_2019-2020.csv'), path.join(FIXTURES, 'D1_2018-2019.csv')] }, features: { set: 'core@2' } },
        }),
      );
      const before = await count('pipeline_runs');
      const [a, b] = await Promise.all([run(['--wait']), run(['--wait'])]);
      expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
      const reports = [a.json<PipelineReport>(), b.json<PipelineReport>()];
      const ran = reports.filter((r) => r.stages.every((s) => s.status === 'ran'));
      const skipped = reports.filter((r) => r.stages.every((s) => s.status === 'skipped'));
      expect([ran.length, skipped.length]).toEqual([1, 1]);
      expect(await count('pipeline_runs')).toBe(before + 1);
      const collects = await store.db.selectFrom('stage_runs').select('status').where('stage', '=', 'collect').where('status', '=', 'succeeded').execute();
      expect(collects).toHaveLength(2); // the --wait test's run and this one: never twice for the same inputs
    });

    it('a run SIGKILLed while holding the lease: the next oracx run --wait takes over once the lease lapses', { timeout: 90_000 }, async () => {
      const crashDir = tempDir();
      writeFileSync(
        path.join(crashDir, 'oracx.yaml'),
        stringify({ name: 'crashy', stages: { collect: { inputs: [path.join(FIXTURES, 'full')] }, features: { set: 'core@2' } } }),
      );
      const victim = spawnCli(['--store', location, 'run', '--lease', '1500ms'], { cwd: crashDir });
      const end = Date.now() + 30_000;
      // Killed mid-stage: once it holds the lease and a stage of it is running.
      const running = async () =>
        (await store.db.selectFrom('stage_runs').select('id').where('pipeline', '=', 'crashy').where('status', '=', 'running').execute()).length > 0;
      while (!(await leaseHolder(store, 'crashy')) || !(await running())) {
        if (Date.now() > end || victim.child.exitCode !== null) throw new Error(`the first run never held the lease: ${(await victim.done).stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      victim.child.kill('SIGKILL');
      await victim.done;
      expect((await leaseHolder(store, 'crashy'))?.holder).toMatch(/\(oracx run oracx\.yaml\)$/);
      const next = await runCli(['--store', location, 'run', '--json', '--wait', '--lease', '1500ms'], { cwd: crashDir });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/pipeline crashy is being run by .+: waiting for it/);
      expect(next.json<PipelineReport>().status).toBe('succeeded');
      expect(await leaseHolder(store, 'crashy')).toBeNull();
      // The killed run's rows, left running, are closed as abandoned by the run that took over.
      const runs = await store.db.selectFrom('pipeline_runs').select(['status', 'error']).where('pipeline', '=', 'crashy').orderBy('id').execute();
      expect(runs).toEqual([
        { status: 'failed', error: expect.stringMatching(/^abandoned: /) },
        { status: 'succeeded', error: null },
      ]);
      const stale = await store.db.selectFrom('stage_runs').select('status').where('pipeline', '=', 'crashy').where('status', '=', 'running').execute();
      expect(stale).toEqual([]);
    });
  });
}
