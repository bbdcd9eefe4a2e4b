/**
 * Webhooks (`oracx webhooks`): subscriptions (URL, event types, a signing secret sealed under ORACX_MASTER_KEY),
 * one delivery row per (event, subscription) with its retry state and lease, and the position of the fan-out in the
 * `events` outbox. Also widens `events.type` beyond 'match_finished' (prediction_updated and later types).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the webhooks migration for a dialect. */
export function webhooks(dialect: Dialect): Migration {
  const { pg, id, ref, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  // Any lower-case snake_case word: new event types need no migration, while typos in code ("Match-Finished") still
  // fail loudly. SQLite has no regular expressions: GLOB with a negated class says the same.
  const typeCheck = pg ? sql`type ~ '^[a-z][a-z0-9_]{0,63}$'` : sql`length(type) between 1 and 64 and type not glob '*[^a-z0-9_]*'`;
  return {
    async up(db: Kysely<unknown>) {
      if (pg) {
        // PostgreSQL named the inline CHECK of 0007 events_type_check.
        await sql`alter table events drop constraint events_type_check`.execute(db);
        await sql`alter table events add constraint events_type_check check (${typeCheck})`.execute(db);
      } else {
        // SQLite cannot alter a CHECK: rebuild the table, keeping every row with its id, and the AUTOINCREMENT
        // high-water mark (an id is never reused, even one whose row was deleted, so consumers' positions stay right).
        await db.schema
          .createTable('events_new')
          .addColumn('id', id, key)
          .addColumn('type', 'text', (c) => c.notNull().check(typeCheck))
          .addColumn('match_id', ref, (c) => c.references('matches.id').onDelete('set null'))
          .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
          .execute();
        await sql`insert into events_new (id, type, match_id, dedupe_key, payload, created_at) select id, type, match_id, dedupe_key, payload, created_at from events order by id`.execute(
          db,
        );
        const seq = await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'events'`.execute(db);
        await sql`drop table events`.execute(db);
        await sql`alter table events_new rename to events`.execute(db);
        const high = seq.rows[0]?.seq;
        if (high !== undefined) await sql`update sqlite_sequence set seq = max(seq, ${high}) where name = 'events'`.execute(db);
        await db.schema.createIndex('events_type').on('events').columns(['type', 'id']).execute();
      }
      // Fan-out scans events by time too (late commits, see src/webhooks/fanout.ts).
      await db.schema.createIndex('events_created').on('events').columns(['created_at']).execute();

      await db.schema
        .createTable('webhook_subscriptions')
        .addColumn('id', id, key)
        .addColumn('url', 'text', (c) => c.notNull())
        /** Comma-separated event types. */
        .addColumn('events', 'text', (c) => c.notNull())
        // The signing secret, AES-256-GCM under the master key (src/auth/secrets.ts), authenticated with "webhook:<id>".
        .addColumn('secret_key_id', 'text', (c) => c.notNull())
        .addColumn('secret_iv', 'text', (c) => c.notNull())
        .addColumn('secret_tag', 'text', (c) => c.notNull())
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(8).check(sql`max_attempts >= 1`))
        // Only events after this id go to the subscription: adding one does not replay the whole history.
        .addColumn('after_event_id', ref, (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', id, key)
        .addColumn('subscription_id', ref, (c) => c.notNull().references('webhook_subscriptions.id').onDelete('cascade'))
        .addColumn('event_id', ref, (c) => c.notNull().references('events.id').onDelete('cascade'))
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`state in ('pending', 'delivered', 'dead')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        // Epoch milliseconds: compared with the sender's clock, the same way on both dialects.
        .addColumn('next_attempt_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until_ms', 'bigint')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('delivered_at', ts)
        .addUniqueConstraint('webhook_deliveries_event_subscription', ['event_id', 'subscription_id'])
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at_ms']).execute();
      await db.schema.createIndex('webhook_deliveries_subscription').on('webhook_deliveries').columns(['subscription_id', 'id']).execute();

      // Where the fan-out got to in the outbox (one row per consumer name).
      await db.schema
        .createTable('webhook_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('last_event_id', ref, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
    },
  };
}
