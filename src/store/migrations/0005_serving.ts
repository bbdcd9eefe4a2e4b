/**
 * What `predict` and `serve` keep: every prediction made (CLI or API), API keys (hashes only), the security audit
 * (admin actions and authentication failures), secrets encrypted at rest, and an index the online feature state
 * polls for changed matches.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the fifth migration for a dialect. */
export function serving(dialect: Dialect): Migration {
  const { id, ref, real, date, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('matches_updated_at').on('matches').columns(['updated_at']).execute();

      // One row per forecast. A pairing given by name (not in the store) has no match_id; teams and date are kept
      // either way, so the row says what was predicted even if the match is later moved or merged.
      await db.schema
        .createTable('predictions')
        .addColumn('id', id, key)
        .addColumn('match_id', ref, (c) => c.references('matches.id').onDelete('set null'))
        .addColumn('competition', 'text', (c) => c.notNull())
        .addColumn('season', 'text', (c) => c.notNull())
        .addColumn('date', date, (c) => c.notNull())
        .addColumn('home_team_id', ref, (c) => c.notNull().references('teams.id'))
        .addColumn('away_team_id', ref, (c) => c.notNull().references('teams.id'))
        // What made it: a registered model (name, version, alias followed) and/or a run, or a model file.
        .addColumn('model_name', 'text')
        .addColumn('model_version', 'integer')
        .addColumn('model_alias', 'text')
        .addColumn('model_run', 'text')
        .addColumn('model_uri', 'text', (c) => c.notNull())
        .addColumn('variant', 'text')
        .addColumn('feature_set', 'text', (c) => c.notNull())
        // sha256 of the model inputs (feature vector, team and competition indices): equal hash, equal forecast.
        .addColumn('inputs_hash', 'text', (c) => c.notNull())
        .addColumn('p_home', real, (c) => c.notNull())
        .addColumn('p_draw', real, (c) => c.notNull())
        .addColumn('p_away', real, (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('cli', 'api')`))
        .addColumn('principal', 'text')
        .addColumn('request_id', 'text')
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex('predictions_match').on('predictions').columns(['match_id', 'created_at']).execute();
      await db.schema.createIndex('predictions_created').on('predictions').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('predictions_principal').on('predictions').columns(['principal']).execute();

      // API keys: only a sha256 of the key is stored (keys are 256-bit random, so a slow hash buys nothing); the
      // prefix identifies a key in lists and logs without revealing it.
      await db.schema
        .createTable('api_keys')
        .addColumn('id', id, key)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer', 'predictor', 'admin')`))
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        // Who the key belongs to (an e-mail or user id), for `auth users export|delete`.
        .addColumn('owner', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('expires_at', ts)
        .addColumn('last_used_at', ts)
        .addColumn('revoked_at', ts)
        .addColumn('rotated_to', ref)
        .execute();
      await db.schema.createIndex('api_keys_owner').on('api_keys').columns(['owner']).execute();

      // Admin actions and authentication failures: who, what, when, from where, with what outcome.
      await db.schema
        .createTable('security_audit')
        .addColumn('id', id, key)
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('request_id', 'text')
        /** JSON object. */
        .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
      await db.schema.createIndex('security_audit_created').on('security_audit').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('security_audit_actor').on('security_audit').columns(['actor']).execute();
      // auth users export|delete find the events about a user's keys and tokens by target too.
      await db.schema.createIndex('security_audit_target').on('security_audit').columns(['target']).execute();

      // Secrets oracx keeps (the HS256 signing key of tokens it issues, later webhook secrets): AES-256-GCM under a
      // key from the environment; key_id says which key, so a rotated key can still open older rows.
      await db.schema
        .createTable('secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('iv', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .execute();
    },
  };
}
