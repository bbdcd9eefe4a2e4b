// `collect football-data` emitting match_finished, on SQLite and PostgreSQL: a results file that turns stored fixtures
// into results emits one event per match so finished (a rescheduled one too), in the chunk's transaction; matches it
// inserts with their result, a second collect of it, a corrected score and a historical backfill emit none.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, runCli, type CliResult } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const UPCOMING = path.join(FIXTURES, 'upcoming');
/** Fixtures the trimmed fixtures file leaves out: the results file inserts them already played. */
const LEFT_OUT = ['Wolves,Man City', 'Brighton,Man United', 'Crystal Palace,Everton'];
/** The keys of a feed's match_finished payload (src/ingest/feeds/apply.ts), which a file's event must have too. */
const FEED_KEYS = [
  'matchId',
  'competition',
  'season',
  'date',
  'homeTeam',
  'awayTeam',
  'homeGoals',
  'awayGoals',
  'provider',
  'providerMatchId',
  'providerStatus',
];

const ok = (r: CliResult, what: string) => {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  return r;
};

/** fixtures.csv without the LEFT_OUT rows, and the E0 results with Fulham v Arsenal played three days late. */
function inputs(): { fixtures: string; results: string } {
  const dir = tempDir();
  const lines = readFileSync(path.join(UPCOMING, 'fixtures.csv'), 'latin1').split('\r\n');
  const fixtures = path.join(dir, 'fixtures.csv');
  writeFileSync(fixtures, lines.filter((l) => !LEFT_OUT.some((p) => l.includes(`,${p},`))).join('\r\n'), 'latin1');
  expect(readFileSync(fixtures, 'latin1').split('\r\n').length).toBe(lines.length - 3);
  const original = readFileSync(path.join(UPCOMING, 'E0_2020-2021.csv'), 'latin1');
  const results = path.join(dir, 'E0_2020-2021.csv');
  const postponed = original.replace('E0,12/09/2020,12:30,Fulham,Arsenal,', 'E0,15/09/2020,19:45,Fulham,Arsenal,');
  expect(postponed).not.toBe(original);
  writeFileSync(results, postponed, 'latin1');
  return { fixtures, results };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`collect football-data emits match_finished on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] collect match_finished on ${dialect.name} skipped: service not available`);
    let store: Store;
    const location = dialect.newLocation();
    const cli = (...argv: string[]) => runCli(['--store', location, ...argv]);
    const events = async () =>
      (await store.db.selectFrom('events').select(['match_id', 'dedupe_key', 'payload', 'type']).orderBy('id').execute()).map((e) => ({
        ...e,
        match_id: Number(e.match_id),
        payload: JSON.parse(e.payload) as Record<string, unknown>,
      }));
    const e0 = async (status: string) =>
      (
        await store.db
          .selectFrom('matches as m')
          .innerJoin('competitions as c', 'c.id', 'm.competition_id')
          .select('m.id')
          .where('c.code', '=', 'E0')
          .where('m.season', '=', '2020-2021')
          .where('m.status', '=', status)
          .execute()
      )
        .map((r) => Number(r.id))
        .sort((a, b) => a - b);

    beforeAll(async () => {
      store = await openStore(location);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('a results file finishing stored fixtures: one event each, none for the matches it inserts played; again: none', async () => {
      const { fixtures, results } = inputs();
      ok(await cli('collect', 'football-data', fixtures, '-q'), 'collect fixtures');
      expect(await events()).toEqual([]);
      const scheduled = await e0('scheduled');
      expect(scheduled).toHaveLength(17);

      // Small chunks: the events of one file are written by several transactions.
      const first = ok(await cli('collect', 'football-data', results, '--chunk-size', '3', '--json'), 'collect results').json<{
        totals: { inserted: number; updated: number };
      }>();
      expect(first.totals).toMatchObject({ inserted: 3, updated: 17 });
      const emitted = await events();
      expect(emitted.map((e) => e.match_id).sort((a, b) => a - b)).toEqual(scheduled);
      expect(new Set(emitted.map((e) => e.dedupe_key)).size).toBe(17);
      for (const e of emitted) {
        expect(e.type).toBe('match_finished');
        expect(e.dedupe_key).toBe(`match_finished:${e.match_id}`);
        expect(Object.keys(e.payload).sort()).toEqual([...FEED_KEYS, 'source'].sort());
      }
      const finished = await e0('finished');
      expect(finished).toHaveLength(20);
      const insertedPlayed = finished.filter((id) => !scheduled.includes(id));
      expect(insertedPlayed).toHaveLength(3);
      expect(emitted.filter((e) => insertedPlayed.includes(e.match_id))).toEqual([]);

      // The rescheduled match kept its id, moved to its played date, and says where the result came from.
      const fulham = await store.db
        .selectFrom('matches as m')
        .innerJoin('teams as h', 'h.id', 'm.home_team_id')
        .select(['m.id', 'm.date'])
        .where('h.name', '=', 'Fulham')
        .where('m.season', '=', '2020-2021')
        .executeTakeFirstOrThrow();
      expect(String(fulham.date).slice(0, 10)).toBe('2020-09-15');
      expect(emitted.find((e) => e.match_id === Number(fulham.id))!.payload).toEqual({
        matchId: Number(fulham.id),
        competition: 'E0',
        season: '2020-2021',
        date: '2020-09-15',
        homeTeam: 'Fulham',
        awayTeam: 'Arsenal',
        homeGoals: 0,
        awayGoals: 3,
        provider: null,
        providerMatchId: null,
        providerStatus: null,
        source: { kind: 'football-data', file: results },
      });

      // The same file again: every row unchanged, no event.
      const again = ok(await cli('collect', 'football-data', results), 'collect results again');
      expect(again.stdout).toContain('nothing changed');
      expect(await events()).toEqual(emitted);

      // A corrected score of a finished match is written, but the match finished once: no second event, the first kept.
      const corrected = path.join(path.dirname(results), 'corrected', 'E0_2020-2021.csv');
      const text = readFileSync(results, 'latin1');
      const fixed = text.replace('E0,12/09/2020,17:30,Liverpool,Leeds,4,3,H,', 'E0,12/09/2020,17:30,Liverpool,Leeds,5,3,H,');
      expect(fixed).not.toBe(text);
      mkdirSync(path.dirname(corrected));
      writeFileSync(corrected, fixed, 'latin1');
      const third = ok(await cli('collect', 'football-data', corrected, '--json'), 'collect corrected').json<{ totals: { updated: number } }>();
      expect(third.totals.updated).toBe(1);
      expect(await events()).toEqual(emitted);
    });

    it("predictions refresh consumes the events a results file emitted, like a feed's", async () => {
      const cwd = tempDir();
      const here = dialect.newLocation();
      const run = (...argv: string[]) => runCli(['--store', here, ...argv], { cwd });
      ok(await run('collect', 'football-data', path.join(FIXTURES, 'full'), path.join(UPCOMING, 'fixtures.csv'), '-q'), 'collect');
      const trained = ok(
        await run('train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--train-until', '2020-07-31', '--seed', '7', '--json'),
        'train',
      ).json<{ runId: number }>();
      ok(await run('register', '--run', String(trained.runId), '--name', 'oracx-e0', '--alias', 'champion', '--registry', 'local'), 'register');
      ok(await run('predict', '--model', 'oracx-e0@champion', '--competitions', 'E0', '--registry', 'local', '--json'), 'predict');
      // Round 1 (the first 8 results) is played.
      const round1 = path.join(cwd, 'E0_2020-2021.csv');
      writeFileSync(round1, readFileSync(path.join(UPCOMING, 'E0_2020-2021.csv'), 'latin1').split('\r\n').slice(0, 9).join('\r\n'), 'latin1');
      ok(await run('collect', 'football-data', round1, '-q'), 'collect round 1');
      const refresh = async () =>
        ok(await run('predictions', 'refresh', '--model', 'models:/oracx-e0@champion', '--registry', 'local', '--json'), 'refresh').json<{
          events: number;
          refreshed: number;
          skipped: unknown[];
        }>();
      const first = await refresh();
      expect(first).toMatchObject({ events: 8, skipped: [] });
      // Coming matches of the teams that played are predicted again, each with its prediction_updated.
      expect(first.refreshed).toBeGreaterThan(0);
      const s = await openStore(here);
      try {
        const updated = await s.db.selectFrom('events').select('id').where('type', '=', 'prediction_updated').execute();
        expect(updated).toHaveLength(first.refreshed);
      } finally {
        await s.close();
      }
      expect(await refresh()).toMatchObject({ events: 0, refreshed: 0 });
    }, 240_000);

    it('a historical backfill (every match inserted with its result) emits nothing', async () => {
      const backfill = dialect.newLocation();
      ok(await runCli(['--store', backfill, 'collect', 'football-data', path.join(FIXTURES, 'full'), '-q']), 'backfill');
      const s = await openStore(backfill);
      try {
        const n = await s.db
          .selectFrom('matches')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(n.n)).toBeGreaterThan(1000);
        expect(await s.db.selectFrom('events').selectAll().execute()).toEqual([]);
      } finally {
        await s.close();
      }
    });
  });
}
