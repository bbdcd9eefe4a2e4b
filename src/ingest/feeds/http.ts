/**
 * The feed's HTTP client (fetch, i.e. undici): a timeout per attempt, retries with exponential backoff and full
 * jitter on network errors, 5xx and 429 (waiting at least what `Retry-After` asks), and conditional requests
 * (If-None-Match / If-Modified-Since) so an unchanged resource costs a 304 and applies nothing.
 */
import { UserError } from '../../errors.js';

export interface FeedHttpOptions {
  timeoutMs: number;
  retries: number;
  /** First backoff; doubled per attempt, with full jitter. */
  backoffMs: number;
  /** A Retry-After longer than this fails the poll instead of blocking it. */
  maxRetryAfterMs: number;
  signal?: AbortSignal;
  /** Called before every attempt (the quota waits and counts there). */
  beforeAttempt?: () => Promise<void>;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
  onRetry?: (event: { attempt: number; waitMs: number; reason: string }) => void;
}

export interface Conditional {
  etag: string | null;
  lastModified: string | null;
}

export type FeedResponse = { status: 304 } | { status: 200; body: string; etag: string | null; lastModified: string | null; contentType: string | null };

/** A provider answer that retrying will not fix (401, 403, 404, …) or retries ran out. */
export class FeedHttpError extends UserError {
  constructor(
    message: string,
    readonly status: number | null,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FeedHttpError';
  }
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** GETs `url` with the conditional headers, retrying what is worth retrying. */
export async function getFeed(url: string, headers: Record<string, string>, conditional: Conditional, options: FeedHttpOptions): Promise<FeedResponse> {
  const random = options.random ?? Math.random;
  const request: Record<string, string> = { accept: 'application/json', ...headers };
  if (conditional.etag) request['if-none-match'] = conditional.etag;
  if (conditional.lastModified) request['if-modified-since'] = conditional.lastModified;
  const display = redactUrl(url);
  for (let attempt = 0; ; attempt++) {
    await options.beforeAttempt?.();
    let reason: string;
    let floorMs = 0;
    try {
      const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
      const res = await fetch(url, { headers: request, signal: AbortSignal.any(signals), redirect: 'follow' });
      if (res.status === 304) {
        await res.body?.cancel();
        return { status: 304 };
      }
      if (res.ok) {
        const body = await res.text();
        return {
          status: 200,
          body,
          etag: res.headers.get('etag'),
          lastModified: res.headers.get('last-modified'),
          contentType: res.headers.get('content-type'),
        };
      }
      const text = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
      reason = `HTTP ${res.status}`;
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after'));
        if (wait !== null && wait > options.maxRetryAfterMs) {
          throw new FeedHttpError(`${display}: HTTP 429, the provider asks to wait ${Math.ceil(wait / 1000)} s`, 429, {
            hint: 'the request quota is spent; wait, or lower the poll rate (--quota)',
          });
        }
        floorMs = wait ?? 0;
      } else if (res.status < 500) {
        throw new FeedHttpError(`${display}: HTTP ${res.status} ${text}`, res.status, {
          hint: res.status === 401 || res.status === 403 ? 'check the provider key in the environment' : undefined,
        });
      }
    } catch (error) {
      if (error instanceof FeedHttpError) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      reason =
        error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : `network error: ${(error as Error).message}`;
    }
    if (attempt >= options.retries) {
      throw new FeedHttpError(`${display}: ${reason} (after ${attempt + 1} attempt${attempt ? 's' : ''})`, null);
    }
    // Full jitter (AWS's "exponential backoff and jitter"): spreads clients that failed together.
    const waitMs = Math.max(floorMs, Math.round(random() * options.backoffMs * 2 ** attempt));
    options.onRetry?.({ attempt: attempt + 1, waitMs, reason });
    await sleep(waitMs, options.signal);
  }
}

/** The URL without credentials in its query (a key passed as ?token=… never reaches a log). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) if (/key|token|secret/i.test(k)) u.searchParams.set(k, '***');
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
