// Spawns the built CLI: a results collect killed with SIGKILL mid-file and run again must leave exactly the
// match_finished events of an uninterrupted run — none lost with a rolled-back chunk, none doubled by the resume.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const COPIES = 60;

/** `COPIES` copies of the 20 E0 fixtures and of their results, each copy 0–59 years later (new seasons, new matches). */
function folder(): { fixtures: string; results: string } {
  const dir = path.join(tempDir(), 'in');
  mkdirSync(dir);
  const shifted = (file: string) => {
    const [header, ...lines] = readFileSync(path.join(FIXTURES, 'upcoming', file), 'latin1')
      .split('\r\n')
      .filter((l) => l.startsWith('E0,') || l.startsWith('Div,'));
    const out = [header!];
    for (let k = 0; k < COPIES; k++) {
      for (const line of lines)
        out.push(line.replace(/^E0,(\d\d)\/(\d\d)\/(\d{4}),/, (_, d: string, m: string, y: string) => `E0,${d}/${m}/${Number(y) + k},`));
    }
    return `${out.join('\r\n')}\r\n`;
  };
  const fixtures = path.join(dir, 'fixtures.csv');
  const results = path.join(dir, 'results.csv');
  writeFileSync(fixtures, shifted('fixtures.csv'), 'latin1');
  writeFileSync(results, shifted('E0_2020-2021.csv'), 'latin1');
  return { fixtures, results };
}

/** The last line the results run has committed, while it is still running (0 before its first chunk). */
async function resultsCheckpoint(location: string): Promise<number> {
  const s = await openStore(location);
  try {
    const run = await s.db
      .selectFrom('ingest_runs')
      .select('last_line')
      .where('source', 'like', '%results.csv')
      .where('status', '=', 'running')
      .executeTakeFirst();
    return run?.last_line ?? 0;
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

async function finishedEvents(location: string): Promise<{ dedupe_key: string; payload: string }[]> {
  const s = await openStore(location);
  try {
    return await s.db.selectFrom('events').select(['dedupe_key', 'payload']).where('type', '=', 'match_finished').orderBy('dedupe_key').execute();
  } finally {
    await s.close();
  }
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`match_finished across a crash on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] match_finished crash test on ${dialect.name} skipped: service not available`);

    it('SIGKILL mid-results-file, then collect again: each event once, the same events as an uninterrupted run', async () => {
      const { fixtures, results } = folder();
      const reference = dialect.newLocation();
      const victim = dialect.newLocation();
      for (const location of [reference, victim]) {
        const r = await runCli(['--store', location, 'collect', 'football-data', fixtures, '-q']);
        expect(r.code, r.stderr).toBe(0);
      }
      const whole = await spawnCli(['--store', reference, 'collect', 'football-data', results, '--chunk-size', '25']).done;
      expect(whole.code, whole.stderr).toBe(0);
      const expected = await finishedEvents(reference);
      expect(expected).toHaveLength(20 * COPIES);

      const killed = spawnCli(['--store', victim, 'collect', 'football-data', results, '--chunk-size', '25']);
      // Some chunks (and their events) committed, well before the end (1,200 rows).
      await waitFor(async () => (await resultsCheckpoint(victim)) > 100, 30_000);
      killed.child.kill('SIGKILL');
      expect((await killed.done).signal).toBe('SIGKILL');
      const partial = (await finishedEvents(victim)).length;
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(20 * COPIES);
      // Written with the results in one transaction: as many events as finished matches, whatever the kill cut.
      const s = await openStore(victim);
      try {
        const done = await s.db
          .selectFrom('matches')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'finished')
          .executeTakeFirstOrThrow();
        expect(Number(done.n)).toBe(partial);
      } finally {
        await s.close();
      }

      const resumed = await spawnCli(['--store', victim, 'collect', 'football-data', results, '--chunk-size', '25']).done;
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/resuming .* after line \d+/);
      // Same match ids in both stores (the fixtures were inserted alike), so the same keys and payloads.
      expect(await finishedEvents(victim)).toEqual(expected);

      const again = await spawnCli(['--store', victim, 'collect', 'football-data', results]).done;
      expect(again.code, again.stderr).toBe(0);
      expect(await finishedEvents(victim)).toEqual(expected);
    }, 180_000);
  });
}
