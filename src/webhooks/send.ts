/** One signed webhook POST with a per-request timeout: the body, headers and how the answer is classified. */
import { signPayload, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from './signature.js';
import type { AttemptOutcome } from './deliveries.js';

/** What a receiver gets as the JSON body. */
export interface WebhookBody {
  id: number;
  type: string;
  createdAt: string;
  data: unknown;
}

/** Thrown when the caller's signal (Ctrl-C) abandoned the request: no outcome to record. */
export class SendAbandoned extends Error {}

/**
 * POSTs `body` to `url`, signed with `secret`; a 2xx is success, anything else (other status, network error, no
 * answer within `timeoutMs`) a failure to retry. Redirects are not followed: a moved endpoint must be re-subscribed.
 */
export async function sendWebhook(
  url: string,
  deliveryId: string,
  body: WebhookBody,
  secret: Buffer,
  options: { timeoutMs: number; signal?: AbortSignal; userAgent: string },
): Promise<AttemptOutcome> {
  const text = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': options.userAgent,
        [WEBHOOK_ID_HEADER]: deliveryId,
        [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
        [WEBHOOK_SIGNATURE_HEADER]: signPayload(secret, timestamp, text),
      },
      body: text,
    });
    // The answer's body is not used: drop it so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` };
  } catch (error) {
    if (options.signal?.aborted) throw new SendAbandoned('interrupted');
    if (timeout.aborted) return { ok: false, status: null, error: `no answer within ${options.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, status: null, error: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}
