// A canonical, id-free dump of a store's data, to compare two stores for equality.
import type { Store } from '../../src/store/connect.js';

export interface StoreDump {
  matches: string[];
  odds: string[];
  teams: string[];
  quarantine: string[];
}

export async function dumpStore(store: Store): Promise<StoreDump> {
  const db = store.db;
  const matches = await db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .innerJoin('teams as h', 'h.id', 'm.home_team_id')
    .innerJoin('teams as a', 'a.id', 'm.away_team_id')
    .select([
      'c.code',
      'm.season',
      'm.date',
      'h.name as home',
      'a.name as away',
      'm.status',
      'm.fthg',
      'm.ftag',
      'm.ftr',
      'm.hthg',
      'm.htag',
      'm.referee',
      'm.home_shots',
      'm.away_red',
      'm.row_hash',
    ])
    .execute();
  const odds = await db
    .selectFrom('odds as o')
    .innerJoin('matches as m', 'm.id', 'o.match_id')
    .innerJoin('teams as h', 'h.id', 'm.home_team_id')
    .innerJoin('teams as a', 'a.id', 'm.away_team_id')
    .select([
      'm.date',
      'h.name as home',
      'a.name as away',
      'o.bookmaker',
      'o.market',
      'o.kind',
      'o.line',
      'o.home as ph',
      'o.draw',
      'o.away as pa',
      'o.over',
      'o.under',
    ])
    .execute();
  const teams = await db.selectFrom('teams').select('name').execute();
  const quarantine = await db.selectFrom('quarantine').select(['source', 'file_hash', 'line', 'reason']).execute();
  const lines = (rows: object[]) => rows.map((r) => JSON.stringify(Object.values(r))).sort();
  return { matches: lines(matches), odds: lines(odds), teams: lines(teams), quarantine: lines(quarantine) };
}
