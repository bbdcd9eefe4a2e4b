// The shared Redis of the test machine (ORACX_TEST_REDIS_URL, default 127.0.0.1:6379), and whether it answers.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.ORACX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at url, without retrying or queueing (false at once when none does). */
export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
