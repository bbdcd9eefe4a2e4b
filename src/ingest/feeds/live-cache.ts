/**
 * Live matches for the service: after each poll, the competition's matches in play are written to Redis as one hash
 * (`<prefix>live:<competition>`, field = match id, value = JSON), replaced whole and expiring a few intervals after
 * the last poll, so a stopped feed never leaves stale "live" matches behind. The store stays the truth: Redis
 * failing only costs a warning.
 */
import type { Store } from '../../store/connect.js';

/** One match in play, as the cache holds it. */
export interface LiveMatch {
  matchId: number;
  competition: string;
  season: string;
  date: string;
  homeTeam: string;
  awayTeam: string;
  /** The provider's word (IN_PLAY, PAUSED, HT, 2H, …). */
  providerStatus: string | null;
  homeGoals: number | null;
  awayGoals: number | null;
  halfTimeHome: number | null;
  halfTimeAway: number | null;
  updatedAt: string;
}

/** The subset of an ioredis client the cache uses. */
export interface LiveRedis {
  multi(): {
    del(key: string): unknown;
    hset(key: string, values: Record<string, string>): unknown;
    pexpire(key: string, ms: number): unknown;
    exec(): Promise<unknown>;
  };
  hgetall(key: string): Promise<Record<string, string>>;
}

/** The Redis key of a competition's live matches. */
export const liveCacheKey = (prefix: string, competition: string): string => `${prefix}live:${competition}`;

/**
 * The competition's matches the store has as live, with the provider's status word when it fed them (provider null:
 * whichever provider updated the link last).
 */
export async function liveMatchesOf(store: Store, provider: string | null, competition: string): Promise<LiveMatch[]> {
  const rows = await store.db
    .selectFrom('matches as m')
    .innerJoin('competitions as c', 'c.id', 'm.competition_id')
    .innerJoin('teams as h', 'h.id', 'm.home_team_id')
    .innerJoin('teams as a', 'a.id', 'm.away_team_id')
    .leftJoin('feed_matches as f', (j) =>
      provider === null ? j.onRef('f.match_id', '=', 'm.id') : j.onRef('f.match_id', '=', 'm.id').on('f.provider', '=', provider),
    )
    .select(['m.id', 'm.season', 'm.date', 'h.name as home', 'a.name as away', 'f.provider_status', 'm.fthg', 'm.ftag', 'm.hthg', 'm.htag', 'm.updated_at'])
    .where('c.code', '=', competition)
    .where('m.status', '=', 'live')
    .orderBy('m.id')
    .orderBy('f.updated_at')
    .execute();
  // Two providers feeding one match give two rows: the later link wins.
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  return [...byId.values()].map((r) => ({
    matchId: Number(r.id),
    competition,
    season: r.season,
    date: String(r.date).slice(0, 10),
    homeTeam: r.home,
    awayTeam: r.away,
    providerStatus: r.provider_status,
    homeGoals: r.fthg,
    awayGoals: r.ftag,
    halfTimeHome: r.hthg,
    halfTimeAway: r.htag,
    updatedAt: String(r.updated_at),
  }));
}

/** Replaces the competition's hash in one MULTI (readers never see half of it) and sets its expiry. */
export async function writeLiveCache(redis: LiveRedis, prefix: string, competition: string, matches: readonly LiveMatch[], ttlMs: number): Promise<void> {
  const key = liveCacheKey(prefix, competition);
  const tx = redis.multi();
  tx.del(key);
  if (matches.length > 0) {
    tx.hset(key, Object.fromEntries(matches.map((m) => [String(m.matchId), JSON.stringify(m)])));
    tx.pexpire(key, ttlMs);
  }
  await tx.exec();
}

/** The competition's live matches as the last poll left them (empty when none, or when the feed stopped). */
export async function readLiveCache(redis: LiveRedis, prefix: string, competition: string): Promise<LiveMatch[]> {
  const hash = await redis.hgetall(liveCacheKey(prefix, competition));
  return Object.values(hash)
    .map((v) => JSON.parse(v) as LiveMatch)
    .sort((a, b) => a.matchId - b.matchId);
}
