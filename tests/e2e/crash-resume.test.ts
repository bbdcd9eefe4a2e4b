// Spawns the built CLI: a collect killed with SIGKILL (or stopped with SIGINT) and run again
// must leave the store identical to an uninterrupted run.
import { mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, spawnCli } from '../helpers/cli.js';
import { dumpStore } from '../helpers/dump.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

/** The three full seasons plus the quarantine fixture: ~1,150 rows, so a small chunk size gives many commits. */
function inputFolder(): string {
  const dir = tempDir();
  const folder = path.join(dir, 'in');
  mkdirSync(folder);
  for (const f of readdirSync(path.join(FIXTURES, 'full'))) copyFileSync(path.join(FIXTURES, 'full', f), path.join(folder, f));
  copyFileSync(path.join(FIXTURES, 'quirks', 'bad_rows.csv'), path.join(folder, 'bad_rows.csv'));
  return folder;
}

async function checkpointedLines(store: string): Promise<number> {
  const s = await openStore(store);
  try {
    const rows = await s.db.selectFrom('ingest_runs').select(['last_line']).execute();
    return rows.reduce((sum, r) => sum + r.last_line, 0);
  } catch {
    return 0; // tables not created yet
  } finally {
    await s.close();
  }
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached in time');
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`crash safety on ${dialect.name}`, () => {
    it('SIGKILL mid-collect, then collect again: same store as one uninterrupted run', async () => {
      const folder = inputFolder();
      const reference = dialect.newLocation();
      const ref = await spawnCli(['--store', reference, 'collect', 'football-data', folder, '--chunk-size', '25']).done;
      expect(ref.code, ref.stderr).toBe(0);

      const victim = dialect.newLocation();
      const killed = spawnCli(['--store', victim, 'collect', 'football-data', folder, '--chunk-size', '25']);
      // Kill once some chunks have committed but well before the end (1,150 rows).
      await waitFor(async () => (await checkpointedLines(victim)) > 100, 30_000);
      killed.child.kill('SIGKILL');
      const dead = await killed.done;
      expect(dead.signal).toBe('SIGKILL');

      const partial = await openStore(victim);
      const runs = await partial.db.selectFrom('ingest_runs').select(['status', 'last_line']).execute();
      await partial.close();
      expect(runs.some((r) => r.status === 'running')).toBe(true);

      const again = await spawnCli(['--store', victim, 'collect', 'football-data', folder, '--chunk-size', '25', '--json']).done;
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/resuming .* after line \d+/);

      const [a, b] = [await openStore(reference), await openStore(victim)];
      try {
        expect(await dumpStore(b)).toEqual(await dumpStore(a));
        const statuses = await b.db.selectFrom('ingest_runs').select(['status', 'resumed_from']).execute();
        expect(statuses.filter((s) => s.status === 'running')).toHaveLength(0);
        expect(statuses.some((s) => s.status === 'interrupted')).toBe(true);
        expect(statuses.some((s) => s.resumed_from !== null)).toBe(true);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}

describe('SIGINT', () => {
  it('stops at a chunk boundary with exit 130 and a resumable, consistent store', async () => {
    const folder = inputFolder();
    const store = path.join(tempDir(), 'int.db');
    const run = spawnCli(['--store', store, 'collect', 'football-data', folder, '--chunk-size', '10']);
    await waitFor(async () => (await checkpointedLines(store)) > 50, 30_000);
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code).toBe(130);
    expect(done.stderr).toContain('SIGINT received');
    const s = await openStore(store);
    try {
      const runs = await s.db.selectFrom('ingest_runs').select(['status', 'last_line', 'inserted', 'quarantined']).execute();
      const interrupted = runs.filter((r) => r.status === 'interrupted');
      expect(interrupted).toHaveLength(1);
      const matches = await s.db.selectFrom('matches').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      // Every committed row is accounted for by the runs' counters: nothing half-written.
      expect(Number(matches.n)).toBe(runs.reduce((sum, r) => sum + r.inserted, 0));
    } finally {
      await s.close();
    }
    const resumed = await spawnCli(['--store', store, 'collect', 'football-data', folder]).done;
    expect(resumed.code).toBe(0);
  });
});

describe('the built binary', () => {
  it('prints help and exits 0', async () => {
    const r = await spawnCli(['--help']).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: oracx');
  });

  it('maps a user error to exit 1 with one line on stderr', async () => {
    const r = await spawnCli(['collect', 'football-data', 'nope.csv'], { cwd: tempDir() }).done;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe('oracx: nope.csv: no such file or folder — check the path');
  });
});
