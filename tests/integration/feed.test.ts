// `collect feed` end to end over real HTTP on 127.0.0.1: a local server replays recorded football-data.org v4 and
// API-Football v3 responses (fixtures/feeds/), with ETags, 429 + Retry-After, HTML and truncated JSON; on SQLite and
// PostgreSQL.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { PollResult } from '../../pipelines/feed.js';
import { liveCacheKey, readLiveCache } from '../../src/ingest/feeds/live-cache.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';
import { REDIS_URL, redisReachable } from '../helpers/redis.js';
import { useReplayServer, withEtag } from '../helpers/replay-server.js';

const FEEDS = path.join(ROOT, 'fixtures', 'feeds');
const redisUp = await redisReachable();
if (!redisUp) {
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`CI: no Redis at ${REDIS_URL} for the live-cache test`);
  console.warn(`[oracx tests] live-cache test skipped: no Redis at ${REDIS_URL}`);
}
const read = (name: string) => readFileSync(path.join(FEEDS, name), 'utf8');
const TIMED = read('football-data-org/PL-2020-md1-1-timed.json');
const LIVE = read('football-data-org/PL-2020-md1-2-live.json');
const FINISHED = read('football-data-org/PL-2020-md1-3-finished.json');
const AF_FINISHED = read('api-football/39-2020-md1-finished.json');
const ALIASES = JSON.parse(read('aliases.json')) as Record<string, string>;

/** The 8 played matches of the round, from football-data.co.uk's results file (the truth the feed must reach). */
const RESULTS = readFileSync(path.join(FIXTURES, 'upcoming', 'E0_2020-2021.csv'), 'utf8')
  .split(/\r?\n/)
  .slice(1, 9)
  .map((line) => {
    const c = line.split(',');
    return { home: c[3]!, away: c[4]!, fthg: Number(c[5]), ftag: Number(c[6]), hthg: Number(c[8]), htag: Number(c[9]) };
  });

const replay = useReplayServer();
const { script, seen } = replay;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`collect feed on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`skipping collect feed on ${dialect.name}: service not available`);
    let n = 0;
    // Each test gets its own competition path prefix, so tests never share a script entry.
    const setup = async (aliases: Record<string, string> = ALIASES) => {
      const location = dialect.newLocation();
      const cwd = tempDir();
      const code = `P${dialect.name}${++n}`;
      const env = {
        FOOTBALL_DATA_ORG_TOKEN: 'tok-123',
        API_FOOTBALL_KEY: 'key-456',
        ORACX_FOOTBALL_DATA_ORG_URL: replay.base,
        ORACX_API_FOOTBALL_URL: `${replay.base}/${code}`,
      };
      const cli = (...argv: string[]) => runCli(['--store', location, ...argv], { env, cwd });
      /** `collect feed` from the replay server's football-data.org competition of this test, as E0. */
      const feedArgs = ['collect', 'feed', '--provider', 'football-data-org', '--competitions', code, '--map', `${code}=E0`];
      const collected = await cli('collect', 'football-data', path.join(FIXTURES, 'upcoming', 'fixtures.csv'));
      expect(collected.code, collected.stderr).toBe(0);
      const file = path.join(cwd, 'aliases.json');
      writeFileSync(file, JSON.stringify(aliases));
      const aliased = await cli('teams', 'alias', '--file', file);
      expect(aliased.code, aliased.stderr).toBe(0);
      const feed = async (...extra: string[]) => {
        const r = await cli(...feedArgs, '--json', '--retries', '1', '--quota', '600/min', ...extra);
        return { ...r, poll: r.code === 0 ? r.json<{ polls: PollResult[] }>().polls.at(-1)!.competitions[0]! : undefined };
      };
      const store = await openStore(location);
      stores.push(store);
      return { cli, feed, feedArgs, store, location, env, path: `/v4/competitions/${code}/matches`, code };
    };
    const stores: Store[] = [];
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    const round = (store: Store) =>
      store.db
        .selectFrom('matches as m')
        .innerJoin('teams as h', 'h.id', 'm.home_team_id')
        .innerJoin('teams as a', 'a.id', 'm.away_team_id')
        .select(['m.id', 'h.name as home', 'a.name as away', 'm.status', 'm.fthg', 'm.ftag', 'm.ftr', 'm.hthg', 'm.htag', 'm.date'])
        .where('m.date', '>=', '2020-09-12')
        .where('m.date', '<=', '2020-09-14')
        .orderBy('m.id')
        .execute();

    it('follows a round from fixtures to results: aliases, quarantine of an unknown team, ETag, changes and match_finished once', async () => {
      const { cli, feed, store, path: p } = await setup(Object.fromEntries(Object.entries(ALIASES).filter(([k]) => !k.startsWith('Wolverhampton'))));
      script.set(p, [withEtag(TIMED, '"v1"')]);

      // 1. Wolves under football-data.org's name is unknown: quarantined, never made a new team.
      const first = await feed();
      expect(first.code, first.stderr).toBe(0);
      expect(first.poll).toMatchObject({ outcome: 'applied', items: 10, inserted: 2, updated: 0, unchanged: 7, quarantined: 1, finished: 0 });
      const q = await store.db.selectFrom('quarantine').select(['reason', 'raw']).where('source', 'like', 'feed:%').execute();
      expect(q).toHaveLength(1);
      expect(q[0]!.reason).toMatch(/^unknown team: "Wolverhampton Wanderers FC" in E0/);
      expect(q[0]!.reason).toContain('oracx teams alias');
      expect(await store.db.selectFrom('teams').select('id').where('name', 'like', 'Wolverhampton%').execute()).toHaveLength(0);
      // The two postponed matches were not in the store: added as fixtures.
      const postponed = (await round(store)).filter((m) => m.home === 'Burnley' || m.home === 'Man City');
      expect(postponed.map((m) => [m.home, m.away, m.status])).toEqual([
        ['Burnley', 'Man United', 'scheduled'],
        ['Man City', 'Aston Villa', 'scheduled'],
      ]);

      // 2. After a quarantine no validator is kept, so once the alias exists the same body is applied in full.
      const alias = await cli('teams', 'alias', 'Wolverhampton Wanderers FC', 'Wolves');
      expect(alias.code, alias.stderr).toBe(0);
      const second = await feed();
      expect(seen.filter((s) => s.path.startsWith(p)).at(-1)!.headers['if-none-match']).toBeUndefined();
      expect(second.poll).toMatchObject({ outcome: 'applied', inserted: 0, updated: 0, quarantined: 0, unchanged: 10 });

      // 3. Now the ETag is sent and a 304 applies nothing.
      const third = await feed();
      const last = seen.filter((s) => s.path.startsWith(p)).at(-1)!;
      expect(last.headers['if-none-match']).toBe('"v1"');
      expect(last.headers['x-auth-token']).toBe('tok-123');
      expect(third.poll).toMatchObject({ outcome: 'not-modified', updated: 0 });

      // 4. Live: two finished, Liverpool v Leeds at half-time.
      script.set(p, [withEtag(LIVE, '"v2"')]);
      const live = await feed();
      expect(live.poll).toMatchObject({ outcome: 'applied', updated: 3, finished: 2, quarantined: 0 });
      const liverpool = (await round(store)).find((m) => m.home === 'Liverpool')!;
      expect([liverpool.status, liverpool.fthg, liverpool.ftag, liverpool.ftr]).toEqual(['live', 3, 2, null]);

      // 5. The same content under another ETag (the provider's cache changed, not the data): nothing applied.
      const changesBefore = await store.db
        .selectFrom('match_changes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      script.set(p, [withEtag(LIVE, '"v2b"')]);
      const again = await feed();
      expect(again.poll).toMatchObject({ updated: 0, inserted: 0, finished: 0 });

      // 6. Full time, with one match sent twice in the body: each match finishes once.
      const finished = JSON.parse(FINISHED) as { matches: unknown[] };
      finished.matches.push(finished.matches[0]);
      script.set(p, [withEtag(JSON.stringify(finished), '"v3"')]);
      const done = await feed();
      expect(done.poll).toMatchObject({ outcome: 'applied', items: 11, updated: 6, finished: 6, quarantined: 0 });
      const changesAfter = await store.db
        .selectFrom('match_changes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(changesAfter.n)).toBeGreaterThan(Number(changesBefore.n));

      const stored = await round(store);
      for (const r of RESULTS) {
        const m = stored.find((s) => s.home === r.home && s.away === r.away)!;
        expect([m.status, m.fthg, m.ftag, m.hthg, m.htag], `${r.home} v ${r.away}`).toEqual(['finished', r.fthg, r.ftag, r.hthg, r.htag]);
        expect(m.ftr).toBe(r.fthg > r.ftag ? 'H' : r.fthg < r.ftag ? 'A' : 'D');
      }
      const events = await store.db.selectFrom('events').selectAll().orderBy('id').execute();
      expect(events).toHaveLength(8);
      expect(new Set(events.map((e) => e.match_id)).size).toBe(8);
      const fulham = stored.find((m) => m.home === 'Fulham')!;
      const payload = JSON.parse(events.find((e) => Number(e.match_id) === Number(fulham.id))!.payload);
      expect(payload).toMatchObject({
        competition: 'E0',
        season: '2020-2021',
        homeTeam: 'Fulham',
        awayTeam: 'Arsenal',
        homeGoals: 0,
        awayGoals: 3,
        provider: 'football-data-org',
      });
      const changes = await store.db
        .selectFrom('match_changes')
        .select(['field', 'old_value', 'new_value'])
        .where('match_id', '=', fulham.id)
        .orderBy('id')
        .execute();
      expect(changes.map((c) => `${c.field}:${c.old_value}→${c.new_value}`)).toEqual([
        'provider_status:null→TIMED',
        'status:scheduled→finished',
        'fthg:null→0',
        'ftag:null→3',
        'ftr:null→A',
        'hthg:null→0',
        'htag:null→1',
        'htr:null→A',
        'provider_status:TIMED→FINISHED',
      ]);

      // 7. Bad items: a score going backwards, a finished match reported live, an unknown status. Refused, logged,
      // quarantined; the store keeps what it had and the rest of the body is applied.
      const bad = JSON.parse(FINISHED) as { matches: { status: string; score: { fullTime: { home: number; away: number } } }[] };
      bad.matches[0]!.score.fullTime.away = 2; // Fulham 0-3 Arsenal → 0-2
      bad.matches[1]!.status = 'IN_PLAY';
      bad.matches[2]!.status = 'HALF_TIME_SOMETHING';
      script.set(p, [withEtag(JSON.stringify(bad), '"v4"')]);
      const refused = await feed();
      expect(refused.code, refused.stderr).toBe(0);
      expect(refused.poll).toMatchObject({ quarantined: 3, updated: 0, finished: 0 });
      expect(refused.stderr).toContain('3 item(s) quarantined');
      const reasons = (await store.db.selectFrom('quarantine').select('reason').where('source', 'like', 'feed:%').execute()).map((r) => r.reason);
      expect(reasons.some((r) => r.startsWith('score going backwards: 0-3 → 0-2'))).toBe(true);
      expect(reasons.some((r) => r.startsWith('status going backwards: finished → live (IN_PLAY)'))).toBe(true);
      expect(reasons.some((r) => r.startsWith('unknown status: "HALF_TIME_SOMETHING"'))).toBe(true);
      expect(await round(store)).toEqual(stored);
      expect(await store.db.selectFrom('events').selectAll().execute()).toHaveLength(8);
      // Polled again, the same refusals are not quarantined twice.
      const quarantinedBefore = reasons.length;
      await feed();
      expect(await store.db.selectFrom('quarantine').select('reason').where('source', 'like', 'feed:%').execute()).toHaveLength(quarantinedBefore);
      // --strict turns quarantined items into exit 1.
      expect((await feed('--strict')).code).toBe(1);
    });

    it('API-Football: the same round applied through the same aliases; a second provider finishes nothing twice', async () => {
      const { cli, feed, store, code } = await setup();
      script.set(`/${code}/fixtures`, [{ body: AF_FINISHED }]);
      const af = async () => {
        const r = await cli('collect', 'feed', '--provider', 'api-football', '--competitions', '39', '--season', '2020', '--json');
        expect(r.code, r.stderr).toBe(0);
        return r.json<{ polls: PollResult[] }>().polls[0]!.competitions[0]!;
      };
      expect(await af()).toMatchObject({ outcome: 'applied', competition: 'E0', items: 10, inserted: 2, updated: 8, finished: 8, quarantined: 0 });
      const req = seen.filter((s) => s.path.startsWith(`/${code}/fixtures`)).at(-1)!;
      expect(req.path).toBe(`/${code}/fixtures?league=39&season=2020`);
      expect(req.headers['x-apisports-key']).toBe('key-456');
      // No ETag from this server: the same body again is recognised by its hash and applies nothing.
      expect(await af()).toMatchObject({ outcome: 'not-modified', updated: 0 });
      const stored = await round(store);
      for (const r of RESULTS) {
        const m = stored.find((s) => s.home === r.home && s.away === r.away)!;
        expect([m.status, m.fthg, m.ftag, m.hthg, m.htag]).toEqual(['finished', r.fthg, r.ftag, r.hthg, r.htag]);
      }
      // football-data.org then reports the same results: links its own ids, changes nothing, emits no event.
      const { path: p } = { path: `/v4/competitions/${code}/matches` };
      script.set(p, [{ body: FINISHED }]);
      const fdo = await feed();
      expect(fdo.poll).toMatchObject({ updated: 0, finished: 0, quarantined: 0 });
      expect(await store.db.selectFrom('events').selectAll().execute()).toHaveLength(8);
      // API-Football's errors envelope (a bad key answered with 200) is a failed poll, nothing applied.
      script.set(`/${code}/fixtures`, [{ body: JSON.stringify({ errors: { token: 'Error/Missing application key' }, response: [] }) }]);
      const refused = await cli('collect', 'feed', '--provider', 'api-football', '--competitions', '39', '--season', '2020');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Error/Missing application key');
    });

    it('HTML, truncated JSON, 429 with Retry-After, 5xx and a missing key: clear errors, nothing applied', async () => {
      const { feed, store, path: p } = await setup();
      const before = await round(store);

      script.set(p, [{ body: '<!DOCTYPE html><html><body>Service Unavailable</body></html>', headers: { 'content-type': 'text/html' } }]);
      const html = await feed();
      expect(html.code).toBe(1);
      expect(html.stderr).toContain('the provider answered HTML, not JSON');

      script.set(p, [{ body: FINISHED.slice(0, 5000) }]);
      const truncated = await feed();
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toContain('malformed or truncated JSON');
      expect(await round(store)).toEqual(before);
      const kept = await store.db.selectFrom('quarantine').select(['line', 'reason', 'raw']).where('source', 'like', 'feed:%').orderBy('id').execute();
      expect(kept.map((k) => k.line)).toEqual([0, 0]);
      expect(kept[0]!.raw).toContain('Service Unavailable');
      expect(kept.map((k) => k.reason.split(':')[0])).toEqual(['unreadable response', 'unreadable response']);

      // 429: the Retry-After second is waited, then the answer is applied.
      script.set(p, [{ status: 429, headers: { 'retry-after': '1' }, body: '{"message":"You reached your request limit."}' }, { body: FINISHED }]);
      const t0 = Date.now();
      const limited = await feed();
      expect(limited.code, limited.stderr).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(limited.poll).toMatchObject({ finished: 8 });
      expect(limited.stderr).toContain('retry 1');

      // A Retry-After longer than the poll can wait fails the poll with what the provider asked.
      script.set(p, [{ status: 429, headers: { 'retry-after': '3600' }, body: '{}' }]);
      const tooLong = await feed();
      expect(tooLong.code).toBe(1);
      expect(tooLong.stderr).toContain('the provider asks to wait 3600 s');

      script.set(p, [{ status: 503, body: 'busy' }]);
      const down = await feed();
      expect(down.code).toBe(1);
      expect(down.stderr).toContain('HTTP 503 (after 2 attempts)');

      script.set(p, [{ status: 403, body: '{"message":"The resource you are looking for is restricted."}' }]);
      const forbidden = await feed();
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toContain('check the provider key');

      const noKey = await runCli(['--store', dialect.newLocation(), 'collect', 'feed', '--provider', 'football-data-org', '--competitions', 'PL'], { env: {} });
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('FOOTBALL_DATA_ORG_TOKEN is not set');
      const unmapped = await feed('--competitions', 'XX');
      expect(unmapped.code).toBe(1);
      expect(unmapped.stderr).toContain('no oracx competition for football-data-org competition XX');
      expect((await feed('--polls', '2')).code).toBe(2);
    });

    it('Last-Modified: sent back as If-Modified-Since, and the 304 applies nothing', async () => {
      const { feed, path: p } = await setup();
      const lm = 'Sat, 12 Sep 2020 10:00:00 GMT';
      script.set(p, [(h) => (h['if-modified-since'] === lm ? { status: 304 } : { body: TIMED, headers: { 'last-modified': lm } })]);
      expect((await feed()).poll).toMatchObject({ outcome: 'applied' });
      const second = await feed();
      expect(seen.filter((x) => x.path.startsWith(p)).at(-1)!.headers['if-modified-since']).toBe(lm);
      expect(second.poll).toMatchObject({ outcome: 'not-modified', updated: 0, inserted: 0 });
    });

    it('two processes polling at once apply each change once', async () => {
      const { feed, feedArgs, store, location, env, path: p } = await setup();
      script.set(p, [{ body: FINISHED }]);
      // Real processes (the built bin/oracx.js): in one process, two SQLite connections would block each other's
      // event loop.
      const argv = ['--store', location, ...feedArgs, '--quota', '600/min'];
      const [a, b] = await Promise.all([spawnCli(argv, { env }).done, spawnCli(argv, { env }).done]);
      // One applies; the other finds it applied (not-modified), or on PostgreSQL loses the race on a link, rolls back
      // and applies again, finding nothing left to do.
      expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
      const outcomes = [a.stdout, b.stdout].join('');
      expect(outcomes.match(/│ applied/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
      const third = await feed();
      expect(third.code, third.stderr).toBe(0);
      expect(third.poll).toMatchObject({ updated: 0, inserted: 0, finished: 0 });
      expect(await store.db.selectFrom('events').selectAll().execute()).toHaveLength(8);
      const statusChanges = await store.db.selectFrom('match_changes').select('match_id').where('field', '=', 'status').execute();
      // 8 fixtures finished and 2 postponed matches added: one status change each, none twice.
      expect(statusChanges).toHaveLength(10);
      expect(new Set(statusChanges.map((c) => c.match_id)).size).toBe(10);
    });

    it.skipIf(!redisUp)('--redis keeps the live matches of each competition for the service, and a Redis outage costs a warning only', async () => {
      const { cli, feedArgs, path: p } = await setup();
      const prefix = `oracx-test-feed-${process.pid}-${dialect.name}-${Date.now()}:`;
      const redis = new Redis(REDIS_URL);
      try {
        const feed = (body: string, ...extra: string[]) => {
          script.set(p, [{ body }]);
          return cli(...feedArgs, '--quota', '600/min', '--redis', REDIS_URL, '--redis-prefix', prefix, ...extra);
        };
        expect((await feed(LIVE)).code).toBe(0);
        const live = await readLiveCache(redis, prefix, 'E0');
        expect(live).toEqual([
          expect.objectContaining({
            competition: 'E0',
            season: '2020-2021',
            date: '2020-09-12',
            homeTeam: 'Liverpool',
            awayTeam: 'Leeds',
            providerStatus: 'PAUSED',
            homeGoals: 3,
            awayGoals: 2,
          }),
        ]);
        const ttl = await redis.pttl(liveCacheKey(prefix, 'E0'));
        expect(ttl).toBeGreaterThan(60_000);
        expect(ttl).toBeLessThanOrEqual(90_000);
        // Full time: nothing live any more, the hash is gone.
        expect((await feed(FINISHED)).code).toBe(0);
        expect(await readLiveCache(redis, prefix, 'E0')).toEqual([]);
        expect(await redis.exists(liveCacheKey(prefix, 'E0'))).toBe(0);
        // Redis unreachable: the poll still applies, with one warning.
        const noRedis = await cli(...feedArgs, '--quota', '600/min', '--redis', 'redis://127.0.0.1:1');
        expect(noRedis.code, noRedis.stderr).toBe(0);
        expect(noRedis.stderr).toContain('live matches not cached (the store has them)');
      } finally {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('teams alias: adds once, refuses an alias of another team or an unknown team with suggestions, --file all or none', async () => {
      const { cli, store, location } = await setup({});
      const added = await cli('teams', 'alias', 'Manchester United FC', 'Man United', '--json');
      expect(added.code, added.stderr).toBe(0);
      expect(added.json<{ aliases: unknown[] }>().aliases).toEqual([
        { alias: 'Manchester United FC', team: 'Man United', teamId: expect.any(Number), outcome: 'added' },
      ]);
      expect(
        (await cli('teams', 'alias', 'manchester united  fc', 'Man United', '--json')).json<{ aliases: { outcome: string }[] }>().aliases[0]!.outcome,
      ).toBe('unchanged');
      const other = await cli('teams', 'alias', 'Manchester United FC', 'Man City');
      expect(other.code).toBe(1);
      expect(other.stderr).toContain('"Manchester United FC" already names Man United, not Man City');
      const unknown = await cli('teams', 'alias', 'Spurs', 'Tottenhm');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('unknown team "Tottenhm"');
      expect(unknown.stderr).toContain('"Tottenham"');
      // A file with one bad pair changes nothing.
      const cwd = tempDir();
      writeFileSync(path.join(cwd, 'a.json'), JSON.stringify({ 'Arsenal FC': 'Arsenal', 'Nowhere FC': 'Nowhere Town' }));
      const partial = await runCli(['--store', location, 'teams', 'alias', '--file', 'a.json'], { cwd });
      expect(partial.code).toBe(1);
      expect(await store.db.selectFrom('team_aliases').select('alias').where('alias', '=', 'arsenal fc').execute()).toHaveLength(0);
      writeFileSync(path.join(cwd, 'b.json'), '["not", "an object"]');
      const badFile = await runCli(['--store', location, 'teams', 'alias', '--file', 'b.json'], { cwd });
      expect(badFile.code).toBe(1);
      expect(badFile.stderr).toContain('expected a JSON object');
      expect((await cli('teams', 'alias', 'only-one')).code).toBe(2);
    });

    it('--watch polls at the interval within the quota and Ctrl-C stops between polls', async () => {
      const { cli, feedArgs, store, location, env, path: p } = await setup();
      script.set(p, [withEtag(TIMED, '"w1"')]);
      const watch = (...extra: string[]) => [...feedArgs, '--json', ...extra];
      // 60/min allows one request a second: --watch 200ms is raised to 1 s.
      const t0 = Date.now();
      const two = await cli(...watch('--watch', '200ms', '--polls', '2', '--quota', '60/min'));
      expect(two.code, two.stderr).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(two.stderr).toContain('faster than the quota');
      const polls = two.json<{ polls: PollResult[] }>().polls;
      expect(polls.map((x) => x.competitions[0]!.outcome)).toEqual(['applied', 'not-modified']);

      // The quota is kept in the store: 2/min with two requests sent in the last minute means waiting.
      await store.db.deleteFrom('feed_requests').execute();
      const now = Date.now();
      await store.db
        .insertInto('feed_requests')
        .values([
          { provider: 'football-data-org', sent_at_ms: now - 59_000 },
          { provider: 'football-data-org', sent_at_ms: now - 58_500 },
        ])
        .execute();
      const t1 = Date.now();
      const waited = await cli(...watch('--quota', '2/min'));
      expect(waited.code, waited.stderr).toBe(0);
      expect(Date.now() - t1).toBeGreaterThanOrEqual(900);
      expect(waited.stderr).toContain('request quota (2/min) reached');

      // Ctrl-C while waiting for the next poll: the first poll is committed, exit 130.
      const controller = new AbortController();
      script.set(p, [withEtag(LIVE, '"w2"')]);
      const requests = () => seen.filter((s) => s.path.startsWith(p)).length;
      const before = requests();
      const running = runCli(['--store', location, ...watch('--watch', '30s')], { env, signal: controller.signal });
      const started = Date.now();
      while (requests() === before && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      controller.abort(new Error('SIGINT'));
      const stopped = await running;
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(Date.now() - started).toBeLessThan(10_000);
      const events = await store.db.selectFrom('events').selectAll().execute();
      expect(events).toHaveLength(2);

      // Ctrl-C while a (slow) request is in flight: it is abandoned, nothing of it applied, exit 130 at once.
      script.set(p, [{ body: FINISHED, delayMs: 5000 }]);
      const controller2 = new AbortController();
      const before2 = requests();
      const slow = runCli(['--store', location, ...watch('--watch', '30s')], { env, signal: controller2.signal });
      const started2 = Date.now();
      while (requests() === before2 && Date.now() - started2 < 10_000) await new Promise((r) => setTimeout(r, 50));
      controller2.abort(new Error('SIGINT'));
      const abandoned = await slow;
      expect(abandoned.code, abandoned.stderr).toBe(130);
      expect(Date.now() - started2).toBeLessThan(4000);
      expect(await store.db.selectFrom('events').selectAll().execute()).toHaveLength(2);
    });
  });
}
