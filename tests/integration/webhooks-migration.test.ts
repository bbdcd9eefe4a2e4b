// Migration 0009 on a store that already holds events: SQLite rebuilds `events` (a CHECK cannot be altered in place),
// so every row must survive with its id, and ids must keep growing past the old high-water mark; both dialects must
// then accept prediction_updated (and later snake_case types) while still refusing malformed types.
import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';
import { parseStoreLocation } from '../../src/store/location.js';
import { migrations } from '../../src/store/migrations/index.js';
import { migrateToLatest } from '../../src/store/migrator.js';
import { DIALECTS } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`migration 0009_webhooks on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] migration 0009 on ${dialect.name} skipped: service not available`);
    const stores: Store[] = [];
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    it('keeps every event row and id, never reuses an id, and widens the type check', async () => {
      const value = dialect.newLocation();
      const location = parseStoreLocation(value);
      const store = await openStore(value);
      stores.push(store);
      const all = migrations(dialect.name);
      const upTo0007 = Object.fromEntries(Object.entries(all).filter(([name]) => name <= '0007_feeds'));
      await migrateToLatest(store.db as unknown as Kysely<unknown>, upTo0007, { dialect: dialect.name, schema: location.schema, display: location.display });
      for (let i = 1; i <= 4; i++) {
        await store.db
          .insertInto('events')
          .values({ type: 'match_finished', match_id: null, dedupe_key: `k${i}`, payload: JSON.stringify({ i }) })
          .execute();
      }
      // The newest row deleted: its id (4) must not be handed out again after the rebuild.
      await store.db.deleteFrom('events').where('dedupe_key', '=', 'k4').execute();
      const before = await store.db.selectFrom('events').selectAll().orderBy('id').execute();
      // Still the old CHECK: prediction_updated is refused before 0009.
      await expect(
        store.db.insertInto('events').values({ type: 'prediction_updated', match_id: null, dedupe_key: 'early', payload: '{}' }).execute(),
      ).rejects.toThrow();

      const { applied } = await store.migrate();
      expect(applied).toEqual(
        Object.keys(all)
          .filter((name) => name > '0007_feeds')
          .sort(),
      );
      expect(applied).toContain('0009_webhooks');
      expect(await store.db.selectFrom('events').selectAll().orderBy('id').execute()).toEqual(before);

      const next = await store.db
        .insertInto('events')
        .values({ type: 'prediction_updated', match_id: null, dedupe_key: 'p1', payload: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Past the deleted row's id (PostgreSQL's sequence may have skipped more: the refused insert above took one).
      expect(Number(next.id)).toBeGreaterThan(4);
      // A later type needs no migration; malformed ones are still refused.
      await store.db
        .insertInto('events')
        .values({ type: 'model_promoted' as 'match_finished', match_id: null, dedupe_key: 'm1', payload: '{}' })
        .execute();
      for (const bad of ['Match-Finished', '', 'with space']) {
        await expect(
          store.db
            .insertInto('events')
            .values({ type: bad as 'match_finished', match_id: null, dedupe_key: `bad:${bad}`, payload: '{}' })
            .execute(),
        ).rejects.toThrow();
      }
      // The unique dedupe key survived the rebuild.
      await expect(
        store.db.insertInto('events').values({ type: 'match_finished', match_id: null, dedupe_key: 'k1', payload: '{}' }).execute(),
      ).rejects.toThrow();
      if (dialect.name === 'sqlite') {
        const check = await sql<{ foreign_key_check: unknown }>`pragma foreign_key_check`.execute(store.db);
        expect(check.rows).toEqual([]);
      }
    });
  });
}
