/** `data report`: a data-quality summary of what the store holds. */
import { sql } from 'kysely';
import type { Store } from '../src/store/connect.js';

export interface SeasonQuality {
  competition: string;
  /** League name when the division code is known. */
  league: string | null;
  season: string;
  matches: number;
  finished: number;
  teams: number;
  firstDate: string;
  lastDate: string;
  /** Share of matches without any pre-match 1x2 price, in %. */
  missingPreOddsPct: number;
  /** Share of matches without any closing 1x2 price, in %. */
  missingClosingOddsPct: number;
}

export interface FileQuality {
  source: string;
  runId: number;
  status: string;
  finishedAt: string | null;
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
}

export interface Anomaly {
  kind: 'score' | 'overround' | 'season-window';
  matchId: number;
  competition: string;
  season: string;
  date: string;
  home: string;
  away: string;
  detail: string;
}

export interface DataReport {
  totals: { matches: number; teams: number; odds: number; quarantined: number };
  seasons: SeasonQuality[];
  files: FileQuality[];
  quarantineByReason: { reason: string; rows: number }[];
  duplicateKeys: number;
  anomalies: { score: number; overround: number; seasonWindow: number; examples: Anomaly[] };
}

/** Bookmaker margins outside this band are flagged (market maxima are excluded: they mix bookmakers). */
export const OVERROUND_BAND = [1.0, 1.3] as const;
/** A side scoring this many or more is flagged for a look. */
export const SCORE_ANOMALY = 10;
const AGGREGATE_BOOKMAKERS = ['Max', 'BbMx', 'BbMax'];

const n = (v: unknown): number => Number(v ?? 0);
const pct = (part: unknown, whole: unknown): number => (n(whole) === 0 ? 0 : Math.round((1000 * n(part)) / n(whole)) / 10);

/** Builds the report; `exampleLimit` caps the anomaly examples listed. */
export async function dataReport(store: Store, exampleLimit = 20): Promise<DataReport> {
  const db = store.db;
  const hasOdds = (kind: string) =>
    sql<number>`sum(case when exists (select 1 from odds o where o.match_id = m.id and o.market = '1x2' and o.kind = ${kind}) then 0 else 1 end)`;
  const seasons = await db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .select([
      'c.code as competition',
      'c.name as league',
      'm.season',
      (eb) => eb.fn.countAll<number>().as('matches'),
      sql<number>`sum(case when m.status = 'finished' then 1 else 0 end)`.as('finished'),
      sql<number>`count(distinct m.home_team_id)`.as('teams'),
      (eb) => eb.fn.min<string>('m.date').as('firstDate'),
      (eb) => eb.fn.max<string>('m.date').as('lastDate'),
      hasOdds('pre').as('missingPre'),
      hasOdds('closing').as('missingClosing'),
    ])
    .groupBy(['c.code', 'c.name', 'm.season'])
    .orderBy('c.code')
    .orderBy('m.season')
    .execute();

  const latest = db
    .selectFrom('ingest_runs')
    .select((eb) => eb.fn.max('id').as('id'))
    .groupBy('source');
  const files = await db.selectFrom('ingest_runs').selectAll().where('id', 'in', latest).orderBy('source').execute();

  const category = sql<string>`case when instr(reason, ':') > 0 then substr(reason, 1, instr(reason, ':') - 1) else reason end`;
  const categoryPg = sql<string>`split_part(reason, ':', 1)`;
  const byReason = await db
    .selectFrom('quarantine')
    .select([(store.dialect === 'postgres' ? categoryPg : category).as('reason'), (eb) => eb.fn.countAll<number>().as('rows')])
    .groupBy(sql`1`)
    .orderBy(sql`2`, 'desc')
    .execute();

  const matchInfo = db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .innerJoin('teams as h', 'h.id', 'm.home_team_id')
    .innerJoin('teams as a', 'a.id', 'm.away_team_id')
    .select(['m.id as matchId', 'c.code as competition', 'm.season', 'm.date', 'h.name as home', 'a.name as away']);

  const scoreRows = await matchInfo
    .select(['m.fthg', 'm.ftag'])
    .where((eb) => eb.or([eb('m.fthg', '>=', SCORE_ANOMALY), eb('m.ftag', '>=', SCORE_ANOMALY)]))
    .execute();

  const overround = sql<number>`(1.0 / o.home + 1.0 / o.draw + 1.0 / o.away)`;
  const overroundRows = await matchInfo
    .innerJoin('odds as o', 'o.match_id', 'm.id')
    .select(['o.bookmaker', 'o.kind as quoteKind', overround.as('overround')])
    .where('o.market', '=', '1x2')
    .where('o.home', 'is not', null)
    .where('o.draw', 'is not', null)
    .where('o.away', 'is not', null)
    .where('o.bookmaker', 'not in', AGGREGATE_BOOKMAKERS)
    .where((eb) => eb.or([eb(overround, '<', OVERROUND_BAND[0]), eb(overround, '>', OVERROUND_BAND[1])]))
    .orderBy('m.date')
    .execute();

  const seasonStart = store.dialect === 'postgres' ? sql<string>`(substr(m.season, 1, 4) || '-07-01')::date` : sql<string>`substr(m.season, 1, 4) || '-07-01'`;
  const seasonEnd = store.dialect === 'postgres' ? sql<string>`(substr(m.season, 6, 4) || '-06-30')::date` : sql<string>`substr(m.season, 6, 4) || '-06-30'`;
  const windowRows = await matchInfo
    .where((eb) => eb.or([eb('m.date', '<', seasonStart), eb('m.date', '>', seasonEnd)]))
    .orderBy('m.date')
    .execute();

  const examples: Anomaly[] = [
    ...scoreRows.map((r) => ({ kind: 'score' as const, ...r, detail: `score ${r.fthg}-${r.ftag}` })),
    ...overroundRows.map((r) => ({
      kind: 'overround' as const,
      ...r,
      detail: `${r.bookmaker} ${r.quoteKind} 1x2 overround ${n(r.overround).toFixed(3)}`,
    })),
    ...windowRows.map((r) => ({ kind: 'season-window' as const, ...r, detail: `date outside ${r.season} (Jul–Jun)` })),
  ]
    .slice(0, exampleLimit)
    .map(({ kind, matchId, competition, season, date, home, away, detail }) => ({
      kind,
      matchId: Number(matchId),
      competition,
      season,
      date,
      home,
      away,
      detail,
    }));

  const totals = await db
    .selectNoFrom([
      sql<number>`(select count(*) from matches)`.as('matches'),
      sql<number>`(select count(*) from teams)`.as('teams'),
      sql<number>`(select count(*) from odds)`.as('odds'),
      sql<number>`(select count(*) from quarantine)`.as('quarantined'),
      sql<number>`(select count(*) from quarantine where reason like 'duplicate key%')`.as('duplicates'),
    ])
    .executeTakeFirstOrThrow();

  return {
    totals: { matches: n(totals.matches), teams: n(totals.teams), odds: n(totals.odds), quarantined: n(totals.quarantined) },
    seasons: seasons.map((s) => ({
      competition: s.competition,
      league: s.league,
      season: s.season,
      matches: n(s.matches),
      finished: n(s.finished),
      teams: n(s.teams),
      firstDate: String(s.firstDate),
      lastDate: String(s.lastDate),
      missingPreOddsPct: pct(s.missingPre, s.matches),
      missingClosingOddsPct: pct(s.missingClosing, s.matches),
    })),
    files: files.map((f) => ({
      source: f.source,
      runId: Number(f.id),
      status: f.status,
      finishedAt: f.finished_at,
      rowsRead: f.rows_read,
      inserted: f.inserted,
      updated: f.updated,
      unchanged: f.unchanged,
      quarantined: f.quarantined,
    })),
    quarantineByReason: byReason.map((r) => ({ reason: r.reason, rows: n(r.rows) })),
    duplicateKeys: n(totals.duplicates),
    anomalies: { score: scoreRows.length, overround: overroundRows.length, seasonWindow: windowRows.length, examples },
  };
}
