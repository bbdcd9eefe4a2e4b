/**
 * Prediction cache keyed by model digest and inputs hash: an in-process LRU with a TTL, and Redis behind it when
 * configured (shared by every process). Redis going away degrades to the LRU alone, with one warning per outage.
 */
import type { Logger } from '../../logger.js';

/** What is cached for one (model, inputs): the probabilities. */
export interface CachedProbs {
  home: number;
  draw: number;
  away: number;
}

/** The subset of an ioredis client the cache uses. */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
}

/** A bounded LRU whose entries expire. */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>();
  constructor(private readonly max: number) {}

  get(key: string, now = Date.now()): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    if (hit.expires <= now) return undefined;
    this.map.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, ttlMs: number, now = Date.now()): void {
    this.map.delete(key);
    this.map.set(key, { value, expires: now + ttlMs });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}

export interface PredictionCacheOptions {
  /** Entries kept in process. */
  maxEntries: number;
  ttlMs: number;
  /** Cap for live matches (their inputs change as the match goes on). */
  liveTtlMs: number;
  redis?: RedisLike | null;
  /** Key prefix in Redis. */
  prefix?: string;
  logger: Logger;
}

export class PredictionCache {
  private readonly lru: LruCache<CachedProbs>;
  private redisDown = false;

  constructor(private readonly o: PredictionCacheOptions) {
    this.lru = new LruCache(o.maxEntries);
  }

  /** Whether Redis backs the cache (and is answering). */
  get shared(): boolean {
    return this.o.redis != null && !this.redisDown;
  }

  /** The TTL for a match of this status. */
  ttlFor(status: string): number {
    return status === 'live' ? Math.min(this.o.ttlMs, this.o.liveTtlMs) : this.o.ttlMs;
  }

  /** The in-process entry, synchronously (the hot path). */
  peek(key: string): CachedProbs | undefined {
    return this.lru.get(key);
  }

  /** In-process first, then Redis. */
  async get(key: string): Promise<CachedProbs | undefined> {
    const local = this.lru.get(key);
    if (local || !this.o.redis) return local;
    try {
      const text = await this.o.redis.get(this.redisKey(key));
      this.recovered();
      if (text === null) return undefined;
      const value = JSON.parse(text) as CachedProbs;
      this.lru.set(key, value, this.o.ttlMs);
      return value;
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }

  /** Stores in process and (without waiting) in Redis. */
  set(key: string, value: CachedProbs, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.lru.set(key, value, ttlMs);
    if (!this.o.redis) return;
    this.o.redis.set(this.redisKey(key), JSON.stringify(value), 'PX', ttlMs).then(
      () => this.recovered(),
      (error: unknown) => this.failed(error),
    );
  }

  clear(): void {
    this.lru.clear();
  }

  private redisKey(key: string): string {
    return `${this.o.prefix ?? 'oracx:pred:'}${key}`;
  }

  private failed(error: unknown): void {
    if (this.redisDown) return;
    this.redisDown = true;
    this.o.logger.warn(`prediction cache: Redis unavailable (${(error as Error).message}); using the in-process cache only until it is back`);
  }

  private recovered(): void {
    if (!this.redisDown) return;
    this.redisDown = false;
    this.o.logger.info('prediction cache: Redis is back');
  }
}
