// The service's prediction sink on both dialects: every queued row is stored, column for column, whatever the batch
// sizes (SQLite writes one multi-row statement per flush, PostgreSQL goes through insertPredictions).
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import type { PredictionRow } from '../../src/predict/predictions.js';
import { PredictionSink } from '../../src/server/runtime/sink.js';
import type { Store } from '../../src/store/connect.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';

function rows(n: number, teams: [number, number]): PredictionRow[] {
  return Array.from({ length: n }, (_, i) => ({
    match_id: null,
    competition: 'E0',
    season: '2020-2021',
    date: `2020-09-${String(1 + (i % 28)).padStart(2, '0')}`,
    home_team_id: teams[i % 2]!,
    away_team_id: teams[(i + 1) % 2]!,
    model_name: i % 3 === 0 ? null : 'oracx-e0',
    model_version: i % 3 === 0 ? null : 2,
    model_alias: i % 2 ? 'champion' : null,
    model_run: i % 5 ? String(i) : null,
    model_uri: i % 3 === 0 ? 'file:/m.onnx' : 'oracx-e0/2',
    variant: i % 4 ? null : 'challenger',
    feature_set: 'core@1',
    inputs_hash: i.toString(16).padStart(64, '0'),
    p_home: 0.5 - i / 1e6,
    p_draw: 0.25,
    p_away: 0.25 + i / 1e6,
    source: 'api',
    principal: i % 2 ? `key:${i}` : null,
    request_id: `req-${i}`,
  }));
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`prediction sink on ${dialect.name}`, () => {
    let store: Store | null = null;
    afterEach(async () => {
      await store?.close();
      store = null;
    });

    it('stores every pushed row exactly, across flushes of different sizes, and drains on close', async () => {
      store = await freshStore(dialect);
      const ids = await store.db
        .insertInto('teams')
        .values([{ name: 'Arsenal' }, { name: 'Chelsea' }])
        .returning('id')
        .execute();
      const want = rows(1234, [Number(ids[0]!.id), Number(ids[1]!.id)]);
      const sink = new PredictionSink(store, { batchRows: 500, intervalMs: 5, maxQueued: 10_000, logger: silentLogger });
      // Pushes of 1, 7, 250… rows: flushes of 500 rows, and of whatever is queued when the timer fires.
      let at = 0;
      for (const size of [1, 7, 250, 3, 600, 373]) {
        expect(sink.push(want.slice(at, at + size))).toBe(true);
        at += size;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(at).toBe(want.length);
      await sink.close();
      expect(sink.written).toBe(want.length);
      expect(sink.pending).toBe(0);
      const got = await store.db.selectFrom('predictions').selectAll().orderBy('id').execute();
      expect(got).toHaveLength(want.length);
      got.forEach((row, i) => {
        const { id, created_at: createdAt, ...columns } = row;
        expect(Number(id)).toBeGreaterThan(0);
        expect(createdAt).toBeTruthy();
        expect({ ...columns, home_team_id: Number(columns.home_team_id), away_team_id: Number(columns.away_team_id) }).toEqual(want[i]);
      });
    });
  });
}
