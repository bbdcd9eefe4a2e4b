// Store behaviour, run against every dialect: migrations, idempotent chunk writes, quarantine, aliases.
import { afterEach, describe, expect, it } from 'vitest';
import { hashMatch } from '../../src/ingest/hash.js';
import type { Store } from '../../src/store/connect.js';
import type { ChunkWrite, MatchWrite } from '../../src/store/ingest-writer.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';
import { migrations } from '../../src/store/migrations/index.js';
import { quote, record } from '../helpers/records.js';
import type { MatchRecord } from '../../src/ingest/football-data/types.js';

const write = (r: MatchRecord): MatchWrite => ({ record: r, hash: hashMatch(r) });

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
      expect(Number((await store.db.selectFrom('odds').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(3);
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
      const rows = Array.from({ length: 40 }, (_, i) => write(record({ date: `2019-09-${String((i % 28) + 1).padStart(2, '0')}`, homeTeam: `Home ${i}`, awayTeam: `Away ${i}` })));
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
});
