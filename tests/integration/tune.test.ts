// tune against real stores: resumable studies, shared by concurrent processes, no trial lost or repeated.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TuneResult } from '../../pipelines/tune.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const TUNE = ['tune', '--model', 'elo-ordered', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '84d'];

async function seeded(location: string, cwd: string): Promise<void> {
  const r = await runCli(['--store', location, 'collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd });
  expect(r.code, r.stderr).toBe(0);
}

async function trials(location: string): Promise<{ number: number; status: string; params: string }[]> {
  const store = await openStore(location);
  try {
    return await store.db.selectFrom('tune_trials').select(['number', 'status', 'params']).orderBy('number').execute();
  } finally {
    await store.close();
  }
}

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
      const trained = await runCli(['--store', store, 'train', '--model', 'elo-ordered', '--competitions', 'E0', '--params-file', 'best-params.json', '--json'], { cwd });
      expect(trained.code, trained.stderr).toBe(0);
      expect(trained.json<{ params: Record<string, unknown> }>().params).toMatchObject(best.params);

      const other = await runCli(['--store', store, ...TUNE, '--trials', '6', '--param', 'l2=0.5'], { cwd });
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/study "elo-ordered-core@1-E0" exists with other settings/);
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

    it('re-queues the trial of a killed process with its params: nothing lost', async () => {
      const cwd = tempDir();
      const store = dialect.newLocation();
      await seeded(store, cwd);
      const killed = spawnCli(['--store', store, ...TUNE, '--model', 'dixon-coles', '--walk-forward', '14d', '--trials', '3', '--study', 'k'], { cwd });
      const running = await runningTrial(store);
      expect(running).toBeDefined();
      killed.child.kill('SIGKILL');
      await killed.done;
      const resumed = await runCli(['--store', store, ...TUNE, '--model', 'dixon-coles', '--walk-forward', '14d', '--trials', '3', '--study', 'k', '--stale-after', '0s', '--json'], { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.json<TuneResult>().requeued).toBe(1);
      const rows = await trials(store);
      expect(rows.map((t) => t.number)).toEqual([0, 1, 2]);
      expect(rows.every((t) => t.status === 'complete' || t.status === 'pruned')).toBe(true);
      expect(rows.find((t) => t.number === running!.number)!.params).toBe(running!.params);
    });
  });
}
