/**
 * API-Football v3: `GET /fixtures?league={id}&season={YYYY}` with `x-apisports-key`; the answer is
 * `{ response: [{ fixture{id, date, status{short}}, league, teams{home{name}, away{name}}, goals{home, away},
 * score{halftime{home, away}} }] }`. `goals` is the current score while live and includes extra time, not penalties.
 */
import { z } from 'zod';
import { zodReason, type BadItem, type FeedMatch, type FeedProvider, type FeedRequest, type StoreStatus } from './types.js';

/** The `fixture.status.short` values API-Football documents. */
const STATUSES: Record<string, StoreStatus> = {
  TBD: 'scheduled',
  NS: 'scheduled',
  '1H': 'live',
  HT: 'live',
  '2H': 'live',
  ET: 'live',
  BT: 'live',
  P: 'live',
  SUSP: 'live',
  INT: 'live',
  LIVE: 'live',
  FT: 'finished',
  AET: 'finished',
  PEN: 'finished',
  AWD: 'finished',
  WO: 'finished',
  // Not played: kept as a fixture (the provider's word is in feed_matches).
  PST: 'scheduled',
  CANC: 'scheduled',
  ABD: 'scheduled',
};

const goals = z.number().int().min(0).nullable().optional();
const item = z.object({
  fixture: z.object({
    id: z.number().int(),
    date: z.string().datetime({ offset: true }),
    status: z.object({ short: z.string() }),
  }),
  teams: z.object({ home: z.object({ name: z.string().min(1) }), away: z.object({ name: z.string().min(1) }) }),
  goals: z.object({ home: goals, away: goals }),
  score: z.object({ halftime: z.object({ home: goals, away: goals }).optional() }).optional(),
});

/** API-Football reports some failures as 200 with `errors` filled (a bad key, the daily quota). */
const envelope = z
  .object({
    errors: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
    response: z.array(z.unknown()),
  })
  .superRefine((b, ctx) => {
    const errors = Array.isArray(b.errors) ? b.errors : Object.entries(b.errors ?? {}).map(([k, v]) => `${k}: ${String(v)}`);
    if (errors.length > 0) ctx.addIssue({ code: 'custom', message: `the provider answered with errors: ${errors.join('; ')}` });
  })
  .transform((b) => ({ items: b.response }));

/** The API-Football v3 adapter. */
export const apiFootball: FeedProvider = {
  name: 'api-football',
  keyEnv: 'API_FOOTBALL_KEY',
  defaultBaseUrl: 'https://v3.football.api-sports.io',
  baseUrlEnv: 'ORACX_API_FOOTBALL_URL',
  // League ids: Premier League 39, Championship 40, Bundesliga 78, Serie A 135, La Liga 140, Ligue 1 61,
  // Eredivisie 88, Primeira Liga 94.
  defaultCompetitions: { '39': 'E0', '40': 'E1', '78': 'D1', '135': 'I1', '140': 'SP1', '61': 'F1', '88': 'N1', '94': 'P1' },
  defaultPerMinute: 10,
  request(baseUrl, key, providerCompetition, competition, season): FeedRequest {
    const url = new URL(`${baseUrl.replace(/\/+$/, '')}/fixtures`);
    url.searchParams.set('league', providerCompetition);
    url.searchParams.set('season', season ?? String(currentSeasonYear(new Date())));
    return { url: url.toString(), headers: { 'x-apisports-key': key }, providerCompetition, competition };
  },
  envelope,
  item(raw, request): FeedMatch | BadItem {
    const parsed = item.safeParse(raw);
    const rawId = (raw as { fixture?: { id?: unknown } })?.fixture?.id;
    const id = typeof rawId === 'number' ? String(rawId) : null;
    if (!parsed.success) return { bad: true, providerMatchId: id, reason: `invalid fixture: ${zodReason(parsed.error)}`, raw };
    const m = parsed.data;
    return {
      providerMatchId: String(m.fixture.id),
      competition: request.competition,
      providerCompetition: request.providerCompetition,
      kickoff: new Date(m.fixture.date).toISOString(),
      providerStatus: m.fixture.status.short,
      status: STATUSES[m.fixture.status.short] ?? null,
      homeTeam: m.teams.home.name,
      awayTeam: m.teams.away.name,
      home: m.goals.home ?? null,
      away: m.goals.away ?? null,
      halfTimeHome: m.score?.halftime?.home ?? null,
      halfTimeAway: m.score?.halftime?.away ?? null,
      raw,
    };
  },
};

/** API-Football's season is the starting year: July onwards starts a new one. */
export function currentSeasonYear(now: Date): number {
  return now.getUTCMonth() >= 6 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
}
