// Regression: the webhook fan-out re-reads the last minutes of events (late commits) before going forward by id. With
// more than one batch (500) of recent events it used to stop after re-reading old ones and never reach new events
// until they aged out of the window: a busy round (100 match_finished + 100 prediction_updated per poll) stalled it.
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/connect.js';
import { fanOut } from '../../src/webhooks/deliveries.js';
import { DIALECTS, freshStore } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`webhook fan-out with many recent events on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] fan-out window on ${dialect.name} skipped: service not available`);
    const stores: Store[] = [];
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    it('queues new events even when more than a batch of recent events was fanned out already', async () => {
      const store = await freshStore(dialect);
      stores.push(store);
      await store.db
        .insertInto('webhook_subscriptions')
        .values({ url: 'http://127.0.0.1:9/x', events: 'prediction_updated', secret_key_id: 'k', secret_iv: '', secret_tag: '', secret_ciphertext: '' })
        .execute();
      const add = async (from: number, n: number) => {
        const rows = Array.from({ length: n }, (_, i) => ({ type: 'prediction_updated' as const, match_id: null, dedupe_key: `e${from + i}`, payload: '{}' }));
        await store.db.insertInto('events').values(rows).execute();
      };
      await add(0, 700);
      expect(await fanOut(store)).toMatchObject({ created: 700 });
      await add(700, 3);
      expect((await fanOut(store)).created).toBe(3);
      expect((await fanOut(store)).created).toBe(0);
      const n = await store.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(703);
    });
  });
}
