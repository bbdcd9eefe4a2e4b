/**
 * Prediction refresh (issue 13 §1): where each outbox consumer got to (`event_consumers`: a cursor and a lease, so one
 * of several `serve` replicas works at a time), which events it has handled (`event_receipts`, written in the same
 * transaction as the work, so an event is handled once even when it committed late), and a third prediction source,
 * 'refresh', for the rows the refresh appends.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the prediction-refresh migration for a dialect. */
export function predictionRefresh(dialect: Dialect): Migration {
  const { pg, id, ref, real, date, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  const sourceCheck = sql`source in ('cli', 'api', 'refresh')`;
  return {
    async up(db: Kysely<unknown>) {
      if (pg) {
        // PostgreSQL named the inline CHECK of 0005 predictions_source_check.
        await sql`alter table predictions drop constraint predictions_source_check`.execute(db);
        await sql`alter table predictions add constraint predictions_source_check check (${sourceCheck})`.execute(db);
      } else {
        // SQLite cannot alter a CHECK: rebuild the table with every row, its id and the AUTOINCREMENT high-water mark.
        await db.schema
          .createTable('predictions_new')
          .addColumn('id', id, key)
          .addColumn('match_id', ref, (c) => c.references('matches.id').onDelete('set null'))
          .addColumn('competition', 'text', (c) => c.notNull())
          .addColumn('season', 'text', (c) => c.notNull())
          .addColumn('date', date, (c) => c.notNull())
          .addColumn('home_team_id', ref, (c) => c.notNull().references('teams.id'))
          .addColumn('away_team_id', ref, (c) => c.notNull().references('teams.id'))
          .addColumn('model_name', 'text')
          .addColumn('model_version', 'integer')
          .addColumn('model_alias', 'text')
          .addColumn('model_run', 'text')
          .addColumn('model_uri', 'text', (c) => c.notNull())
          .addColumn('variant', 'text')
          .addColumn('feature_set', 'text', (c) => c.notNull())
          .addColumn('inputs_hash', 'text', (c) => c.notNull())
          .addColumn('p_home', real, (c) => c.notNull())
          .addColumn('p_draw', real, (c) => c.notNull())
          .addColumn('p_away', real, (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull().check(sourceCheck))
          .addColumn('principal', 'text')
          .addColumn('request_id', 'text')
          .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
          .execute();
        await sql`insert into predictions_new select * from predictions order by id`.execute(db);
        const seq = await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'predictions'`.execute(db);
        await sql`drop table predictions`.execute(db);
        await sql`alter table predictions_new rename to predictions`.execute(db);
        const high = seq.rows[0]?.seq;
        if (high !== undefined) await sql`update sqlite_sequence set seq = max(seq, ${high}) where name = 'predictions'`.execute(db);
        await db.schema.createIndex('predictions_match').on('predictions').columns(['match_id', 'created_at']).execute();
        await db.schema.createIndex('predictions_created').on('predictions').columns(['created_at', 'id']).execute();
        await db.schema.createIndex('predictions_principal').on('predictions').columns(['principal']).execute();
      }

      // One row per consumer of the events outbox: its position, and who may work now (a lease in epoch ms).
      await db.schema
        .createTable('event_consumers')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('last_event_id', ref, (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until_ms', 'bigint')
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      // The events a consumer has handled and how; the primary key makes handling one twice fail (and roll back).
      await db.schema
        .createTable('event_receipts')
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('event_id', ref, (c) => c.notNull().references('events.id').onDelete('cascade'))
        .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('refreshed', 'skipped')`))
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addPrimaryKeyConstraint('event_receipts_pk', ['consumer', 'event_id'])
        .execute();
    },
  };
}
