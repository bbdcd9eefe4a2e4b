// The service and live feeds over real HTTP, on SQLite and PostgreSQL: a real `collect feed --redis` poll (a local
// football-data.org replay) puts a match in play into real Redis and /v1/live reads it there (or from the store
// without Redis); when the next poll finishes that match, the service's background prediction refresh recomputes the
// stored prediction of a coming match of one of its teams with the served (champion) ONNX model, visible at
// /v1/predictions?source=refresh, with a prediction_updated event.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveRedis } from '../../src/ingest/feeds/live-cache.js';
import { ServerMetrics } from '../../src/server/plugins/metrics.js';
import { runCli } from '../helpers/cli.js';
import { REDIS_URL, redisReachable } from '../helpers/redis.js';
import { buildServableStore, COMING, MODEL, startTestServer, type ServableStore, type TestServer } from '../helpers/server.js';
import { useReplayServer } from '../helpers/replay-server.js';
import { DIALECTS } from '../helpers/stores.js';

const redisUp = await redisReachable();
if (!redisUp) {
  if (process.env.CI && process.env.CI !== 'false') throw new Error(`CI: no Redis at ${REDIS_URL} for the /v1/live test`);
  console.warn(`[oracx tests] service live/refresh tests skipped: no Redis at ${REDIS_URL}`);
}

/** A football-data.org v4 body: Liverpool v Norwich (COMING[0]) in a given state, and Norwich's next match, new to the store. */
function body(status: string, home: number | null, away: number | null): string {
  const item = (id: number, utcDate: string, st: string, h: string, a: string, fh: number | null, fa: number | null) => ({
    id,
    utcDate,
    status: st,
    homeTeam: { name: h },
    awayTeam: { name: a },
    score: { fullTime: { home: fh, away: fa }, halfTime: { home: fh === null ? null : Math.min(fh, 1), away: fa === null ? null : 0 } },
  });
  return JSON.stringify({
    matches: [
      item(9001, `${COMING[0].date}T11:30:00Z`, status, COMING[0].home, COMING[0].away, home, away),
      item(9002, '2020-09-19T14:00:00Z', 'TIMED', 'Norwich', 'Burnley', null, null),
    ],
  });
}

const replay = useReplayServer();

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available || !redisUp)(`serve: /v1/live and the background prediction refresh on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] serve live/refresh on ${dialect.name} skipped: service not available`);
    const prefix = `oracx-test:${process.pid}:${dialect.name}:${Date.now()}:`;
    const code = `L${dialect.name}`;
    let fx: ServableStore;
    let s: TestServer;
    let redis: Redis;
    let metrics: ServerMetrics;
    const feed = async (b: string) => {
      replay.answer(`/v4/competitions/${code}/matches`, b);
      const r = await runCli(
        [
          '--store',
          fx.location,
          'collect',
          'feed',
          '--provider',
          'football-data-org',
          '--competitions',
          code,
          '--map',
          `${code}=E0`,
          '--quota',
          '600/min',
          '--redis',
          REDIS_URL,
          '--redis-prefix',
          prefix,
          '--json',
        ],
        {
          cwd: fx.dir,
          env: { FOOTBALL_DATA_ORG_TOKEN: 'tok', ORACX_FOOTBALL_DATA_ORG_URL: replay.base },
        },
      );
      expect(r.code, r.stderr).toBe(0);
    };

    beforeAll(async () => {
      fx = await buildServableStore({ dialect: dialect.name });
      redis = new Redis(REDIS_URL);
      // The logistic regression (it reads features) is the champion here; refreshes go through it.
      metrics = await ServerMetrics.create({ clustered: false });
      s = await startTestServer(fx, {
        model: `${MODEL}@challenger`,
        serving: { predictionRefreshMs: 100, events: metrics.events },
        live: { redis: redis as unknown as LiveRedis, prefix },
      });
    }, 180_000);
    afterAll(async () => {
      await s?.close();
      await fx?.close();
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('/v1/live: the match in play from Redis (as the feed wrote it), the same from the store without Redis; bad input', async () => {
      await feed(body('IN_PLAY', 1, 0));
      const r = await s.call('GET', '/v1/live?competition=e0', { key: fx.keys.viewer });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({
        competition: 'E0',
        source: 'redis',
        items: [{ matchId: fx.coming[0], homeTeam: 'Liverpool', awayTeam: 'Norwich', providerStatus: 'IN_PLAY', homeGoals: 1, awayGoals: 0 }],
      });
      expect(JSON.parse((await redis.hget(`${prefix}live:E0`, String(fx.coming[0])))!)).toEqual(r.body.items[0]);
      // The same service without Redis reads the store.
      const plain = await startTestServer(fx, { model: `${MODEL}@challenger` });
      try {
        const p = await plain.call('GET', '/v1/live?competition=E0', { key: fx.keys.viewer });
        expect(p.status).toBe(200);
        expect(p.body.source).toBe('store');
        expect(p.body.items.map(({ updatedAt: _u, ...rest }: Record<string, unknown>) => rest)).toEqual(
          r.body.items.map(({ updatedAt: _u, ...rest }: Record<string, unknown>) => rest),
        );
      } finally {
        await plain.close();
      }
      expect((await s.call('GET', '/v1/live?competition=E0', { key: null })).status).toBe(401);
      expect((await s.call('GET', '/v1/live', { key: fx.keys.viewer })).status).toBe(400);
      const unknown = await s.call('GET', '/v1/live?competition=XX9', { key: fx.keys.viewer });
      expect(unknown.status).toBe(422);
      expect(unknown.body.code).toBe('unknown_competition');
      // Documented in the OpenAPI document with its query schema.
      const doc = await s.call('GET', '/openapi.json', { key: null });
      expect(doc.body.paths['/v1/live'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['competition']);
    });

    it('a finished match refreshes the stored prediction of a coming match in the background, visible at /v1/predictions', async () => {
      // Norwich v Burnley came with the first poll; the service forecasts it once (stored with source api).
      await s.server.runtime.refreshFeatures();
      const next = Number(
        (await fx.store.db.selectFrom('feed_matches').select('match_id').where('provider_match_id', '=', '9002').executeTakeFirstOrThrow()).match_id,
      );
      const first = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: next } });
      expect(first.status, first.text).toBe(200);
      await s.server.runtime.sink.drain();

      await feed(body('FINISHED', 2, 0));
      let refreshed: Array<{ probabilities: unknown }> = [];
      for (let i = 0; i < 100 && refreshed.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        refreshed = (await s.call('GET', `/v1/predictions?match=${next}&source=refresh`, { key: fx.keys.viewer })).body.items;
      }
      expect(refreshed).toHaveLength(1);
      expect(refreshed[0]).toMatchObject({ matchId: next, source: 'refresh', model: { uri: `${MODEL}/${fx.versions.logreg}` } });
      expect(refreshed[0].probabilities).not.toEqual(first.body.probabilities);
      const events = await fx.store.db.selectFrom('events').select(['payload']).where('type', '=', 'prediction_updated').where('match_id', '=', next).execute();
      expect(events).toHaveLength(1);
      const payload = JSON.parse(events[0]!.payload);
      expect(payload).toMatchObject({
        matchId: next,
        finishedMatchId: fx.coming[0],
        old: { probabilities: first.body.probabilities },
        new: { probabilities: refreshed[0].probabilities },
      });
      expect(s.logger.text()).toMatch(new RegExp(`prediction refresh: match ${fx.coming[0]} finished → \\d+ coming prediction\\(s\\) refreshed`));
      // The refresh is counted (every refreshed prediction, the one event processed) once its pass has ended: the
      // prediction is visible a moment before the pass tells the metrics. Joining the pass (or running an empty one) waits for it.
      await s.server.runtime.refreshPredictions();
      const text = await metrics.registry.metrics();
      const refreshedTotal = Number(/^oracx_predictions_refreshed_total (\d+)$/m.exec(text)?.[1]);
      const updatedEvents = await fx.store.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('type', '=', 'prediction_updated')
        .executeTakeFirstOrThrow();
      expect(refreshedTotal).toBe(Number(updatedEvents.n));
      expect(text).toMatch(/^oracx_prediction_refresh_events_total\{outcome="processed"\} 1$/m);
      // Nothing is live any more: the feed emptied the competition's hash.
      expect((await s.call('GET', '/v1/live?competition=E0', { key: fx.keys.viewer })).body).toMatchObject({ source: 'redis', items: [] });
    });
  });
}
