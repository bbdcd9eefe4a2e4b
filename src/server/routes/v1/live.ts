/**
 * GET /v1/live: a competition's matches in play, from the Redis cache `collect feed --redis` keeps (when the service
 * has Redis), else from the store's feed tables. The store is the truth; the cache saves the service a query per
 * call and shows what the last poll saw. Redis failing falls back to the store (`source` says which answered).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { liveMatchesOf, readLiveCache, type LiveMatch, type LiveRedis } from '../../../ingest/feeds/live-cache.js';
import type { Logger } from '../../../logger.js';
import type { Store } from '../../../store/connect.js';
import type { ServingRuntime } from '../../runtime/serving.js';
import { errorResponses } from '../../schemas.js';

/** Where live matches are read from: the feed's Redis hashes (`<prefix>live:<code>`), when the service has Redis. */
export interface LiveSource {
  redis: LiveRedis | null;
  prefix: string;
}

const Nullable = <T extends ReturnType<typeof Type.Integer> | ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const Live = Type.Object({
  matchId: Type.Integer(),
  competition: Type.String(),
  season: Type.String(),
  date: Type.String(),
  homeTeam: Type.String(),
  awayTeam: Type.String(),
  providerStatus: Nullable(Type.String()),
  homeGoals: Nullable(Type.Integer()),
  awayGoals: Nullable(Type.Integer()),
  halfTimeHome: Nullable(Type.Integer()),
  halfTimeAway: Nullable(Type.Integer()),
  updatedAt: Type.String(),
});

const Query = Type.Object(
  { competition: Type.String({ pattern: '^[A-Za-z0-9]{1,8}$', description: 'a division code, e.g. E0' }) },
  { additionalProperties: false },
);

/** Registers GET /v1/live. */
export async function liveRoutes(app: FastifyInstance, o: { store: Store; runtime: ServingRuntime; live: LiveSource; logger: Logger }): Promise<void> {
  let warned = false;
  app.get(
    '/v1/live',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['matches'],
        summary: "A competition's matches in play",
        description:
          'From the Redis cache of `oracx collect feed --redis` when the service was started with Redis (`source: "redis"`), else from the store (`source: "store"`). Empty when nothing is being played.',
        querystring: Query,
        response: {
          200: Type.Object({ competition: Type.String(), source: Type.Union([Type.Literal('redis'), Type.Literal('store')]), items: Type.Array(Live) }),
          ...errorResponses({}, 422),
        },
      },
    },
    async (request) => {
      // An unknown code is a 422 naming the closest known ones (as /v1/predict does).
      const competition = o.runtime.primary.directory.competition((request.query as { competition: string }).competition).code;
      if (o.live.redis) {
        try {
          const items: LiveMatch[] = await readLiveCache(o.live.redis, o.live.prefix, competition);
          if (warned) o.logger.info('/v1/live: Redis answers again');
          warned = false;
          return { competition, source: 'redis' as const, items };
        } catch (error) {
          if (!warned) o.logger.warn(`/v1/live: Redis not answering (${(error as Error).message}); reading live matches from the store`);
          warned = true;
        }
      }
      return { competition, source: 'store' as const, items: await liveMatchesOf(o.store, null, competition) };
    },
  );
}
