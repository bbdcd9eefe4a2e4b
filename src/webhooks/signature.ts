/**
 * The signature receivers check: `Oracx-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, with
 * the Unix-seconds timestamp of `Oracx-Webhook-Timestamp`. Signing the timestamp with the body lets a receiver refuse
 * old (replayed) requests; "v1=" leaves room for another scheme, and a header may carry several space-separated
 * signatures (e.g. during a secret rotation).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_ID_HEADER = 'Oracx-Webhook-Id';
export const WEBHOOK_TIMESTAMP_HEADER = 'Oracx-Webhook-Timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'Oracx-Webhook-Signature';
/** How old a timestamp receivers should accept (seconds), as documented in docs/webhooks.md. */
export const REPLAY_WINDOW_SECONDS = 300;

/** The header value signing `body` sent at `timestamp` (Unix seconds). */
export function signPayload(secret: string | Buffer, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * True when one v1 signature of `header` matches and the timestamp is within the replay window of `nowSeconds`: what
 * a receiver does (tests use it as one).
 */
export function verifySignature(secret: string | Buffer, header: string, timestamp: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > REPLAY_WINDOW_SECONDS) return false;
  const expected = Buffer.from(signPayload(secret, Number(timestamp), body));
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
