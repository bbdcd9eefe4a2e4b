// Store behaviour, run against every dialect: migrations, idempotent chunk writes, quarantine, aliases.
import { afterEach, describe, expect, it } from 'vitest';
import { hashMatch } from '../../src/ingest/hash.js';
import type { Store } from '../../src/store/connect.js';
import type { ChunkWrite, MatchWrite } from '../../src/store/ingest-writer.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';
import { migrations } from '../../src/store/migrations/index.js';
import { quote, record } from '../helpers/records.js';
import type { MatchRecord } from '../../src/ingest/football-data/types.js';

const write = (r: MatchRecord, exactKeyOnly = false): MatchWrite => ({ record: r, hash: hashMatch(r), exactKeyOnly });
/** An unplayed match (a fixtures file's row): no score, pre-match odds only. */
const fixture = (overrides: Partial<MatchRecord> = {}): MatchRecord =>
  record({ status: 'scheduled', fthg: null, ftag: null, ftr: null, hthg: null, htag: null, htr: null, referee: null, odds: [quote()], ...overrides });

async function matchRows(store: Store) {
  return store.db.selectFrom('matches').select(['id', 'date', 'status', 'fthg', 'ftag', 'kickoff_time']).orderBy('id').execute();
}

async function newRun(store: Store, source = '/data/E0.csv'): Promise<number> {
  const run = await store.db
    .insertInto('ingest_runs')
    .values({ source, source_kind: 'football-data', file_hash: 'h1', status: 'running' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(run.id);
}

function chunk(runId: number, matches: MatchWrite[], extra: Partial<ChunkWrite> = {}): ChunkWrite {
  return {
    runId,
    source: '/data/E0.csv',
    sourceKind: 'football-data',
    fileHash: 'h1',
    matches,
    bad: [],
    supersedeQuarantine: false,
    lastLine: 10,
    rowsRead: matches.length,
    before: { rowsRead: 0, inserted: 0, updated: 0, unchanged: 0, quarantined: 0 },
    ...extra,
  };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`store on ${dialect.name}`, () => {
    let store: Store | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('applies the migrations once and reports them as applied', async () => {
      const { openStore } = await import('../../src/store/connect.js');
      store = await openStore(dialect.newLocation());
      const names = Object.keys(migrations(dialect.name));
      expect(names.slice(0, 2)).toEqual(['0001_initial', '0002_models']);
      expect((await store.migrationStatus()).map((m) => m.applied)).toEqual(names.map(() => false));
      expect((await store.migrate()).applied).toEqual(names);
      expect((await store.migrate()).applied).toEqual([]);
      const status = await store.migrationStatus();
      expect(status.map((m) => m.name)).toEqual(names);
      for (const m of status) {
        expect(m.applied).toBe(true);
        expect(m.executedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      }
    });

    it('inserts, then reports unchanged, then updates exactly the changed row and replaces its odds', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      const a = record();
      const b = record({ date: '2019-08-10', homeTeam: 'West Ham', awayTeam: 'Man City', fthg: 0, ftag: 5, ftr: 'A', hthg: 0, htag: 1, htr: 'A' });
      expect(await store.writer.writeChunk(chunk(runId, [write(a), write(b)]))).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
      expect(await store.writer.writeChunk(chunk(runId, [write(a), write(b)]))).toEqual({ inserted: 0, updated: 0, unchanged: 2 });

      const corrected = record({ referee: 'A Taylor', odds: [quote({ home: 1.2 })] });
      expect(await store.writer.writeChunk(chunk(runId, [write(corrected), write(b)]))).toEqual({ inserted: 0, updated: 1, unchanged: 1 });

      const rows = await store.db.selectFrom('matches').select(['id', 'referee', 'fthg', 'ftag']).orderBy('date').execute();
      expect(rows.map((r) => r.referee)).toEqual(['A Taylor', 'M Oliver']);
      const odds = await store.db.selectFrom('odds').select(['match_id', 'bookmaker', 'home']).where('match_id', '=', rows[0]!.id).execute();
      expect(odds).toEqual([{ match_id: rows[0]!.id, bookmaker: 'B365', home: 1.2 }]);
      expect(
        Number(
          (
            await store.db
              .selectFrom('odds')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        ),
      ).toBe(3);
    });

    it('turns scheduled matches into finished ones on the same key, keeping their ids; a fixture never undoes a result', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      const a = fixture();
      const b = fixture({ date: '2019-08-10', homeTeam: 'West Ham', awayTeam: 'Man City' });
      expect(await store.writer.writeChunk(chunk(runId, [write(a), write(b)]))).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
      const before = await matchRows(store);
      expect(before.map((m) => m.status)).toEqual(['scheduled', 'scheduled']);

      const result = record({ date: '2019-08-10', homeTeam: 'West Ham', awayTeam: 'Man City', fthg: 0, ftag: 5, ftr: 'A', hthg: 0, htag: 1, htr: 'A' });
      expect(await store.writer.writeChunk(chunk(runId, [write(record()), write(result)]))).toEqual({ inserted: 0, updated: 2, unchanged: 0 });
      const after = await matchRows(store);
      expect(after.map((m) => m.id)).toEqual(before.map((m) => m.id));
      expect(after.map((m) => [m.status, m.fthg, m.ftag])).toEqual([
        ['finished', 4, 1],
        ['finished', 0, 5],
      ]);
      // The result's odds (pre-match and closing) replaced the fixture's.
      expect(await store.db.selectFrom('odds').select('kind').where('match_id', '=', after[0]!.id).orderBy('kind').execute()).toEqual([
        { kind: 'closing' },
        { kind: 'pre' },
      ]);

      // The old fixtures file collected again changes nothing.
      expect(await store.writer.writeChunk(chunk(runId, [write(a), write(b)]))).toEqual({ inserted: 0, updated: 0, unchanged: 2 });
      expect(await matchRows(store)).toEqual(after);
    });

    it('moves a rescheduled match to its new date (fixture or result), keeping its id and replacing its odds', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      await store.writer.writeChunk(chunk(runId, [write(fixture()), write(fixture({ homeTeam: 'Norwich', awayTeam: 'Liverpool', date: '2020-02-01' }))]));
      const [first, reverse] = await matchRows(store);

      // A newer fixtures file has the match a week later, at another time.
      const moved = fixture({ date: '2019-08-16', time: '12:30', odds: [quote({ home: 1.5 })] });
      expect(await store.writer.writeChunk(chunk(runId, [write(moved)]))).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
      // …and the result comes on yet another date.
      const played = record({ date: '2019-08-17' });
      expect(await store.writer.writeChunk(chunk(runId, [write(played)]))).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
      const rows = await matchRows(store);
      expect(rows).toEqual([{ id: first!.id, date: '2019-08-17', status: 'finished', fthg: 4, ftag: 1, kickoff_time: '20:00' }, reverse]);
      const odds = await store.db.selectFrom('odds').select(['bookmaker', 'kind', 'home']).where('match_id', '=', first!.id).orderBy('kind').execute();
      expect(odds).toEqual([
        { bookmaker: 'PS', kind: 'closing', home: 1.14 },
        { bookmaker: 'B365', kind: 'pre', home: 2.1 },
      ]);
      expect(await store.writer.writeChunk(chunk(runId, [write(played)]))).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
    });

    it('does not merge two played matches of a pairing, ambiguous fixtures, or a stale fixture', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      // Leagues that play a pairing twice in a season (the Scottish ones): two results, two matches.
      const second = record({ date: '2020-01-11', fthg: 0, ftag: 0, ftr: 'D', hthg: 0, htag: 0, htr: 'D' });
      expect(await store.writer.writeChunk(chunk(runId, [write(record()), write(second)]))).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
      // A fixture dated before a result of its pairing was played later: stale, nothing written.
      expect(await store.writer.writeChunk(chunk(runId, [write(fixture({ date: '2019-12-28' }))]))).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
      // One dated after both results is a third meeting.
      expect(await store.writer.writeChunk(chunk(runId, [write(fixture({ date: '2020-04-04' }))]))).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      // Two fixtures of the pairing: a result on a new date cannot tell which one moved, so it is a new match.
      expect(await store.writer.writeChunk(chunk(runId, [write(fixture({ date: '2020-05-02' }), true)]))).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      expect(await store.writer.writeChunk(chunk(runId, [write(record({ date: '2020-04-25' }))]))).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      const rows = await matchRows(store);
      expect(rows.map((m) => `${m.date} ${m.status}`)).toEqual([
        '2019-08-09 finished',
        '2020-01-11 finished',
        '2020-04-04 scheduled',
        '2020-05-02 scheduled',
        '2020-04-25 finished',
      ]);
    });

    it("frees a moved match's old key within one chunk for a row that is inserted on it", async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      await store.writer.writeChunk(chunk(runId, [write(fixture({ date: '2019-08-10' }))]));
      const [old] = await matchRows(store);
      // Row 1 moves the fixture to the 17th; row 2 (the file's second fixture of the pairing) goes on the 10th.
      const rows = [write(fixture({ date: '2019-08-17' })), write(fixture({ date: '2019-08-10', time: '15:00' }), true)];
      expect(await store.writer.writeChunk(chunk(runId, rows))).toEqual({ inserted: 1, updated: 1, unchanged: 0 });
      expect((await matchRows(store)).map((m) => [m.id === old!.id, m.date, m.kickoff_time])).toEqual([
        [true, '2019-08-17', '20:00'],
        [false, '2019-08-10', '15:00'],
      ]);
    });

    it('keeps one canonical team per alias, case-insensitively', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      await store.writer.writeChunk(chunk(runId, [write(record()), write(record({ date: '2019-09-01', homeTeam: 'NORWICH', awayTeam: 'liverpool' }))]));
      const teams = await store.db.selectFrom('teams').select('name').orderBy('name').execute();
      expect(teams.map((t) => t.name)).toEqual(['Liverpool', 'Norwich']);
      const aliases = await store.db.selectFrom('team_aliases').select('alias').orderBy('alias').execute();
      expect(aliases.map((a) => a.alias)).toEqual(['liverpool', 'norwich']);
    });

    it('writes quarantine rows once per source line and checkpoints the run in the same transaction', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      const bad = [{ line: 7, raw: 'E0,31/02/19,A,B', reason: 'invalid date: "31/02/19"' }];
      await store.writer.writeChunk(chunk(runId, [], { bad, lastLine: 7, rowsRead: 1 }));
      await store.writer.writeChunk(chunk(runId, [], { bad, lastLine: 7, rowsRead: 1 }));
      const rows = await store.db.selectFrom('quarantine').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ line: 7, reason: 'invalid date: "31/02/19"', source: '/data/E0.csv' });
      const run = await store.db.selectFrom('ingest_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      expect(run).toMatchObject({ last_line: 7, rows_read: 1, quarantined: 1 });

      // A new version of the file supersedes the old version's quarantine rows.
      await store.writer.writeChunk(chunk(runId, [], { fileHash: 'h2', supersedeQuarantine: true }));
      expect(await store.db.selectFrom('quarantine').selectAll().execute()).toHaveLength(0);
    });

    it('rolls a failing chunk back completely', async () => {
      store = await freshStore(dialect);
      const runId = await newRun(store);
      const broken = record({ status: 'bogus' as MatchRecord['status'] }); // violates the status check constraint
      await expect(store.writer.writeChunk(chunk(runId, [write(record({ date: '2019-08-20' })), write(broken)]))).rejects.toThrow();
      expect(await store.db.selectFrom('matches').selectAll().execute()).toHaveLength(0);
      expect(await store.db.selectFrom('teams').selectAll().execute()).toHaveLength(0);
      // The writer recovers: the next chunk resolves teams again.
      expect(await store.writer.writeChunk(chunk(runId, [write(record())]))).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
    });
  });
}

describe.skipIf(!DIALECTS[1]!.available)('concurrent files on PostgreSQL', () => {
  it('two chunks with the same matches written at once: one inserts, the other sees them unchanged', async () => {
    const store = await freshStore(DIALECTS[1]!);
    try {
      const runA = await newRun(store, '/data/a.csv');
      const runB = await newRun(store, '/data/b.csv');
      const rows = Array.from({ length: 40 }, (_, i) =>
        write(record({ date: `2019-09-${String((i % 28) + 1).padStart(2, '0')}`, homeTeam: `Home ${i}`, awayTeam: `Away ${i}` })),
      );
      const [a, b] = await Promise.all([
        store.writer.writeChunk(chunk(runA, rows, { source: '/data/a.csv' })),
        store.writer.writeChunk(chunk(runB, rows, { source: '/data/b.csv' })),
      ]);
      expect(a.inserted + b.inserted).toBe(40);
      expect(a.unchanged + b.unchanged).toBe(40);
      expect(await store.db.selectFrom('matches').selectAll().execute()).toHaveLength(40);
      expect(await store.db.selectFrom('teams').selectAll().execute()).toHaveLength(80);
    } finally {
      await store.close();
    }
  });

  it('two chunks moving the same fixture at once: one moves it, the other does not merge into the result', async () => {
    const store = await freshStore(DIALECTS[1]!);
    try {
      const pairs = Array.from({ length: 200 }, (_, i) => ({ homeTeam: `Home ${i}`, awayTeam: `Away ${i}` }));
      const fixtures = pairs.map((p) => write(fixture({ ...p, date: '2019-09-07' })));
      await store.writer.writeChunk(chunk(await newRun(store), fixtures));
      const ids = (await matchRows(store)).map((m) => m.id);
      const played = (date: string) => pairs.map((p) => write(record({ ...p, date })));
      const runA = await newRun(store, '/data/a.csv');
      const runB = await newRun(store, '/data/b.csv');
      const [a, b] = await Promise.all([
        store.writer.writeChunk(chunk(runA, played('2019-09-14'), { source: '/data/a.csv' })),
        store.writer.writeChunk(chunk(runB, played('2019-09-21'), { source: '/data/b.csv' })),
      ]);
      // Each fixture became exactly one of the two results; the other result is a match of its own.
      expect(a.updated + b.updated).toBe(200);
      expect(a.inserted + b.inserted).toBe(200);
      const rows = await matchRows(store);
      expect(rows).toHaveLength(400);
      expect(rows.every((m) => m.status === 'finished')).toBe(true);
      expect(rows.filter((m) => ids.includes(m.id)).every((m) => m.date !== '2019-09-07')).toBe(true);
    } finally {
      await store.close();
    }
  });
});
