// Spawns the built CLI: a collect killed with SIGKILL (or stopped with SIGINT) and run again
// must leave the store identical to an uninterrupted run.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, spawnCli } from '../helpers/cli.js';
import { dumpStore } from '../helpers/dump.js';
import { DIALECTS, tempDir, type DialectCase } from '../helpers/stores.js';

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

/**
 * A fixtures file of ~1,200 rows made from the bundled one: 40 copies with their dates 0–39 years later (so every
 * copy is new matches in new seasons, the E0 and E1 rows interleaved by date), one row of every tenth copy (4 in all)
 * of an unknown division; and the results of the first copy, one of them played three days after its fixture.
 */
function fixturesFolder(): string {
  const folder = path.join(tempDir(), 'in');
  mkdirSync(folder);
  const [header, ...lines] = readFileSync(path.join(FIXTURES, 'upcoming', 'fixtures.csv'), 'latin1')
    .split('\r\n')
    .filter((l) => l !== '');
  const rows: { day: string; line: string }[] = [];
  for (let k = 0; k < 40; k++) {
    lines.forEach((line, i) => {
      let shifted = line.replace(
        /^([^,]*),(\d\d)\/(\d\d)\/(\d{4}),/,
        (_, div: string, d: string, m: string, y: string) => `${div},${d}/${m}/${Number(y) + k},`,
      );
      if (k % 10 === 5 && i === 3) shifted = shifted.replace(/^[^,]*,/, 'X9,');
      const [, d, m, y] = /^[^,]*,(\d\d)\/(\d\d)\/(\d{4}),/.exec(shifted)!;
      rows.push({ day: `${y}${m}${d}`, line: shifted });
    });
  }
  rows.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  writeFileSync(path.join(folder, 'fixtures.csv'), [header, ...rows.map((r) => r.line), ''].join('\r\n'), 'latin1');
  const results = readFileSync(path.join(FIXTURES, 'upcoming', 'E0_2020-2021.csv'), 'latin1');
  const postponed = results.replace('E0,12/09/2020,12:30,Fulham,Arsenal,', 'E0,15/09/2020,19:45,Fulham,Arsenal,');
  expect(postponed).not.toBe(results);
  writeFileSync(path.join(folder, 'z_results.csv'), postponed, 'latin1');
  return folder;
}

interface Counts {
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}
interface CollectJson {
  files: (Counts & { source: string; earlier: Counts | null })[];
  totals: Counts;
}

/** Collects `folder` uninterrupted into one store and with a SIGKILL and a resume into another; the two must be equal. */
async function killResumeAndCompare(dialect: DialectCase, folder: string): Promise<string> {
  const reference = dialect.newLocation();
  const ref = await spawnCli(['--store', reference, 'collect', 'football-data', folder, '--chunk-size', '25', '--json']).done;
  expect(ref.code, ref.stderr).toBe(0);

  const victim = dialect.newLocation();
  const killed = spawnCli(['--store', victim, 'collect', 'football-data', folder, '--chunk-size', '25']);
  // Kill once some chunks have committed but well before the end (~1,150–1,200 rows).
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
  const whole = JSON.parse(ref.stdout) as CollectJson;
  const resumed = JSON.parse(again.stdout) as CollectJson;
  // Each run reports what it changed: the killed run's part of a file plus the resumed run's make the whole file
  // (on SQLite, which collects one file after another; PostgreSQL collects two at once, so which of two files inserts
  // a match they share varies). On both, every match is counted as inserted by exactly one run.
  expect(resumed.files.filter((f) => f.earlier !== null).length).toBeGreaterThan(0);
  if (dialect.name === 'sqlite') {
    for (const f of resumed.files) {
      if (f.earlier === null && f.inserted + f.updated === 0) continue; // finished before the kill: all unchanged now
      const r = whole.files.find((x) => x.source === f.source)!;
      const own = [f.inserted + (f.earlier?.inserted ?? 0), f.updated + (f.earlier?.updated ?? 0), f.quarantined + (f.earlier?.quarantined ?? 0)];
      expect(own, f.source).toEqual([r.inserted, r.updated, r.quarantined]);
    }
  }
  const counted = await openStore(victim);
  try {
    const runs = await counted.db
      .selectFrom('ingest_runs')
      .select((eb) => eb.fn.sum<number>('inserted').as('n'))
      .executeTakeFirstOrThrow();
    const matches = await counted.db
      .selectFrom('matches')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(runs.n)).toBe(Number(matches.n));
  } finally {
    await counted.close();
  }

  // README: "run it again and every row is reported unchanged" — after a kill and a resume too, and every time.
  for (let round = 0; round < 2; round++) {
    const third = await spawnCli(['--store', victim, 'collect', 'football-data', folder, '--chunk-size', '25']).done;
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/resuming/);
    expect(third.stdout).toContain('nothing changed: every row was already in the store');
    const json = await spawnCli(['--store', victim, 'collect', 'football-data', folder, '--json']).done;
    const totals = (JSON.parse(json.stdout) as CollectJson).totals;
    expect([totals.inserted, totals.updated, totals.unchanged + totals.quarantined]).toEqual([0, 0, totals.rowsRead]);
  }

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
  return reference;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`crash safety on ${dialect.name}`, () => {
    it('SIGKILL mid-collect, then collect again: same store as one uninterrupted run', async () => {
      await killResumeAndCompare(dialect, inputFolder());
    });

    it('the same for a fixtures file of many divisions and seasons, and the results that follow it', async () => {
      const reference = await killResumeAndCompare(dialect, fixturesFolder());
      const s = await openStore(reference);
      try {
        const seasons = await s.db
          .selectFrom('matches as m')
          .innerJoin('competitions as c', 'c.id', 'm.competition_id')
          .select(['c.code', 'm.season', 'm.status'])
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .groupBy(['c.code', 'm.season', 'm.status'])
          .execute();
        const count = (code: string, season: string, status: string) =>
          Number(seasons.find((x) => x.code === code && x.season === season && x.status === status)?.n ?? 0);
        expect(count('E0', '2020-2021', 'finished')).toBe(20);
        expect(count('E0', '2020-2021', 'scheduled')).toBe(0);
        expect(count('E1', '2019-2020', 'scheduled')).toBe(10);
        expect(count('E0', '2059-2060', 'scheduled')).toBe(20);
        expect(count('E1', '2058-2059', 'scheduled') + count('E1', '2054-2055', 'scheduled')).toBe(10 + 9); // copy 35 lost a row to X9
        expect(await s.db.selectFrom('quarantine').select('reason').execute()).toHaveLength(4);
        const fulham = await s.db
          .selectFrom('matches as m')
          .innerJoin('teams as h', 'h.id', 'm.home_team_id')
          .select(['m.date', 'm.status'])
          .where('h.name', '=', 'Fulham')
          .where('m.season', '=', '2020-2021')
          .execute();
        expect(fulham).toEqual([{ date: '2020-09-15', status: 'finished' }]);
      } finally {
        await s.close();
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
      const matches = await s.db
        .selectFrom('matches')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
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
