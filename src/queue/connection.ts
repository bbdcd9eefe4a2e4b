/** Reaching Redis for BullMQ: the URL (flag > ORACX_REDIS_URL, never a silent default), a fail-fast probe, the key prefix. */
import type { Redis, RedisOptions } from 'ioredis';
import { UserError } from '../errors.js';
import { redact } from '../store/location.js';

/** BullMQ's key prefix unless --queue-prefix / ORACX_QUEUE_PREFIX says otherwise (tests and tenants use their own). */
export const DEFAULT_PREFIX = 'oracx';

export interface QueueSettings {
  url: string;
  prefix: string;
}

/**
 * The Redis URL and key prefix of a queue command. Redis is used only when asked for: with neither --redis nor
 * ORACX_REDIS_URL the command says how to give one (redis://127.0.0.1:6379 is a suggestion, not a default).
 */
export function queueSettings(flags: { redis?: string; queuePrefix?: string }, env: NodeJS.ProcessEnv, what: string): QueueSettings {
  const url = flags.redis ?? (env.ORACX_REDIS_URL || undefined);
  if (url === undefined) {
    throw new UserError(`${what} needs Redis`, { hint: 'pass --redis redis://127.0.0.1:6379 or set ORACX_REDIS_URL' });
  }
  if (!/^rediss?:\/\//i.test(url)) throw new UserError(`invalid Redis URL "${redact(url)}"`, { hint: 'e.g. redis://127.0.0.1:6379 or rediss://host:6380' });
  const prefix = flags.queuePrefix ?? (env.ORACX_QUEUE_PREFIX || DEFAULT_PREFIX);
  if (!/^[\w.-]{1,64}$/.test(prefix)) throw new UserError(`invalid queue prefix "${prefix}"`, { hint: 'letters, digits, _ . - (at most 64)' });
  return { url, prefix };
}

/**
 * A connection BullMQ can block on (maxRetriesPerRequest: null, as its docs require for workers), reconnecting with
 * capped exponential backoff, after a probe that fails fast: an unreachable Redis at start is a clear error, not a hang.
 */
export async function connectRedis(url: string, onError?: (error: Error) => void): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const probeOptions: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null, enableOfflineQueue: false };
  const probe = new Redis(url, probeOptions);
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new UserError(`Redis at ${redact(url)} is unreachable: ${(error as Error).message}`, {
      hint: 'start Redis or fix --redis / ORACX_REDIS_URL',
      cause: error,
    });
  } finally {
    probe.disconnect();
  }
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(5000, 100 * 2 ** Math.min(attempt, 6)),
  });
  client.on('error', (error: Error) => onError?.(error));
  return client;
}
