/**
 * football-data.org v4: `GET /v4/competitions/{code}/matches` with `X-Auth-Token`; the answer is
 * `{ matches: [{ id, utcDate, status, matchday, homeTeam{name,shortName,tla}, awayTeam, score{fullTime, halfTime} }] }`.
 * While a match is played, `score.fullTime` holds the current score.
 */
import { z } from 'zod';
import { zodReason, type BadItem, type FeedMatch, type FeedProvider, type FeedRequest, type StoreStatus } from './types.js';

/** Every status v4 documents, and what it means for the store. */
const STATUSES: Record<string, StoreStatus> = {
  SCHEDULED: 'scheduled',
  TIMED: 'scheduled',
  IN_PLAY: 'live',
  PAUSED: 'live',
  // Stopped during play: the score so far stays, the match is not over.
  SUSPENDED: 'live',
  FINISHED: 'finished',
  AWARDED: 'finished',
  // Not played (yet): the store keeps it as a fixture; the provider's word is kept in feed_matches.
  POSTPONED: 'scheduled',
  CANCELLED: 'scheduled',
};

const goals = z.number().int().min(0).nullable().optional();
const team = z.object({ name: z.string().min(1).nullable(), shortName: z.string().nullable().optional(), tla: z.string().nullable().optional() });
const item = z.object({
  id: z.number().int(),
  utcDate: z.string().datetime({ offset: true }),
  status: z.string(),
  matchday: z.number().int().nullable().optional(),
  homeTeam: team,
  awayTeam: team,
  score: z.object({
    fullTime: z.object({ home: goals, away: goals }),
    halfTime: z.object({ home: goals, away: goals }).optional(),
  }),
});

/** The football-data.org v4 adapter. */
export const footballDataOrg: FeedProvider = {
  name: 'football-data-org',
  keyEnv: 'FOOTBALL_DATA_ORG_TOKEN',
  defaultBaseUrl: 'https://api.football-data.org',
  baseUrlEnv: 'ORACX_FOOTBALL_DATA_ORG_URL',
  defaultCompetitions: { PL: 'E0', ELC: 'E1', BL1: 'D1', SA: 'I1', PD: 'SP1', FL1: 'F1', DED: 'N1', PPL: 'P1' },
  defaultPerMinute: 10,
  request(baseUrl, key, providerCompetition, competition, season): FeedRequest {
    const url = new URL(`${baseUrl.replace(/\/+$/, '')}/v4/competitions/${encodeURIComponent(providerCompetition)}/matches`);
    // v4 takes the season's starting year.
    if (season) url.searchParams.set('season', season);
    return { url: url.toString(), headers: { 'X-Auth-Token': key }, providerCompetition, competition };
  },
  envelope: z.object({ matches: z.array(z.unknown()) }).transform((b) => ({ items: b.matches })),
  item(raw, request): FeedMatch | BadItem {
    const parsed = item.safeParse(raw);
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? String((raw as { id: number }).id) : null;
    if (!parsed.success) return { bad: true, providerMatchId: id, reason: `invalid match: ${zodReason(parsed.error)}`, raw };
    const m = parsed.data;
    if (!m.homeTeam.name || !m.awayTeam.name) return { bad: true, providerMatchId: id, reason: 'invalid match: a team has no name yet', raw };
    return {
      providerMatchId: String(m.id),
      competition: request.competition,
      providerCompetition: request.providerCompetition,
      kickoff: new Date(m.utcDate).toISOString(),
      providerStatus: m.status,
      status: STATUSES[m.status] ?? null,
      homeTeam: m.homeTeam.name,
      awayTeam: m.awayTeam.name,
      home: m.score.fullTime.home ?? null,
      away: m.score.fullTime.away ?? null,
      halfTimeHome: m.score.halfTime?.home ?? null,
      halfTimeAway: m.score.halfTime?.away ?? null,
      raw,
    };
  },
};
