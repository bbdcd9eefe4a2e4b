/** Competitions, teams and aliases, matches, odds, ingest runs and quarantine. */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../types.js';
import { MATCH_STAT_COLUMNS } from '../schema.js';
import { dialectTypes, primaryId } from './dialect.js';

/** Builds the first migration for a dialect (ids, dates, floats and timestamps differ). */
export function initial(dialect: Dialect): Migration {
  const { id, ref, real, date, ts, now } = dialectTypes(dialect);
  const key = primaryId(dialect);

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('competitions')
        .addColumn('id', id, key)
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text')
        .execute();

      await db.schema
        .createTable('teams')
        .addColumn('id', id, key)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .execute();

      await db.schema
        .createTable('team_aliases')
        .addColumn('alias', 'text', (c) => c.primaryKey())
        .addColumn('team_id', ref, (c) => c.notNull().references('teams.id').onDelete('cascade'))
        .execute();
      await db.schema.createIndex('team_aliases_team').on('team_aliases').column('team_id').execute();

      let matches = db.schema
        .createTable('matches')
        .addColumn('id', id, key)
        .addColumn('competition_id', ref, (c) => c.notNull().references('competitions.id'))
        .addColumn('season', 'text', (c) => c.notNull())
        .addColumn('date', date, (c) => c.notNull())
        .addColumn('kickoff_time', 'text')
        .addColumn('home_team_id', ref, (c) => c.notNull().references('teams.id'))
        .addColumn('away_team_id', ref, (c) => c.notNull().references('teams.id'))
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('scheduled', 'live', 'finished')`))
        .addColumn('fthg', 'integer')
        .addColumn('ftag', 'integer')
        .addColumn('ftr', 'text')
        .addColumn('hthg', 'integer')
        .addColumn('htag', 'integer')
        .addColumn('htr', 'text')
        .addColumn('referee', 'text')
        .addColumn('attendance', 'integer');
      for (const column of MATCH_STAT_COLUMNS) matches = matches.addColumn(column, 'integer');
      await matches
        .addColumn('row_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('updated_at', ts, (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint('matches_natural_key', ['competition_id', 'season', 'date', 'home_team_id', 'away_team_id'])
        .execute();
      // The natural key's index serves competition/season filters; these serve team and date lookups.
      await db.schema.createIndex('matches_home_date').on('matches').columns(['home_team_id', 'date']).execute();
      await db.schema.createIndex('matches_away_date').on('matches').columns(['away_team_id', 'date']).execute();
      await db.schema.createIndex('matches_date').on('matches').columns(['date', 'id']).execute();

      await db.schema
        .createTable('odds')
        .addColumn('match_id', ref, (c) => c.notNull().references('matches.id').onDelete('cascade'))
        .addColumn('bookmaker', 'text', (c) => c.notNull())
        .addColumn('market', 'text', (c) => c.notNull().check(sql`market in ('1x2', 'ou', 'ah')`))
        .addColumn('line', real, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('pre', 'closing')`))
        .addColumn('home', real)
        .addColumn('draw', real)
        .addColumn('away', real)
        .addColumn('over', real)
        .addColumn('under', real)
        .addColumn('source', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('odds_pk', ['match_id', 'market', 'kind', 'bookmaker', 'line'])
        .execute();

      await db.schema
        .createTable('ingest_runs')
        .addColumn('id', id, key)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('source_kind', 'text', (c) => c.notNull())
        .addColumn('file_hash', 'text')
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'completed', 'failed', 'interrupted')`))
        .addColumn('rows_read', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('inserted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('unchanged', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('quarantined', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_line', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('resumed_from', ref, (c) => c.references('ingest_runs.id'))
        .addColumn('error', 'text')
        .addColumn('started_at', ts, (c) => c.notNull().defaultTo(now))
        .addColumn('finished_at', ts)
        .execute();
      await db.schema.createIndex('ingest_runs_source').on('ingest_runs').columns(['source', 'file_hash', 'status']).execute();

      await db.schema
        .createTable('quarantine')
        .addColumn('id', id, key)
        .addColumn('run_id', ref, (c) => c.notNull().references('ingest_runs.id'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('file_hash', 'text', (c) => c.notNull())
        .addColumn('line', 'integer', (c) => c.notNull())
        .addColumn('raw', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull().defaultTo(now))
        .addUniqueConstraint('quarantine_source_line', ['source', 'file_hash', 'line'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['quarantine', 'ingest_runs', 'odds', 'matches', 'team_aliases', 'teams', 'competitions']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
