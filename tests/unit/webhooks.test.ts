// Pure parts of webhooks: the retry schedule and the signature format receivers implement (docs/webhooks.md).
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/webhooks/deliveries.js';
import { signPayload, verifySignature } from '../../src/webhooks/signature.js';

describe('webhook retry backoff', () => {
  it('doubles per attempt within ±50 % jitter and never exceeds 1.5 × the cap', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const exp = Math.min(3_600_000, 10_000 * 2 ** (attempt - 1));
      expect(backoffMs(attempt, 10_000, 3_600_000, () => 0)).toBe(exp * 0.5);
      expect(backoffMs(attempt, 10_000, 3_600_000, () => 0.999999)).toBeLessThanOrEqual(exp * 1.5);
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(attempt, 10_000, 3_600_000);
        expect(d).toBeGreaterThanOrEqual(exp * 0.5);
        expect(d).toBeLessThanOrEqual(exp * 1.5);
      }
    }
    expect(backoffMs(3, 1000, 60_000, () => 0.5)).toBe(4000);
  });
});

describe('webhook signature', () => {
  const secret = 'a-secret-of-sufficient-length';
  const body = '{"id":1,"type":"match_finished","createdAt":"2026-01-01T00:00:00.000Z","data":{}}';
  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`1764582000.${body}`).digest('hex');
    expect(signPayload(secret, 1764582000, body)).toBe(`v1=${expected}`);
  });
  it('verifies within the 5-minute window only, with the right secret and body, and among several signatures', () => {
    const sig = signPayload(secret, 1000, body);
    expect(verifySignature(secret, sig, '1000', body, 1000 + 300)).toBe(true);
    expect(verifySignature(secret, sig, '1000', body, 1000 + 301)).toBe(false);
    expect(verifySignature(secret, sig, '1000', body, 1000 - 301)).toBe(false);
    expect(verifySignature('another-secret-entirely', sig, '1000', body, 1000)).toBe(false);
    expect(verifySignature(secret, sig, '1000', `${body} `, 1000)).toBe(false);
    expect(verifySignature(secret, sig, '1001', body, 1000)).toBe(false);
    expect(verifySignature(secret, `v1=${'0'.repeat(64)} ${sig}`, '1000', body, 1000)).toBe(true);
    expect(verifySignature(secret, sig, 'abc', body, 1000)).toBe(false);
  });
});
