/**
 * One HTTP exchange with the tracking server: auth header, per-attempt timeout, retries with exponential backoff and
 * jitter on 408/429/5xx and connection errors (honouring Retry-After), an AbortSignal, and MLflow's error JSON mapped
 * to typed errors. Bodies are read inside the attempt, so a connection dropped mid-body is retried too.
 */
import type { z } from 'zod';
import { Interrupted } from '../errors.js';
import { mapHttpError, networkFailure, type HttpFailure } from './http-errors.js';
import { MlflowError, MlflowUnreachable } from './errors.js';
import { authorizationHeader, DEFAULT_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, redactSecrets, redactUri, type MlflowSettings } from './settings.js';

export interface RetryInfo {
  endpoint: string;
  /** The attempt that failed (1 = the first try). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface TransportOptions {
  /** Replaces fetch (tests); MLFLOW_TRACKING_INSECURE_TLS is then the replacement's business. */
  fetch?: typeof fetch;
  /** Aborts waits and requests; the client then throws the signal's reason (an Error) or Interrupted. */
  signal?: AbortSignal;
  /** Replaces the delay between retries (tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry, e.g. to log "MLflow unreachable, retrying in 2 s". */
  onRetry?: (info: RetryInfo) => void;
  /** Source of jitter in [0, 1) (tests). */
  random?: () => number;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
export type Query = Record<string, string | number | readonly string[] | undefined>;

export interface RequestSpec {
  method: Method;
  /** Path below the tracking URI, starting with `/`, e.g. `/api/2.0/mlflow/runs/get`. */
  path: string;
  query?: Query;
  /** Sent as application/json. */
  json?: unknown;
  /** Raw body (artifact uploads). */
  body?: Uint8Array | string;
  contentType?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

// A Retry-After beyond this is treated as this: oracx is a CLI, not a queue.
const MAX_RETRY_AFTER_MS = 300_000;

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

/** Delay before retry `attempt` (1-based): base·2^(attempt−1) capped, then "equal jitter" (half fixed, half random). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const exp = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Interrupted('MLflow request interrupted');
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

// Not unref'd: a CLI waiting to retry has nothing else keeping the process alive.
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Loads undici's fetch with an Agent that skips certificate checks (MLFLOW_TRACKING_INSECURE_TLS=true). */
async function insecureFetch(): Promise<typeof fetch> {
  const undici = await import('undici');
  const agent = new undici.Agent({ connect: { rejectUnauthorized: false } });
  return ((input: string, init?: RequestInit) =>
    undici.fetch(input, { ...(init as object), dispatcher: agent } as Parameters<typeof undici.fetch>[1])) as unknown as typeof fetch;
}

/** Query string for a spec: arrays become repeated keys (MLflow's `order_by`). */
export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') params.append(key, String(value));
    else for (const v of value) params.append(key, v);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The transport every client call goes through. */
export class MlflowHttp {
  readonly settings: MlflowSettings;
  /** The tracking URI, safe to print. */
  readonly displayUri: string;
  private readonly options: TransportOptions;
  private fetchImpl?: Promise<typeof fetch>;

  constructor(settings: MlflowSettings, options: TransportOptions = {}) {
    this.settings = { ...settings, trackingUri: settings.trackingUri.replace(/\/+$/, '') };
    this.options = options;
    this.displayUri = redactUri(this.settings.trackingUri);
  }

  /** Sends the request, retrying transient failures; resolves with a 2xx response, else throws an MlflowError. */
  async request(spec: RequestSpec): Promise<HttpResponse> {
    const { settings, options } = this;
    const fetchImpl = await this.fetcher();
    const url = `${settings.trackingUri}${spec.path}${queryString(spec.query)}`;
    const init = this.init(spec);
    const random = options.random ?? Math.random;
    const user = options.signal;
    for (let attempt = 1; ; attempt++) {
      if (user?.aborted) throw abortError(user);
      const timeout = AbortSignal.timeout(settings.timeoutMs);
      const signal = user ? AbortSignal.any([user, timeout]) : timeout;
      let failure: HttpFailure;
      try {
        const response = await fetchImpl(url, { ...init, signal });
        const body = new Uint8Array(await response.arrayBuffer());
        if (response.ok) return { status: response.status, headers: response.headers, body };
        const { error, retryable } = mapHttpError(spec.method, spec.path, response.status, body);
        if (!retryable) throw this.scrub(error);
        failure = { reason: `HTTP ${response.status}`, error, retryable, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
      } catch (error) {
        if (error instanceof MlflowError) throw error;
        if (user?.aborted) throw abortError(user);
        failure = networkFailure(spec.path, this.displayUri, error, timeout.aborted ? settings.timeoutMs : undefined);
        if (!failure.retryable) throw this.scrub(failure.error);
      }
      if (attempt > settings.maxRetries) throw this.exhausted(spec.path, attempt, failure);
      const delayMs =
        failure.retryAfterMs ?? backoffDelay(attempt, settings.backoffMs ?? DEFAULT_BACKOFF_MS, settings.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, random);
      options.onRetry?.({ endpoint: spec.path, attempt, delayMs, reason: failure.reason });
      await this.wait(delayMs);
    }
  }

  /** Waits `ms` with the configured sleep; rejects when the client's signal aborts. */
  wait(ms: number): Promise<void> {
    return abortable((this.options.sleep ?? defaultSleep)(ms), this.options.signal);
  }

  /** Sends the request and parses the JSON answer with `schema`. */
  async json<T>(spec: RequestSpec, schema: z.ZodType<T>): Promise<T> {
    const response = await this.request(spec);
    const text = new TextDecoder().decode(response.body);
    let data: unknown;
    try {
      data = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      const type = response.headers.get('content-type') ?? 'no content type';
      throw new MlflowError(`${spec.path}: the server at ${this.displayUri} answered HTTP ${response.status} with ${type}, not JSON`, {
        endpoint: spec.path,
        status: response.status,
        hint: 'check that MLFLOW_TRACKING_URI points at an MLflow tracking server (including any path prefix)',
      });
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown shape';
      throw new MlflowError(`${spec.path}: unexpected response from MLflow (${where})`, { endpoint: spec.path, status: response.status });
    }
    return parsed.data;
  }

  private init(spec: RequestSpec): RequestInit {
    const headers: Record<string, string> = { 'user-agent': 'oracx-mlflow' };
    const auth = authorizationHeader(this.settings);
    if (auth !== undefined) headers.authorization = auth;
    let body: string | Uint8Array | undefined = spec.body;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['content-type'] = 'application/json';
    } else if (spec.body !== undefined) {
      headers['content-type'] = spec.contentType ?? 'application/octet-stream';
    }
    // Node's fetch sends any Uint8Array; the DOM typings only list ArrayBuffer-backed views.
    return { method: spec.method, headers, body: body as BodyInit | undefined };
  }

  private fetcher(): Promise<typeof fetch> {
    this.fetchImpl ??= this.options.fetch
      ? Promise.resolve(this.options.fetch)
      : this.settings.insecureTls
        ? insecureFetch()
        : Promise.resolve(globalThis.fetch);
    return this.fetchImpl;
  }

  private exhausted(endpoint: string, attempts: number, failure: HttpFailure): MlflowError {
    const last = failure.error;
    const message = `${last.message} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`;
    const details = { endpoint, status: last.status, errorCode: last.errorCode, hint: last.hint, cause: last.cause ?? last };
    const error = last instanceof MlflowUnreachable ? new MlflowUnreachable(message, details) : new MlflowError(message, details);
    return this.scrub(error);
  }

  /** Removes the configured secrets from an error's message and hint (servers may echo them). */
  private scrub<E extends MlflowError>(error: E): E {
    const clean = redactSecrets(error.message, this.settings);
    if (clean !== error.message) error.message = clean;
    return error;
  }
}
