/** Querying matches with filters, sort and keyset or offset paging. */
import { UserError } from '../src/errors.js';
import type { Store } from '../src/store/connect.js';

export const MATCH_SORTS = ['date', '-date', 'competition', 'home', 'away'] as const;
export type MatchSort = (typeof MATCH_SORTS)[number];

export interface MatchQuery {
  competition?: string[];
  season?: string[];
  team?: string;
  from?: string;
  to?: string;
  status?: string;
  sort?: MatchSort;
  limit?: number;
  offset?: number;
  /** Opaque cursor from a previous page (date sorts only). */
  cursor?: string;
  /** Only this match. */
  id?: number;
}

export interface MatchListItem {
  id: number;
  competition: string;
  season: string;
  date: string;
  time: string | null;
  home: string;
  away: string;
  status: string;
  fthg: number | null;
  ftag: number | null;
  ftr: string | null;
  hthg: number | null;
  htag: number | null;
  referee: string | null;
}

export interface MatchPage {
  items: MatchListItem[];
  total: number;
  /** Pass as --cursor for the next page; null on the last one. */
  nextCursor: string | null;
}

function decodeCursor(cursor: string): { date: string; id: number } {
  try {
    const [date, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
    if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date) || !id || !/^\d+$/.test(id)) throw new Error('bad');
    return { date, id: Number(id) };
  } catch {
    throw new UserError(`invalid --cursor "${cursor}"`, { hint: 'pass the nextCursor value printed by the previous page' });
  }
}

/** Lists matches matching the query, with the total count for the filters. */
export async function listMatches(store: Store, query: MatchQuery): Promise<MatchPage> {
  const sort = query.sort ?? 'date';
  if (query.cursor && sort !== 'date' && sort !== '-date') {
    throw new UserError('--cursor works with --sort date or -date only');
  }
  let base = store.db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .innerJoin('teams as h', 'h.id', 'm.home_team_id')
    .innerJoin('teams as a', 'a.id', 'm.away_team_id');
  if (query.competition?.length) base = base.where('c.code', 'in', query.competition);
  if (query.season?.length) base = base.where('m.season', 'in', query.season);
  if (query.status) base = base.where('m.status', '=', query.status);
  if (query.id !== undefined) base = base.where('m.id', '=', query.id);
  if (query.from) base = base.where('m.date', '>=', query.from);
  if (query.to) base = base.where('m.date', '<=', query.to);
  if (query.team) {
    // A team filter matches the canonical name or any alias, case-insensitively.
    const key = query.team.trim().toLowerCase();
    const ids = store.db
      .selectFrom('team_aliases as ta')
      .innerJoin('teams as t', 't.id', 'ta.team_id')
      .select('t.id')
      .where((eb) => eb.or([eb('ta.alias', '=', key), eb(eb.fn('lower', ['t.name']), '=', key)]));
    base = base.where((eb) => eb.or([eb('m.home_team_id', 'in', ids), eb('m.away_team_id', 'in', ids)]));
  }
  const { total } = await base.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow();

  let q = base.select([
    'm.id',
    'c.code as competition',
    'm.season',
    'm.date',
    'm.kickoff_time as time',
    'h.name as home',
    'a.name as away',
    'm.status',
    'm.fthg',
    'm.ftag',
    'm.ftr',
    'm.hthg',
    'm.htag',
    'm.referee',
  ]);
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    q =
      sort === 'date'
        ? q.where((eb) => eb.or([eb('m.date', '>', c.date), eb.and([eb('m.date', '=', c.date), eb('m.id', '>', c.id)])]))
        : q.where((eb) => eb.or([eb('m.date', '<', c.date), eb.and([eb('m.date', '=', c.date), eb('m.id', '<', c.id)])]));
  }
  switch (sort) {
    case 'date':
      q = q.orderBy('m.date').orderBy('m.id');
      break;
    case '-date':
      q = q.orderBy('m.date', 'desc').orderBy('m.id', 'desc');
      break;
    case 'competition':
      q = q.orderBy('c.code').orderBy('m.date').orderBy('m.id');
      break;
    case 'home':
      q = q.orderBy('h.name').orderBy('m.date').orderBy('m.id');
      break;
    case 'away':
      q = q.orderBy('a.name').orderBy('m.date').orderBy('m.id');
      break;
  }
  const limit = query.limit ?? 50;
  q = q.limit(limit);
  if (query.offset && !query.cursor) q = q.offset(query.offset);
  const rows = await q.execute();
  const items: MatchListItem[] = rows.map((r) => ({ ...r, id: Number(r.id) }));
  const last = items[items.length - 1];
  const nextCursor =
    items.length === limit && last && (sort === 'date' || sort === '-date') ? Buffer.from(`${last.date}|${last.id}`).toString('base64url') : null;
  return { items, total: Number(total), nextCursor };
}
