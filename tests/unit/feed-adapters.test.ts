// Live-feed adapters and HTTP helpers as pure functions: Retry-After forms, redaction, quota floor, and how each
// provider's items map (or refuse to map) to store terms.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiFootball, currentSeasonYear } from '../../src/ingest/feeds/api-football.js';
import { footballDataOrg } from '../../src/ingest/feeds/football-data-org.js';
import { redactUrl, retryAfterMs } from '../../src/ingest/feeds/http.js';
import { minimumIntervalMs } from '../../src/ingest/feeds/quota.js';
import type { FeedMatch } from '../../src/ingest/feeds/types.js';
import { ROOT } from '../helpers/cli.js';

const fixture = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'feeds', name), 'utf8')) as unknown;

describe('feed HTTP helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    const now = Date.parse('2020-09-12T10:00:00Z');
    expect(retryAfterMs('Sat, 12 Sep 2020 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sat, 12 Sep 2020 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });
  it('never logs a key passed in the query', () => {
    expect(redactUrl('https://x.test/v4/matches?token=abc&season=2020')).toBe('https://x.test/v4/matches?token=***&season=2020');
  });
  it('never polls faster than the quota allows', () => {
    expect(minimumIntervalMs(1, 10)).toBe(6000);
    expect(minimumIntervalMs(3, 10)).toBe(18_000);
  });
});

describe('football-data.org v4', () => {
  const request = footballDataOrg.request('https://api.football-data.org/', 'k', 'PL', 'E0', '2020');
  it('builds the documented request', () => {
    expect(request.url).toBe('https://api.football-data.org/v4/competitions/PL/matches?season=2020');
    expect(request.headers).toEqual({ 'X-Auth-Token': 'k' });
  });
  it('maps the recorded round', () => {
    const env = footballDataOrg.envelope.parse(fixture('football-data-org/PL-2020-md1-2-live.json'));
    const items = env.items.map((i) => footballDataOrg.item(i, request)) as FeedMatch[];
    expect(items.every((i) => !('bad' in i))).toBe(true);
    expect(items[0]).toMatchObject({
      providerMatchId: '303759',
      homeTeam: 'Fulham FC',
      awayTeam: 'Arsenal FC',
      status: 'finished',
      home: 0,
      away: 3,
      halfTimeHome: 0,
      halfTimeAway: 1,
      kickoff: '2020-09-12T11:30:00.000Z',
    });
    expect(items[2]).toMatchObject({ providerStatus: 'PAUSED', status: 'live', home: 3, away: 2 });
    expect(items[8]).toMatchObject({ providerStatus: 'POSTPONED', status: 'scheduled', home: null });
  });
  it('refuses what it cannot read, item by item', () => {
    expect(footballDataOrg.item({ id: 1, utcDate: 'tomorrow', status: 'TIMED', homeTeam: {}, awayTeam: {}, score: {} }, request)).toMatchObject({
      bad: true,
      providerMatchId: '1',
    });
    const unknown = footballDataOrg.item(
      {
        id: 2,
        utcDate: '2020-09-12T11:30:00Z',
        status: 'WEIRD',
        homeTeam: { name: 'A' },
        awayTeam: { name: 'B' },
        score: { fullTime: { home: null, away: null } },
      },
      request,
    );
    expect(unknown).toMatchObject({ status: null, providerStatus: 'WEIRD' });
    expect(footballDataOrg.envelope.safeParse({ message: 'restricted' }).success).toBe(false);
  });
});

describe('API-Football v3', () => {
  const request = apiFootball.request('https://v3.football.api-sports.io', 'k', '39', 'E0', '2020');
  it('builds the documented request', () => {
    expect(request.url).toBe('https://v3.football.api-sports.io/fixtures?league=39&season=2020');
    expect(request.headers).toEqual({ 'x-apisports-key': 'k' });
    expect(currentSeasonYear(new Date('2021-03-01'))).toBe(2020);
    expect(currentSeasonYear(new Date('2021-08-01'))).toBe(2021);
  });
  it('maps the recorded round', () => {
    const env = apiFootball.envelope.parse(fixture('api-football/39-2020-md1-finished.json'));
    const items = env.items.map((i) => apiFootball.item(i, request)) as FeedMatch[];
    expect(items[2]).toMatchObject({ homeTeam: 'Liverpool', awayTeam: 'Leeds', status: 'finished', home: 4, away: 3, halfTimeHome: 3, halfTimeAway: 2 });
    expect(items[9]).toMatchObject({ homeTeam: 'Manchester City', providerStatus: 'PST', status: 'scheduled' });
  });
  it('treats an errors envelope as a failed response', () => {
    expect(apiFootball.envelope.safeParse({ errors: { requests: 'You have reached the request limit for the day' }, response: [] }).success).toBe(false);
    expect(apiFootball.envelope.safeParse({ errors: [], response: [] }).success).toBe(true);
  });
});
