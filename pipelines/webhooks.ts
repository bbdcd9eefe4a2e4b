/**
 * `oracx webhooks deliver`: fan new outbox events out into deliveries, then send every due delivery with bounded
 * concurrency, each under a lease, once or in a loop. At-least-once: a sender that dies mid-request leaves its lease
 * to expire and another pass sends the delivery again (receivers dedupe by Oracx-Webhook-Id).
 */
import { randomUUID } from 'node:crypto';
import type { Keyring } from '../src/auth/secrets.js';
import type { Store } from '../src/store/connect.js';
import type { DeliveryState } from '../src/store/schema.js';
import { claimDeliveries, fanOut, releaseDelivery, settleDelivery, type ClaimedDelivery } from '../src/webhooks/deliveries.js';
import { SendAbandoned, sendWebhook, type WebhookBody } from '../src/webhooks/send.js';
import { subscriptionSecrets } from '../src/webhooks/subscriptions.js';
import { version } from '../src/version.js';
import { pause } from '../src/pause.js';

export interface DeliverOptions {
  keyring: Keyring;
  /** Per-request timeout (ms). */
  timeoutMs: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** First retry delay (ms); doubles each attempt, with jitter. */
  backoffMs: number;
  /** Longest retry delay (ms). */
  maxBackoffMs: number;
  signal?: AbortSignal;
  onProgress?: (event: DeliverProgress) => void;
}

export type DeliverProgress =
  | { type: 'fanout'; events: number; created: number }
  | { type: 'attempt'; deliveryId: number; url: string; attempt: number; state: DeliveryState; status: number | null; error: string | null }
  | { type: 'pass'; result: PassResult; next: number | null };

/** What one pass did. */
export interface PassResult {
  pass: number;
  eventsScanned: number;
  deliveriesCreated: number;
  attempts: number;
  delivered: number;
  retrying: number;
  dead: number;
  /** Outcomes not recorded because another sender had taken the lease over meanwhile. */
  leaseLost: number;
}

/** The Oracx-Webhook-Id of a delivery: stable across its retries. */
export const deliveryHeaderId = (id: number) => `dlv_${id}`;

/** One pass: fan-out, then send every delivery due now until none is left to claim. */
export async function deliverPass(store: Store, options: DeliverOptions, pass = 1): Promise<PassResult> {
  const result: PassResult = { pass, eventsScanned: 0, deliveriesCreated: 0, attempts: 0, delivered: 0, retrying: 0, dead: 0, leaseLost: 0 };
  const fan = await fanOut(store);
  result.eventsScanned = fan.events;
  result.deliveriesCreated = fan.created;
  options.onProgress?.({ type: 'fanout', ...fan });
  // Each claim is this process's own token, so a late settle after a takeover is recognised and ignored.
  const owner = `${process.pid}:${randomUUID()}`;
  // The request's timeout plus 5 s for its bookkeeping; a crashed sender's deliveries are free again after it. A
  // sender slower than that only loses its outcome (settle is fenced by the lease owner), never the delivery.
  const leaseMs = options.timeoutMs + 5_000;
  const worker = async () => {
    while (!options.signal?.aborted) {
      const [claimed] = await claimDeliveries(store, owner, 1, leaseMs);
      if (!claimed) return;
      await attempt(store, claimed, options, result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return result;
}

async function attempt(store: Store, claimed: ClaimedDelivery, options: DeliverOptions, result: PassResult): Promise<void> {
  const row = await store.db
    .selectFrom('webhook_subscriptions as s')
    .innerJoin('events as e', (j) => j.on('e.id', '=', claimed.eventId))
    .select(['s.url', 's.max_attempts', 'e.id', 'e.type', 'e.created_at', 'e.payload'])
    .where('s.id', '=', claimed.subscriptionId)
    .executeTakeFirst();
  if (!row) return; // the subscription was removed meanwhile; its deliveries went with it
  const secret = (await subscriptionSecrets(store, options.keyring, [claimed.subscriptionId])).get(claimed.subscriptionId)!;
  const body: WebhookBody = { id: Number(row.id), type: row.type, createdAt: new Date(row.created_at).toISOString(), data: JSON.parse(row.payload) as unknown };
  let outcome: Awaited<ReturnType<typeof sendWebhook>>;
  try {
    outcome = await sendWebhook(row.url, deliveryHeaderId(claimed.id), body, secret, {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      userAgent: `oracx/${version()} webhooks`,
    });
  } catch (error) {
    if (error instanceof SendAbandoned) return releaseDelivery(store, claimed);
    throw error;
  }
  result.attempts++;
  const state = await settleDelivery(store, claimed, outcome, { maxAttempts: row.max_attempts, baseMs: options.backoffMs, capMs: options.maxBackoffMs });
  if (state === null) result.leaseLost++;
  else if (state === 'delivered') result.delivered++;
  else if (state === 'dead') result.dead++;
  else result.retrying++;
  options.onProgress?.({
    type: 'attempt',
    deliveryId: claimed.id,
    url: row.url,
    attempt: claimed.attempts,
    state: state ?? 'pending',
    status: outcome.status,
    error: outcome.ok ? null : outcome.error,
  });
}

/** Passes every `intervalMs` until the signal aborts or `maxPasses` are done; returns every pass's result. */
export async function watchDeliver(store: Store, options: DeliverOptions, intervalMs: number, maxPasses = Infinity): Promise<PassResult[]> {
  const results: PassResult[] = [];
  for (let pass = 1; pass <= maxPasses && !options.signal?.aborted; pass++) {
    const started = Date.now();
    const result = await deliverPass(store, options, pass);
    results.push(result);
    const next = pass < maxPasses ? started + intervalMs : null;
    options.onProgress?.({ type: 'pass', result, next });
    if (next === null) break;
    await pause(Math.max(0, next - Date.now()), options.signal);
  }
  return results;
}
