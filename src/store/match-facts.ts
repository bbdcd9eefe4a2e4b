/** Loads matches as the ML layer sees them (MatchFact), with one preferred 1x2 price triple per kind. */
import type { MatchFact, Prices } from '../ml/types.js';
import type { Store } from './connect.js';

/** Price sources in order of preference: the market average is the least noisy consensus; Pinnacle the sharpest single book. */
export const PRICE_PREFERENCE = ['Avg', 'BbAv', 'PS', 'B365'] as const;
/** Market-maximum columns (best available price across bookmakers). */
const MAXIMUM = ['Max', 'BbMx'];

export interface MatchFactFilter {
  competitions?: readonly string[];
  /** Only matches on or before this date. */
  until?: string;
  /** Only matches strictly after this date. */
  after?: string;
  /** Only these matches. */
  ids?: readonly number[];
  /** Only matches without a result. */
  unplayed?: boolean;
}

/**
 * A match in play carries its current score (a feed writes it), which is not a result: features and models must see
 * it as not played until it is finished, so the online state moves on only when a match finishes.
 */
const IN_PLAY = { homeGoals: null, awayGoals: null, homeShots: null, awayShots: null, homeShotsOnTarget: null, awayShotsOnTarget: null } as const;

/** All matches (optionally filtered), sorted by date, kick-off and id. */
export async function loadMatchFacts(store: Store, filter: MatchFactFilter = {}): Promise<MatchFact[]> {
  let q = store.db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .select([
      'm.id',
      'c.code as competition',
      'm.season',
      'm.date',
      'm.kickoff_time',
      'm.status',
      'm.home_team_id',
      'm.away_team_id',
      'm.fthg',
      'm.ftag',
      'm.home_shots',
      'm.away_shots',
      'm.home_shots_on_target',
      'm.away_shots_on_target',
    ]);
  if (filter.competitions?.length) q = q.where('c.code', 'in', filter.competitions);
  if (filter.until) q = q.where('m.date', '<=', filter.until);
  if (filter.after) q = q.where('m.date', '>', filter.after);
  if (filter.ids) q = q.where('m.id', 'in', filter.ids.length ? [...filter.ids] : [-1]);
  if (filter.unplayed) q = q.where('m.fthg', 'is', null);
  const rows = await q.orderBy('m.date').orderBy('m.kickoff_time').orderBy('m.id').execute();

  let oq = store.db
    .selectFrom('odds as o')
    .innerJoin('matches as m', 'm.id', 'o.match_id')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .select(['o.match_id', 'o.bookmaker', 'o.kind', 'o.home', 'o.draw', 'o.away'])
    .where('o.market', '=', '1x2')
    .where('o.bookmaker', 'in', [...PRICE_PREFERENCE, ...MAXIMUM])
    .where('o.home', 'is not', null)
    .where('o.draw', 'is not', null)
    .where('o.away', 'is not', null);
  if (filter.competitions?.length) oq = oq.where('c.code', 'in', filter.competitions);
  if (filter.until) oq = oq.where('m.date', '<=', filter.until);
  if (filter.after) oq = oq.where('m.date', '>', filter.after);
  if (filter.ids) oq = oq.where('m.id', 'in', filter.ids.length ? [...filter.ids] : [-1]);
  if (filter.unplayed) oq = oq.where('m.fthg', 'is', null);
  const odds = await oq.execute();

  const rank = (bookmaker: string) => PRICE_PREFERENCE.indexOf(bookmaker as (typeof PRICE_PREFERENCE)[number]);
  const best = new Map<string, { rank: number; prices: Prices }>();
  const maxima = new Map<number, Prices>();
  for (const o of odds) {
    if (MAXIMUM.includes(o.bookmaker)) {
      if (o.kind === 'pre') maxima.set(Number(o.match_id), [o.home!, o.draw!, o.away!]);
      continue;
    }
    const key = `${o.match_id}|${o.kind}`;
    const r = rank(o.bookmaker);
    const current = best.get(key);
    if (!current || r < current.rank) best.set(key, { rank: r, prices: [o.home!, o.draw!, o.away!] });
  }
  return rows.map((r) => ({
    ...(r.status === 'live'
      ? IN_PLAY
      : {
          homeGoals: r.fthg,
          awayGoals: r.ftag,
          homeShots: r.home_shots,
          awayShots: r.away_shots,
          homeShotsOnTarget: r.home_shots_on_target,
          awayShotsOnTarget: r.away_shots_on_target,
        }),
    id: Number(r.id),
    competition: r.competition,
    season: r.season,
    date: r.date,
    kickoff: r.kickoff_time,
    homeTeam: Number(r.home_team_id),
    awayTeam: Number(r.away_team_id),
    preOdds: best.get(`${r.id}|pre`)?.prices ?? null,
    closingOdds: best.get(`${r.id}|closing`)?.prices ?? null,
    bestPreOdds: maxima.get(Number(r.id)) ?? null,
    status: r.status,
  }));
}
