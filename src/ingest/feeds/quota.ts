/**
 * A provider's request quota (e.g. football-data.org's free tier: 10 requests a minute) as a sliding window kept in
 * the store, so it holds across polls, `--watch` restarts and one-shot runs alike. Several processes polling the same
 * provider at the same instant can each see room for the last request: the provider's 429 + Retry-After covers that.
 */
import type { Store } from '../../store/connect.js';
import { sleep } from './http.js';

const WINDOW_MS = 60_000;

export interface QuotaOptions {
  provider: string;
  perMinute: number;
  signal?: AbortSignal;
  /** Told how long the next request must wait, before waiting. */
  onWait?: (ms: number) => void;
  now?: () => number;
}

/** Waits until one more request fits the window, then counts it. */
export async function takeQuota(store: Store, options: QuotaOptions): Promise<void> {
  const now = options.now ?? Date.now;
  for (;;) {
    const t = now();
    await store.db
      .deleteFrom('feed_requests')
      .where('provider', '=', options.provider)
      .where('sent_at_ms', '<=', t - WINDOW_MS)
      .execute();
    const recent = await store.db
      .selectFrom('feed_requests')
      .select('sent_at_ms')
      .where('provider', '=', options.provider)
      .orderBy('sent_at_ms', 'desc')
      .limit(options.perMinute)
      .execute();
    if (recent.length < options.perMinute) {
      await store.db.insertInto('feed_requests').values({ provider: options.provider, sent_at_ms: t }).execute();
      return;
    }
    // The oldest of the last `perMinute` requests must leave the window first.
    const waitMs = Number(recent[recent.length - 1]!.sent_at_ms) + WINDOW_MS - t + 1;
    options.onWait?.(waitMs);
    await sleep(waitMs, options.signal);
  }
}

/** The shortest poll interval the quota allows for `requestsPerPoll` requests per poll. */
export function minimumIntervalMs(requestsPerPoll: number, perMinute: number): number {
  return Math.ceil((WINDOW_MS * requestsPerPoll) / perMinute);
}
