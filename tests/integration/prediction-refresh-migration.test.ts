// Migration 0010 on a store that already holds predictions: SQLite rebuilds `predictions` (a CHECK cannot be altered in
// place), so every row must survive with its id and ids must keep growing past the old high-water mark; both dialects
// then accept source 'refresh' and still refuse an unknown source; the consumer tables refuse a second receipt.
import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';
import { parseStoreLocation } from '../../src/store/location.js';
import { migrations } from '../../src/store/migrations/index.js';
import { migrateToLatest } from '../../src/store/migrator.js';
import type { PredictionRow } from '../../src/predict/predictions.js';
import { DIALECTS } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`migration 0010_prediction_refresh on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] migration 0010 on ${dialect.name} skipped: service not available`);
    const stores: Store[] = [];
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    it('keeps every prediction and id, never reuses an id, admits source refresh only', async () => {
      const value = dialect.newLocation();
      const location = parseStoreLocation(value);
      const store = await openStore(value);
      stores.push(store);
      const all = migrations(dialect.name);
      const before0010 = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0010'));
      await migrateToLatest(store.db as unknown as Kysely<unknown>, before0010, { dialect: dialect.name, schema: location.schema, display: location.display });
      const team = async (name: string) => Number((await store.db.insertInto('teams').values({ name }).returning('id').executeTakeFirstOrThrow()).id);
      const [home, away] = [await team('Arsenal'), await team('Chelsea')];
      const row = (source: string, i: number): PredictionRow => ({
        match_id: null,
        competition: 'E0',
        season: '2020-2021',
        date: '2020-09-19',
        home_team_id: home,
        away_team_id: away,
        model_name: 'm',
        model_version: 1,
        model_alias: null,
        model_run: null,
        model_uri: 'm/1',
        variant: null,
        feature_set: 'core@1',
        inputs_hash: `h${i}`,
        p_home: 0.5,
        p_draw: 0.3,
        p_away: 0.2,
        source: source as 'cli',
        principal: null,
        request_id: null,
      });
      for (let i = 1; i <= 4; i++)
        await store.db
          .insertInto('predictions')
          .values(row(i % 2 ? 'cli' : 'api', i))
          .execute();
      await store.db.deleteFrom('predictions').where('inputs_hash', '=', 'h4').execute();
      const before = await store.db.selectFrom('predictions').selectAll().orderBy('id').execute();
      await expect(store.db.insertInto('predictions').values(row('refresh', 9)).execute()).rejects.toThrow();

      const { applied } = await store.migrate();
      expect(applied).toContain('0010_prediction_refresh');
      expect(await store.db.selectFrom('predictions').selectAll().orderBy('id').execute()).toEqual(before);
      const next = await store.db.insertInto('predictions').values(row('refresh', 5)).returning('id').executeTakeFirstOrThrow();
      expect(Number(next.id)).toBeGreaterThan(4);
      await expect(store.db.insertInto('predictions').values(row('batch', 6)).execute()).rejects.toThrow();

      const event = await store.db
        .insertInto('events')
        .values({ type: 'match_finished', match_id: null, dedupe_key: 'k', payload: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.db
        .insertInto('event_receipts')
        .values({ consumer: 'c', event_id: Number(event.id), outcome: 'skipped', detail: 'x' })
        .execute();
      await expect(
        store.db
          .insertInto('event_receipts')
          .values({ consumer: 'c', event_id: Number(event.id), outcome: 'refreshed', detail: 'y' })
          .execute(),
      ).rejects.toThrow();
      if (dialect.name === 'sqlite') {
        expect((await sql`pragma foreign_key_check`.execute(store.db)).rows).toEqual([]);
        const indexes = await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and tbl_name = 'predictions' and name not like 'sqlite_%' order by name`.execute(store.db);
        expect(indexes.rows.map((r) => r.name)).toEqual(['predictions_created', 'predictions_match', 'predictions_principal']);
      }
    });
  });
}
