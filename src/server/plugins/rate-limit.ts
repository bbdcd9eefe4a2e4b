/**
 * Rate limits: a budget per client address and one per caller (principal id), both applied, each with its own count.
 * The address budget is checked before authentication, so a flood of bad credentials is refused without a key
 * lookup; the caller's budget right after it. Counts live in Redis when --redis is given (one budget across every
 * process and worker) and in memory otherwise (no Redis round-trip then). 429 answers are problem documents with
 * Retry-After and RateLimit-* headers. Health and metrics routes are exempt.
 *
 * The counting is @fastify/rate-limit's: its in-memory store (fixed window, LRU-bounded), its address key (IPv6
 * grouped by /64) and, with Redis, the same INCR-and-expire script as its Redis store. Its request hook is not used:
 * one registration cannot apply two budgets to a request (the limiters share a per-request "already ran" flag), and
 * it goes through a chain of promises per limiter, where calling the in-memory store from a callback-style hook is
 * synchronous (profiled: the limits and metrics together take about 1.5 % of the server's CPU on GET /v1/models).
 *
 * Redis going away never fails a request: the store wrapper below counts in memory (per process) from the first
 * failed or unanswered call, with one warning, and goes back to Redis as soon as it answers again.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { Logger } from '../../logger.js';
import { problem, sendProblem } from '../problem.js';
import type { Rate } from './rates.js';

export type LimitScope = 'address' | 'principal';

/** What the store wrapper needs of an ioredis client. */
export interface RateLimitRedis {
  readonly status: string;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

export interface RateLimitOptions {
  /** Per principal id (API key, token subject); null: no limit. */
  perPrincipal: Rate | null;
  /** Per client address (IPv6 by /64); null: no limit. */
  perAddress: Rate | null;
  /** An ioredis client: budgets shared by every process using it; null: in memory, per process. */
  redis: RateLimitRedis | null;
  /** Prefix of the Redis keys (callers of one store share budgets, other stores never do). */
  prefix: string;
  logger: Logger;
  /** How long a Redis call may take before the request is counted in memory instead. */
  redisTimeoutMs?: number;
  /** Told of every refused request (metrics). */
  onLimited?: (scope: LimitScope) => void;
}

/** What the metrics read. */
export interface RateLimitState {
  /** True while counting in memory although Redis is configured. */
  readonly fallback: boolean;
}

/** Routes that are never limited (probes and scrapers must always get through). */
export function isExempt(url: string): boolean {
  return url.startsWith('/health/') || url.startsWith('/metrics') || url.startsWith('/v2/health/');
}

/** Keys kept by each in-memory counter (least recently used dropped beyond that). */
const LOCAL_KEYS = 50_000;

interface Counted {
  current: number;
  ttl: number;
}
type Callback = (error: Error | null, result?: Counted) => void;
/** A @fastify/rate-limit store: incr calls back with the count in the window (synchronously for the in-memory one). */
type Store = Pick<FastifyRateLimitStore, 'incr'>;

/** Registers the limits on `app` (call before authentication is registered). */
export async function registerRateLimits(app: FastifyInstance, o: RateLimitOptions): Promise<RateLimitState> {
  const health = new RedisHealth(o.logger);
  if (!o.perPrincipal && !o.perAddress) return health;
  const { LocalStore, normalizeIP } = rateLimitInternals();
  const store = (namespace: string): Store => {
    const local = new LocalStore(false, false, LOCAL_KEYS);
    if (!o.redis) return local;
    defineIncr(o.redis);
    return new FailoverStore(o.redis, `${o.prefix}${namespace}`, local, health, o.redisTimeoutMs ?? 250);
  };
  if (o.perAddress) {
    // IPv4 addresses are keys as they are; the IPv6 parse (a large regex) is for addresses with a colon.
    const limit = limiter(store('ip:'), 'address', o.perAddress, (request) => (request.ip.includes(':') ? normalizeIP(request.ip) : request.ip), o);
    app.addHook('onRequest', (request, reply, done) => {
      if (isExempt(request.url)) done();
      // Authenticated requests get the caller's budget in the headers (the next limiter); these, only a 429.
      else limit(request, reply, done, request.headers.authorization === undefined && request.headers['x-api-key'] === undefined);
    });
  }
  if (o.perPrincipal) {
    const limit = limiter(store('principal:'), 'principal', o.perPrincipal, (request) => request.principal!.id, o);
    // preParsing: after authentication (onRequest) has named the caller, before the body is read.
    app.addHook('preParsing', (request, reply, _payload, done) => {
      if (request.principal === null || isExempt(request.url)) done();
      else limit(request, reply, done, true);
    });
  }
  return health;
}

/** The body of a callback-style hook: counts the request, sets the headers, and answers 429 (without calling done) when over. */
function limiter(store: Store, scope: LimitScope, rate: Rate, keyOf: (request: FastifyRequest) => string, o: RateLimitOptions) {
  const who = scope === 'principal' ? 'caller' : 'client address';
  let warned = false;
  /** Sets the headers; answers 429 and returns false when over the budget. */
  const pass = (request: FastifyRequest, reply: FastifyReply, headers: boolean, counted: Counted): boolean => {
    const over = counted.current > rate.max;
    if (!over && !headers) return true;
    const reset = Math.max(0, Math.ceil(counted.ttl / 1000));
    reply.header('ratelimit-limit', rate.max);
    reply.header('ratelimit-remaining', over ? 0 : rate.max - counted.current);
    reply.header('ratelimit-reset', reset);
    if (!over) return true;
    o.onLimited?.(scope);
    reply.header('retry-after', reset);
    sendProblem(
      reply,
      problem(request, 429, 'rate_limited', `more than ${rate.text} requests for this ${who}; retry in ${reset} s`, {
        scope,
        limit: rate.text,
        retryAfter: reset,
      }),
    );
    return false;
  };
  return (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void, headers: boolean): void => {
    store.incr(
      keyOf(request),
      (error, counted) => {
        if (error || !counted) {
          // Counting failed (it should not: the Redis store falls back): serve the request rather than fail it.
          if (!warned) o.logger.warn(`rate limits: cannot count a request (${error?.message ?? 'no count'}); letting requests through`);
          warned = true;
          return done();
        }
        let go: boolean;
        try {
          go = pass(request, reply, headers, counted);
        } catch (thrown) {
          // Possibly called back from a Redis promise: a throw must not become an unhandled rejection.
          return done(thrown as Error);
        }
        if (go) done();
      },
      rate.windowMs,
      rate.max,
    );
  };
}

/** The in-memory store and the address key of @fastify/rate-limit (CommonJS; the store is not in its type exports). */
function rateLimitInternals(): {
  LocalStore: new (continueExceeding: boolean, exponentialBackoff: boolean, cache: number) => Store;
  normalizeIP: (ip: string) => string;
} {
  const load = createRequire(import.meta.url);
  const { normalizeIP } = load('@fastify/rate-limit') as { normalizeIP: (ip: string) => string };
  return { LocalStore: load('@fastify/rate-limit/store/LocalStore.js'), normalizeIP };
}

/** Redis up or down, as the store wrappers last saw it; one warning per outage, one line when it is back. */
class RedisHealth implements RateLimitState {
  private down = false;
  /** A call to Redis is in flight while down: others count in memory meanwhile. */
  probing = false;
  retryAt = 0;

  constructor(private readonly logger: Logger) {}

  get fallback(): boolean {
    return this.down;
  }

  /** Whether to try Redis for this request. */
  tryRedis(status: string): boolean {
    if (status !== 'ready') {
      if (!this.down) this.failed(new Error(`connection ${status}`));
      return false;
    }
    if (!this.down) return true;
    if (this.probing || Date.now() < this.retryAt) return false;
    this.probing = true;
    return true;
  }

  failed(error: unknown): void {
    this.probing = false;
    this.retryAt = Date.now() + 1000;
    if (this.down) return;
    this.down = true;
    this.logger.warn(`rate limits: Redis unavailable (${(error as Error).message}); counting in memory, per process, until it answers`);
  }

  ok(): void {
    this.probing = false;
    if (!this.down) return;
    this.down = false;
    this.logger.info('rate limits: Redis is back; budgets are shared again');
  }
}

/** INCR with the window set on the first hit; returns [count, ms left]. */
const INCR_LUA = `
local current = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then redis.call('PEXPIRE', KEYS[1], ttl) else ttl = left end
end
return {current, ttl}`;

type IncrCommand = (key: string, windowMs: number) => Promise<[number, number]>;

function defineIncr(redis: RateLimitRedis): void {
  if (typeof (redis as unknown as { oracxRateLimit?: unknown }).oracxRateLimit !== 'function') {
    redis.defineCommand('oracxRateLimit', { numberOfKeys: 1, lua: INCR_LUA });
  }
}

/** Redis while it answers within the timeout, the in-memory store otherwise. */
export class FailoverStore implements Store {
  private readonly incrCommand: IncrCommand;

  constructor(
    private readonly redis: RateLimitRedis,
    private readonly prefix: string,
    private readonly local: Store,
    private readonly health: RedisHealth,
    private readonly timeoutMs: number,
  ) {
    const command = (redis as unknown as { oracxRateLimit: IncrCommand }).oracxRateLimit;
    this.incrCommand = command.bind(redis);
  }

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    if (!this.health.tryRedis(this.redis.status)) {
      this.local.incr(key, callback, timeWindow, max);
      return;
    }
    let settled = false;
    const fallBack = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.health.failed(error);
      this.local.incr(key, callback, timeWindow, max);
    };
    const timer = setTimeout(() => fallBack(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    this.incrCommand(this.prefix + key, timeWindow).then((result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.health.ok();
      callback(null, { current: Number(result[0]), ttl: Number(result[1]) });
    }, fallBack);
  }
}
