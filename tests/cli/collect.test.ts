// `collect football-data`, `matches list` and `data report` in-process, on every dialect.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CollectResult } from '../../pipelines/collect.js';
import type { MatchPage } from '../../pipelines/matches.js';
import type { DataReport } from '../../pipelines/report.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { dumpStore } from '../helpers/dump.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const FULL = path.join(FIXTURES, 'full');
const QUIRKS = path.join(FIXTURES, 'quirks');
const UPCOMING = path.join(FIXTURES, 'upcoming');
const FIXTURES_CSV = path.join(UPCOMING, 'fixtures.csv');
const RESULTS_CSV = path.join(UPCOMING, 'E0_2020-2021.csv');

/** Every stored match with its codes and names, by id. */
async function storedMatches(location: string) {
  const s = await openStore(location);
  try {
    return await s.db
      .selectFrom('matches as m')
      .innerJoin('competitions as c', 'c.id', 'm.competition_id')
      .innerJoin('teams as h', 'h.id', 'm.home_team_id')
      .innerJoin('teams as a', 'a.id', 'm.away_team_id')
      .select([
        'm.id',
        'c.code',
        'c.name as league',
        'm.season',
        'm.date',
        'm.kickoff_time',
        'h.name as home',
        'a.name as away',
        'm.status',
        'm.fthg',
        'm.ftag',
      ])
      .select((eb) => [
        eb.selectFrom('odds as o').whereRef('o.match_id', '=', 'm.id').where('o.kind', '=', 'pre').select(eb.fn.countAll<number>().as('n')).as('pre'),
        eb.selectFrom('odds as o').whereRef('o.match_id', '=', 'm.id').where('o.kind', '=', 'closing').select(eb.fn.countAll<number>().as('n')).as('closing'),
      ])
      .orderBy('m.id')
      .execute();
  } finally {
    await s.close();
  }
}

/** A copy of `file` under `name` in a temp folder, with `edit` applied to its lines (CRLF kept). */
function editedCopy(file: string, name: string, edit: (lines: string[]) => void): string {
  const lines = readFileSync(file, 'latin1').split('\r\n');
  edit(lines);
  const out = path.join(tempDir(), name);
  writeFileSync(out, lines.join('\r\n'), 'latin1');
  return out;
}
/** Data lines (non-empty, not all commas) of a CSV: what a file should yield as matches + quarantine. */
const dataLines = (file: string) =>
  readFileSync(file, 'latin1')
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => l.replace(/[,\s]/g, '') !== '').length;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`collect on ${dialect.name}`, () => {
    const cli = (store: string, args: string[], extra: Parameters<typeof runCli>[1] = {}) => runCli(['--store', store, ...args], { cwd: tempDir(), ...extra });

    it('ingests a folder, then reports every row unchanged on a second run', async () => {
      const store = dialect.newLocation();
      const first = await cli(store, ['collect', 'football-data', FULL, '--json']);
      expect(first.code, first.stderr).toBe(0);
      const a = first.json<CollectResult>();
      expect(a.files).toHaveLength(3);
      for (const f of a.files) {
        expect(f.status).toBe('completed');
        expect(f.inserted).toBe(dataLines(f.source));
        expect(f.quarantined).toBe(0);
      }
      expect(a.totals.inserted).toBe(1140);

      const second = await cli(store, ['collect', 'football-data', FULL, '--json']);
      const b = second.json<CollectResult>();
      expect(b.totals).toMatchObject({ inserted: 0, updated: 0, unchanged: 1140, quarantined: 0 });

      const human = await cli(store, ['collect', 'football-data', FULL]);
      expect(human.stdout).toContain('nothing changed');
      const s = await openStore(store);
      try {
        expect(await s.db.selectFrom('competitions').select(['code', 'name']).execute()).toEqual([{ code: 'E0', name: 'English Premier League' }]);
      } finally {
        await s.close();
      }
      expect(human.stdout).toMatch(/E0_2019-2020\.csv.*completed/);
    });

    it('updates exactly the rows a corrected file changes', async () => {
      const store = dialect.newLocation();
      const dir = tempDir();
      const file = path.join(dir, 'E0_2018-2019.csv');
      copyFileSync(path.join(FULL, 'E0_2018-2019.csv'), file);
      expect((await cli(store, ['collect', 'football-data', file])).code).toBe(0);
      const lines = readFileSync(file, 'latin1').split('\n');
      // Correct the referee of two matches (field 10 in this file's header) and one price.
      const fields = (i: number) => lines[i]!.split(',');
      const header = fields(0);
      const refCol = header.indexOf('Referee');
      const b365 = header.indexOf('B365H');
      for (const i of [5, 17]) {
        const f = fields(i);
        f[refCol] = 'Z Corrected';
        lines[i] = f.join(',');
      }
      const g = fields(30);
      g[b365] = '9.99';
      lines[30] = g.join(',');
      writeFileSync(file, lines.join('\n'), 'latin1');
      const r = await cli(store, ['collect', 'football-data', file, '--json']);
      expect(r.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 3, unchanged: 377 });
      const s = await openStore(store);
      try {
        const refs = await s.db.selectFrom('matches').select('referee').where('referee', '=', 'Z Corrected').execute();
        expect(refs).toHaveLength(2);
        const price = await s.db
          .selectFrom('odds')
          .select('home')
          .where('bookmaker', '=', 'B365')
          .where('market', '=', '1x2')
          .where('kind', '=', 'pre')
          .where('home', '=', 9.99)
          .execute();
        expect(price).toHaveLength(1);
      } finally {
        await s.close();
      }
    });

    it('quarantines bad rows with file and line, keeps the good ones, and --strict exits 1 after writing', async () => {
      const store = dialect.newLocation();
      const file = path.join(QUIRKS, 'bad_rows.csv');
      const r = await cli(store, ['collect', 'football-data', file, '--strict', '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--strict: \d+ row\(s\) quarantined/);
      const result = r.json<CollectResult>();
      expect(result.totals.quarantined).toBeGreaterThanOrEqual(5);
      expect(result.totals.inserted + result.totals.quarantined).toBe(dataLines(file));

      const report = (await cli(store, ['data', 'report', '--json'])).json<DataReport>();
      expect(report.totals.quarantined).toBe(result.totals.quarantined);
      expect(report.quarantineByReason.map((q) => q.reason)).toEqual(expect.arrayContaining(['invalid date', 'result mismatch']));
      const s = await openStore(store);
      try {
        const rows = await s.db.selectFrom('quarantine').selectAll().orderBy('line').execute();
        expect(rows[0]!.source).toBe(file);
        expect(rows[0]!.line).toBeGreaterThan(1);
        const original = readFileSync(file, 'latin1').split(/\r?\n/);
        for (const row of rows) expect(original[row.line - 1]).toBe(row.raw);
      } finally {
        await s.close();
      }
      // Without --strict the same file is fine (and changes nothing).
      const again = await cli(store, ['collect', 'football-data', file, '--json']);
      expect(again.code).toBe(0);
      expect(again.json<CollectResult>().totals.inserted).toBe(0);
    });

    it('lists matches with filters, sort, paging, JSON and CSV', async () => {
      const store = dialect.newLocation();
      expect((await cli(store, ['collect', 'football-data', FULL])).code).toBe(0);
      const page = (
        await cli(store, ['matches', 'list', '--competition', 'E0', '--season', '2019-2020', '--team', 'arsenal', '--sort', 'date', '--limit', '20', '--json'])
      ).json<MatchPage>();
      expect(page.total).toBe(38);
      expect(page.items).toHaveLength(20);
      expect(page.items.every((m) => m.home === 'Arsenal' || m.away === 'Arsenal')).toBe(true);
      const dates = page.items.map((m) => m.date);
      expect([...dates].sort()).toEqual(dates);
      expect(page.nextCursor).not.toBeNull();

      const next = (
        await cli(store, [
          'matches',
          'list',
          '--competition',
          'E0',
          '--season',
          '2019-2020',
          '--team',
          'Arsenal',
          '--limit',
          '20',
          '--cursor',
          page.nextCursor!,
          '--json',
        ])
      ).json<MatchPage>();
      expect(next.items).toHaveLength(18);
      expect(next.nextCursor).toBeNull();
      expect(new Set([...page.items, ...next.items].map((m) => m.id)).size).toBe(38);

      const byOffset = (
        await cli(store, ['matches', 'list', '--team', 'Arsenal', '--season', '2019-2020', '--limit', '5', '--offset', '20', '--json'])
      ).json<MatchPage>();
      expect(byOffset.items.map((m) => m.id)).toEqual(next.items.slice(0, 5).map((m) => m.id));

      const july = (
        await cli(store, ['matches', 'list', '--from', '2020-07-01', '--to', '2020-07-31', '--sort', '-date', '--limit', '500', '--json'])
      ).json<MatchPage>();
      expect(july.total).toBeGreaterThan(0);
      expect(july.items.every((m) => m.date >= '2020-07-01' && m.date <= '2020-07-31' && m.season === '2019-2020')).toBe(true);
      expect(july.items[0]!.date >= july.items[july.items.length - 1]!.date).toBe(true);

      const csv = await cli(store, ['matches', 'list', '--season', '2017-2018', '--limit', '3', '--csv']);
      const csvLines = csv.stdout.trim().split('\n');
      expect(csvLines[0]).toBe('id,comp,season,date,time,home,away,FT,HT,status');
      expect(csvLines).toHaveLength(4);

      const table = await cli(store, ['matches', 'list', '--limit', '2']);
      expect(table.stdout).toMatch(/2 of 1140 match\(es\)/);

      const bad = await cli(store, ['matches', 'list', '--cursor', 'nonsense']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('invalid --cursor');
    });

    it('reports data quality per season and per file', async () => {
      const store = dialect.newLocation();
      expect((await cli(store, ['collect', 'football-data', FULL])).code).toBe(0);
      const report = (await cli(store, ['data', 'report', '--json'])).json<DataReport>();
      expect(report.totals.matches).toBe(1140);
      expect(report.seasons.map((s) => `${s.competition} ${s.season} ${s.matches}`)).toEqual(['E0 2017-2018 380', 'E0 2018-2019 380', 'E0 2019-2020 380']);
      expect(report.seasons.every((s) => s.teams === 20 && s.finished === 380 && s.league === 'English Premier League')).toBe(true);
      expect(report.files).toHaveLength(3);
      expect(report.files.every((f) => f.status === 'completed')).toBe(true);
      // Project Restart: 2019-20 finished in July 2020, outside the usual window.
      expect(report.anomalies.seasonWindow).toBeGreaterThan(0);
      expect(report.anomalies.examples.some((e) => e.kind === 'season-window' && e.date.startsWith('2020-07'))).toBe(true);
      const human = await cli(store, ['data', 'report']);
      expect(human.stdout).toContain('E0');
      expect(human.stdout).toContain('duplicate keys: 0');
    });

    it('collects a fixtures file: unplayed matches of each division with their pre-match odds and seasons; idempotent', async () => {
      const store = dialect.newLocation();
      const first = await cli(store, ['collect', 'football-data', FIXTURES_CSV, '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.json<CollectResult>().totals).toMatchObject({ rowsRead: 30, inserted: 30, updated: 0, unchanged: 0, quarantined: 0 });
      const rows = await storedMatches(store);
      expect(rows.map((m) => `${m.code} ${m.season}`)).toEqual([...Array(10).fill('E1 2019-2020'), ...Array(20).fill('E0 2020-2021')]);
      expect(new Set(rows.map((m) => m.league))).toEqual(new Set(['English Championship', 'English Premier League']));
      for (const m of rows) {
        expect(m).toMatchObject({ status: 'scheduled', fthg: null, ftag: null, closing: 0 });
        expect(Number(m.pre)).toBeGreaterThan(10);
        expect(m.kickoff_time).toMatch(/^\d{2}:\d{2}$/);
      }
      expect(rows[10]).toMatchObject({ date: '2020-09-12', kickoff_time: '12:30', home: 'Fulham', away: 'Arsenal' });

      const again = await cli(store, ['collect', 'football-data', FIXTURES_CSV, '--json']);
      expect(again.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 0, unchanged: 30, quarantined: 0 });
      expect(await storedMatches(store)).toEqual(rows);
    });

    it('a later results file turns the fixtures into finished matches with the same ids; old fixtures change nothing', async () => {
      const store = dialect.newLocation();
      expect((await cli(store, ['collect', 'football-data', FIXTURES_CSV])).code).toBe(0);
      const fixtures = await storedMatches(store);
      const results = await cli(store, ['collect', 'football-data', RESULTS_CSV, '--json']);
      expect(results.code, results.stderr).toBe(0);
      expect(results.json<CollectResult>().totals).toMatchObject({ rowsRead: 20, inserted: 0, updated: 20, unchanged: 0 });

      const after = await storedMatches(store);
      expect(after.map((m) => m.id)).toEqual(fixtures.map((m) => m.id));
      const source = readFileSync(RESULTS_CSV, 'latin1')
        .split('\r\n')
        .slice(1, 21)
        .map((l) => l.split(','));
      const e0 = after.filter((m) => m.code === 'E0');
      expect(e0.map((m) => [m.home, m.away, m.status, m.fthg, m.ftag])).toEqual(source.map((f) => [f[3], f[4], 'finished', Number(f[5]), Number(f[6])]));
      expect(e0.every((m) => Number(m.closing) > 0)).toBe(true);
      expect(after.filter((m) => m.code === 'E1')).toEqual(fixtures.filter((m) => m.code === 'E1'));

      // The fixtures file collected again (as in a folder of both, read in name order) leaves the results alone.
      const old = await cli(store, ['collect', 'football-data', FIXTURES_CSV, '--json']);
      expect(old.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 0, unchanged: 30 });
      const folder = await cli(store, ['collect', 'football-data', UPCOMING, '--json']);
      expect(folder.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 0, unchanged: 50 });
      expect(await storedMatches(store)).toEqual(after);
    });

    it('a match played on another date than its fixture keeps its id (rescheduled)', async () => {
      const store = dialect.newLocation();
      expect((await cli(store, ['collect', 'football-data', FIXTURES_CSV])).code).toBe(0);
      const before = (await storedMatches(store)).find((m) => m.home === 'Fulham')!;
      // Fulham v Arsenal, 12/09/2020 12:30 in the fixtures, played on 15/09/2020 at 19:45 instead.
      const postponed = editedCopy(RESULTS_CSV, 'E0_2020-2021.csv', (lines) => {
        lines[1] = lines[1]!.replace('E0,12/09/2020,12:30,Fulham,Arsenal,', 'E0,15/09/2020,19:45,Fulham,Arsenal,');
      });
      const r = await cli(store, ['collect', 'football-data', postponed, '--json']);
      expect(r.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 20, unchanged: 0 });
      const rows = await storedMatches(store);
      expect(rows).toHaveLength(30);
      expect(rows.find((m) => m.home === 'Fulham')).toMatchObject({
        id: before.id,
        date: '2020-09-15',
        kickoff_time: '19:45',
        status: 'finished',
        fthg: 0,
        ftag: 3,
      });
      // Both files again: nothing moves back.
      const again = await cli(store, ['collect', 'football-data', FIXTURES_CSV, postponed, '--json']);
      expect(again.json<CollectResult>().totals).toMatchObject({ inserted: 0, updated: 0, unchanged: 50 });
    });

    it('quarantines a fixtures-file row of an unknown division and keeps the others', async () => {
      const store = dialect.newLocation();
      const file = editedCopy(FIXTURES_CSV, 'fixtures.csv', (lines) => {
        lines[4] = lines[4]!.replace(/^E1,/, 'X1,');
      });
      const r = await cli(store, ['collect', 'football-data', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<CollectResult>().totals).toMatchObject({ inserted: 29, quarantined: 1 });
      const report = (await cli(store, ['data', 'report', '--json'])).json<DataReport>();
      expect(report.quarantineByReason.map((q) => q.reason)).toEqual(['unknown division']);
      const s = await openStore(store);
      try {
        const [q] = await s.db.selectFrom('quarantine').selectAll().execute();
        expect(q).toMatchObject({ line: 5, source: file });
        expect(q!.reason).toMatch(/^unknown division: "X1" \(known: E0 E1 /);
      } finally {
        await s.close();
      }
    });

    it('reads stdin with -', async () => {
      const store = dialect.newLocation();
      const bytes = readFileSync(path.join(FULL, 'E0_2017-2018.csv'));
      const r = await cli(store, ['collect', 'football-data', '-', '--json'], { stdin: bytes });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<CollectResult>().totals.inserted).toBe(380);
      const page = (await cli(store, ['matches', 'list', '--json', '--limit', '1'])).json<MatchPage>();
      expect(page.items[0]!.season).toBe('2017-2018');
    });
  });
}

describe('collect: bad input leaves the store untouched', () => {
  const cases: [string, string, RegExp][] = [
    ['an empty file', 'empty.csv', /empty/i],
    ['a binary file', 'binary.csv', /binary/i],
    ['a CSV without Div/Date/HomeTeam/AwayTeam', 'no_div.csv', /lacks.*Div/],
    ['an unknown division code', 'unknown_div.csv', /XX/],
  ];
  for (const [what, name, message] of cases) {
    it(`${what}: one-line error naming the file, exit 1`, async () => {
      const dir = tempDir();
      expect((await runCli(['collect', 'football-data', path.join(FULL, 'E0_2017-2018.csv')], { cwd: dir })).code).toBe(0);
      const store = await openStore(path.join(dir, 'oracx.db'));
      const before = await dumpStore(store);
      await store.close();
      const r = await runCli(['collect', 'football-data', path.join(QUIRKS, name)], { cwd: dir });
      expect(r.code).toBe(1);
      const last = r.stderr.trim().split('\n').pop()!;
      expect(last).toMatch(/^oracx: /);
      expect(last).toContain(name);
      expect(last).toMatch(message);
      const after = await openStore(path.join(dir, 'oracx.db'));
      expect(await dumpStore(after)).toEqual(before);
      await after.close();
    });
  }

  it('a path that does not exist', async () => {
    const r = await runCli(['collect', 'football-data', 'no/such/file.csv'], { cwd: tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe('oracx: no/such/file.csv: no such file or folder — check the path');
  });

  it('one bad file among good ones: the good ones go in, exit 1 names the bad one', async () => {
    const dir = tempDir();
    const r = await runCli(['collect', 'football-data', path.join(QUIRKS, 'empty.csv'), path.join(FULL, 'E0_2017-2018.csv'), '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.json<CollectResult>().totals.inserted).toBe(380);
    expect(r.stderr).toContain('empty.csv');
  });

  it('a locked SQLite store: clear error, nothing lost', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'oracx.db');
    expect((await runCli(['collect', 'football-data', path.join(FULL, 'E0_2017-2018.csv')], { cwd: dir })).code).toBe(0);
    const { default: Database } = await import('better-sqlite3');
    const holder = new Database(file);
    holder.exec('begin exclusive');
    try {
      const r = await runCli(['collect', 'football-data', path.join(FULL, 'E0_2018-2019.csv')], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').pop()).toMatch(/oracx: SQLite store .*oracx\.db is locked by another process/);
    } finally {
      holder.exec('rollback');
      holder.close();
    }
    const after = await runCli(['matches', 'list', '--json', '--limit', '1'], { cwd: dir });
    expect(after.json<MatchPage>().total).toBe(380);
  });
});
