/**
 * Live feeds (`oracx collect feed`): which provider match is which store match, the conditional-request state and
 * request quota of each provider, every change a feed made to a match, and an outbox of events (`match_finished`)
 * that other features (webhooks, prediction refresh) consume.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the feeds migration for a dialect. */
export function feeds(dialect: Dialect): Migration {
  const { id, ref, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      // A provider's match id → the store's match, found once by competition, teams and date, then kept: later
      // polls update the same row even when the provider renames a team.
      await db.schema
        .createTable('feed_matches')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_match_id', 'text', (c) => c.notNull())
        .addColumn('match_id', ref, (c) => c.notNull().references('matches.id').onDelete('cascade'))
        // The provider's own status word (POSTPONED, HT, …): the store's status has only scheduled/live/finished.
        .addColumn('provider_status', 'text', (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('feed_matches_pk', ['provider', 'provider_match_id'])
        .execute();
      await db.schema.createIndex('feed_matches_match').on('feed_matches').column('match_id').execute();

      // Conditional-request state per URL: a 304 answer means nothing to apply.
      await db.schema
        .createTable('feed_cursors')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addColumn('last_modified', 'text')
        .addColumn('body_hash', 'text')
        .addColumn('polled_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('feed_cursors_pk', ['provider', 'url'])
        .execute();

      // When each request to a provider was sent (epoch ms), so the quota holds across polls and processes.
      await db.schema
        .createTable('feed_requests')
        .addColumn('id', id, key)
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('sent_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('feed_requests_provider').on('feed_requests').columns(['provider', 'sent_at_ms']).execute();

      // Every field a feed changed: old and new value as text (null when absent).
      await db.schema
        .createTable('match_changes')
        .addColumn('id', id, key)
        .addColumn('match_id', ref, (c) => c.notNull().references('matches.id').onDelete('cascade'))
        .addColumn('field', 'text', (c) => c.notNull())
        .addColumn('old_value', 'text')
        .addColumn('new_value', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('provider_match_id', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex('match_changes_match').on('match_changes').columns(['match_id', 'id']).execute();

      // The outbox: one row per event, `dedupe_key` unique so an event is never emitted twice (a match finishes
      // once, however many polls report it FINISHED). Consumers read by id and keep their own position.
      await db.schema
        .createTable('events')
        .addColumn('id', id, key)
        .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('match_finished')`))
        .addColumn('match_id', ref, (c) => c.references('matches.id').onDelete('set null'))
        .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
        /** JSON object. */
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex('events_type').on('events').columns(['type', 'id']).execute();
    },
  };
}
