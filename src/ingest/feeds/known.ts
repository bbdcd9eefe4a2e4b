/**
 * What a feed response's items are matched against, read once per response (one query for the provider's links, one
 * for the competition's matches around the response's dates) rather than once per item.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { ApplyInput } from './apply.js';
import type { FeedMatch } from './types.js';

/** What a response's items are matched against, read once per response rather than once per item. */
export interface Known {
  /** The provider's links of the response's match ids. */
  links: Map<string, { match_id: number; provider_status: string }>;
  /** The competition's matches within a day of the response's dates (new ones are added as they are inserted). */
  matches: Array<{ id: number; date: string; home: number; away: number }>;
  /** Of those matches, the ones the provider already feeds: store match id → provider match id. */
  fedBy: Map<number, string>;
}

/** The links and nearby matches of a response's items. */
export async function knownRows(tx: Transaction<Database>, input: ApplyInput, competitionId: number | null): Promise<Known> {
  const items = input.items.filter((i): i is FeedMatch => !('bad' in i));
  const ids = [...new Set(items.map((i) => i.providerMatchId))];
  const links = new Map<string, { match_id: number; provider_status: string }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('feed_matches')
      .select(['provider_match_id', 'match_id', 'provider_status'])
      .where('provider', '=', input.provider)
      .where('provider_match_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) links.set(r.provider_match_id, { match_id: Number(r.match_id), provider_status: r.provider_status });
  }
  const dates = items
    .map((i) => i.kickoff.slice(0, 10))
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort();
  if (competitionId === null || dates.length === 0) return { links, matches: [], fedBy: new Map() };
  const rows = await tx
    .selectFrom('matches')
    .select(['id', 'date', 'home_team_id', 'away_team_id'])
    .where('competition_id', '=', competitionId)
    .where('date', '>=', shiftDate(dates[0]!, -1))
    .where('date', '<=', shiftDate(dates[dates.length - 1]!, 1))
    .execute();
  const matches = rows.map((r) => ({ id: Number(r.id), date: String(r.date).slice(0, 10), home: Number(r.home_team_id), away: Number(r.away_team_id) }));
  const fedBy = new Map<number, string>();
  for (let i = 0; i < matches.length; i += 500) {
    const fed = await tx
      .selectFrom('feed_matches')
      .select(['match_id', 'provider_match_id'])
      .where('provider', '=', input.provider)
      .where(
        'match_id',
        'in',
        matches.slice(i, i + 500).map((x) => x.id),
      )
      .execute();
    for (const f of fed) fedBy.set(Number(f.match_id), f.provider_match_id);
  }
  return { links, matches, fedBy };
}

/** iso (yyyy-mm-dd) moved by whole days. */
export function shiftDate(iso: string, days: number): string {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Days from b to a (dates as yyyy-mm-dd; a may carry a time). */
export function dayDiff(a: string, b: string): number {
  return (Date.parse(`${a.slice(0, 10)}T00:00:00Z`) - Date.parse(`${b}T00:00:00Z`)) / 86_400_000;
}
