// tune against real stores: resumable studies, shared by concurrent processes, no trial lost or repeated.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TuneResult } from '../../pipelines/tune.js';
import { FIXTURES, runCli, spawnCli, type Spawned } from '../helpers/cli.js';
import { DIALECTS, tempDir, withStore } from '../helpers/stores.js';

const TUNE = ['tune', '--model', 'elo-ordered', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '84d'];

async function seeded(location: string, cwd: string): Promise<void> {
  const r = await runCli(['--store', location, 'collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd });
  expect(r.code, r.stderr).toBe(0);
}

async function trials(location: string): Promise<{ number: number; status: string; params: string; value: number | null }[]> {
  return withStore(location, (store) => store.db.selectFrom('tune_trials').select(['number', 'status', 'params', 'value']).orderBy('number').execute());
}

const ended = (t: { status: string }) => t.status === 'complete' || t.status === 'pruned' || t.status === 'failed';

/** Waits (up to 30 s) until some process has a trial running, and returns it. */
async function runningTrial(location: string): Promise<{ number: number; params: string } | undefined> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const running = (await trials(location).catch(() => [])).find((t) => t.status === 'running');
    if (running) return running;
  }
  return undefined;
}

/** Adds trial `number` (with trial 0's params) as a live process on another machine holds it: running, heartbeat fresh. */
async function runningElsewhere(location: string, number: number): Promise<string> {
  return withStore(location, async (s) => {
    const t0 = await s.db.selectFrom('tune_trials').select(['study_id', 'params']).where('number', '=', 0).executeTakeFirstOrThrow();
    const at = new Date().toISOString();
    await s.db
      .insertInto('tune_trials')
      .values({ study_id: t0.study_id, number, status: 'running', params: t0.params, worker: 'otherhost:1', started_at: at, heartbeat_at: at })
      .execute();
    return t0.params;
  });
}

/** Resolves when the spawned process's stderr matches (never, if it does not). */
function stderrMatch(run: Spawned, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    run.child.stderr!.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (pattern.test(text)) resolve();
    });
  });
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`tune on ${dialect.name}`, () => {
    it('runs a study, resumes it to more trials, and writes params train accepts', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const first = await runCli(['--store', store, ...TUNE, '--trials', '4', '--json'], { cwd });
      expect(first.code, first.stderr).toBe(0);
      const a = first.json<TuneResult>();
      expect(a.trials.complete + a.trials.pruned).toBe(4);
      expect(a.best).not.toBeNull();
      const again = (await runCli(['--store', store, ...TUNE, '--trials', '6', '--json'], { cwd })).json<TuneResult>();
      expect(again.ranHere).toBe(2);
      expect((await trials(store)).map((t) => t.number)).toEqual([0, 1, 2, 3, 4, 5]);
      const best = JSON.parse(readFileSync(path.join(cwd, 'best-params.json'), 'utf8')) as { params: Record<string, unknown>; value: number };
      expect(best.value).toBe(again.best!.value);
      const trained = await runCli(
        ['--store', store, 'train', '--model', 'elo-ordered', '--competitions', 'E0', '--params-file', 'best-params.json', '--json'],
        { cwd },
      );
      expect(trained.code, trained.stderr).toBe(0);
      expect(trained.json<{ params: Record<string, unknown> }>().params).toMatchObject(best.params);

      const other = await runCli(['--store', store, ...TUNE, '--trials', '6', '--param', 'l2=0.5'], { cwd });
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/study "elo-ordered-core@2-E0" exists with other settings/);
    });

    it('shares one study between concurrent processes without repeating a trial number', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const runs = [0, 1, 2].map(() => spawnCli(['--store', store, ...TUNE, '--trials', '9', '--study', 'shared'], { cwd }));
      const done = await Promise.all(runs.map((r) => r.done));
      for (const d of done) expect(d.code, d.stderr).toBe(0);
      const rows = await trials(store);
      expect(rows.map((t) => t.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rows.every((t) => t.status === 'complete' || t.status === 'pruned')).toBe(true);
    });

    it('Ctrl-C puts the running trial back in the queue (exit 130); the next run completes it', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      // An MLP trial over 4-week refits takes seconds, so the interrupt lands inside it.
      const args = ['--store', store, ...TUNE, '--model', 'mlp', '--walk-forward', '28d', '--trials', '2', '--study', 'int', '--param', 'patience=0'];
      const run = spawnCli(args, { cwd });
      const running = await runningTrial(store);
      expect(running).toBeDefined();
      run.child.kill('SIGINT');
      const done = await run.done;
      expect(done.code).toBe(130);
      const after = await trials(store);
      expect(after.find((t) => t.number === running!.number)).toMatchObject({ status: 'waiting', params: running!.params });
      const resumed = await runCli(args, { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      const rows = await trials(store);
      expect(rows.map((t) => t.number)).toEqual([0, 1]);
      expect(rows.every((t) => t.status === 'complete' || t.status === 'pruned')).toBe(true);
    });

    it('every concurrent process ends with the whole study: its result and best-params.json hold the study best', async () => {
      const cwds = [tempDir(), tempDir()];
      const store = dialect.newLocation();
      await seeded(store, cwds[0]!);
      // Weekly Dixon-Coles refits make trials longer than the two start-ups differ: each process claims one trial,
      // and the first to finish has nothing left to claim while the other still runs (a race, so the next test
      // makes that case deterministic).
      const args = ['--store', store, ...TUNE, '--model', 'dixon-coles', '--walk-forward', '7d', '--trials', '2', '--study', 'both', '--json'];
      const done = await Promise.all(cwds.map((cwd) => spawnCli(args, { cwd }).done));
      const rows = await trials(store);
      expect(rows.map((t) => t.number)).toEqual([0, 1]);
      expect(rows.every(ended)).toBe(true);
      const best = rows.filter((t) => t.status === 'complete' && t.value !== null).sort((a, b) => a.value! - b.value! || a.number - b.number)[0]!;
      const reported = done.map((d, i) => {
        const result = d.json<TuneResult>();
        const file = path.join(cwds[i]!, 'best-params.json');
        return {
          code: d.code,
          ended: result.trials.complete + result.trials.pruned + result.trials.failed,
          best: result.best && { number: result.best.number, value: result.best.value },
          file: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { trial: number; value: number; params: unknown }) : null,
        };
      });
      const study = {
        code: 0,
        ended: 2,
        best: { number: best.number, value: best.value },
        file: expect.objectContaining({ trial: best.number, value: best.value, params: JSON.parse(best.params) as unknown }),
      };
      expect(reported, done.map((d) => d.stderr).join('\n')).toEqual([study, study]);
      for (const d of done) expect(d.json<TuneResult>()).toMatchObject({ finished: true, unfinished: [], notStarted: 0 });
    });

    it('a process with nothing left to claim waits for the trial another host runs, and reports it in its result and best-params.json', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const one = await runCli(['--store', store, ...TUNE, '--study', 'wait', '--trials', '1', '-q'], { cwd });
      expect(one.code, one.stderr).toBe(0);
      await runningElsewhere(store, 1);
      const run = spawnCli(['--store', store, ...TUNE, '--study', 'wait', '--trials', '2', '--json'], { cwd });
      // Whether the process waits (or, before the fix, ends at once with trial 0 as the best), the other host
      // then finishes trial 1 with the best value of the study.
      await Promise.race([stderrMatch(run, /waiting for trial 1 running in otherhost:1 \(last heartbeat \d+ s ago\)/), run.done]);
      await withStore(store, (s) =>
        s.db
          .updateTable('tune_trials')
          .set({ status: 'complete', value: 0.1, intermediate: '[0.1]', finished_at: new Date().toISOString() })
          .where('number', '=', 1)
          .execute(),
      );
      const done = await run.done;
      expect(done.code, done.stderr).toBe(0);
      expect(done.json<TuneResult>()).toMatchObject({ best: { number: 1, value: 0.1 }, finished: true, ranHere: 0, unfinished: [] });
      expect(JSON.parse(readFileSync(path.join(cwd, 'best-params.json'), 'utf8'))).toMatchObject({ trial: 1, value: 0.1 });
    });

    it('re-queues at once the trial of a process killed on this host (default --stale-after): nothing lost, study finished', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const args = ['--store', store, ...TUNE, '--model', 'dixon-coles', '--walk-forward', '14d', '--trials', '3', '--study', 'k'];
      const killed = spawnCli(args, { cwd });
      const running = await runningTrial(store);
      expect(running).toBeDefined();
      killed.child.kill('SIGKILL');
      await killed.done;
      // No --stale-after: its pid is gone from this host, which proves the trial dead without waiting 5 minutes.
      const resumed = await runCli([...args, '--json'], { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.json<TuneResult>()).toMatchObject({ requeued: 1, finished: true, unfinished: [], notStarted: 0 });
      const rows = await trials(store);
      expect(rows.map((t) => t.number)).toEqual([0, 1, 2]);
      expect(rows.every((t) => t.status === 'complete' || t.status === 'pruned')).toBe(true);
      expect(rows.find((t) => t.number === running!.number)!.params).toBe(running!.params);
    });

    it('a trial running on another host: a --timeout run says the study is unfinished and how to finish it; once stale it is run', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const args = ['--store', store, ...TUNE, '--study', 'remote', '--trials', '2'];
      const one = await runCli(['--store', store, ...TUNE, '--study', 'remote', '--trials', '1', '-q'], { cwd });
      expect(one.code, one.stderr).toBe(0);
      const params = await runningElsewhere(store, 1);

      const json = await runCli([...args, '--timeout', '1s', '--json'], { cwd });
      expect(json.code, json.stderr).toBe(0);
      const result = json.json<TuneResult>();
      expect(result).toMatchObject({ finished: false, notStarted: 0, ranHere: 0, requeued: 0, best: { number: 0 } });
      expect(result.unfinished).toEqual([{ number: 1, status: 'running', worker: 'otherhost:1', heartbeatAgeMs: expect.any(Number) }]);
      expect(json.stderr).toMatch(
        /study remote is unfinished: trial 1 running in otherhost:1 \(last heartbeat \d+ s ago\); best-params.json reflects the 1 finished trial\(s\); run the same command again to finish it/,
      );
      const human = await runCli([...args, '--timeout', '1s'], { cwd });
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain(
        'run the same command again to finish it (a trial whose process died is re-queued after --stale-after 5m, or at once on this host)',
      );
      expect(human.stdout).toMatch(/study remote is unfinished: trial 1 running in otherhost:1 \(last heartbeat \d+ s ago\)/);

      // That process never sends another heartbeat: a run waiting on the trial re-queues it after --stale-after and runs it.
      const rerun = await runCli([...args, '--stale-after', '3s', '--json'], { cwd });
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.json<TuneResult>()).toMatchObject({ finished: true, requeued: 1, ranHere: 1, unfinished: [] });
      const rows = await trials(store);
      expect(rows.map((t) => [t.number, t.status === 'complete' || t.status === 'pruned'])).toEqual([
        [0, true],
        [1, true],
      ]);
      expect(rows[1]!.params).toBe(params);
    });
  });
}
