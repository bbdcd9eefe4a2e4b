/** Turning a failed HTTP exchange (an error status, or no response at all) into a typed MlflowError. */
import { MlflowAuthError, MlflowError, MlflowNotFound, MlflowParamChanged, MlflowUnreachable, MlflowUnsupportedVersion } from './errors.js';
import { redactUri } from './settings.js';

export interface HttpFailure {
  /** Short reason for onRetry, e.g. "HTTP 503" or "ECONNREFUSED". */
  reason: string;
  error: MlflowError;
  retryAfterMs?: number;
  retryable: boolean;
}

// MLflow returns these for transient trouble; python's client retries the same set.
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// Certificate problems never fix themselves between retries.
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;
const MAX_MESSAGE = 600;

function shorten(text: string): string {
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

function parseErrorBody(body: Uint8Array): { errorCode?: string; message: string } {
  const text = new TextDecoder().decode(body);
  try {
    const json = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (json && typeof json === 'object') {
      const errorCode = typeof json.error_code === 'string' ? json.error_code : undefined;
      const message = typeof json.message === 'string' ? json.message : text;
      return { errorCode, message: shorten(message) };
    }
  } catch {
    // Not JSON: a proxy's or the web framework's own error page.
  }
  return { message: shorten(text) };
}

/** The typed error for a non-2xx answer, and whether trying again may help. */
export function mapHttpError(method: string, endpoint: string, status: number, body: Uint8Array): { error: MlflowError; retryable: boolean } {
  const { errorCode, message } = parseErrorBody(body);
  const details = { endpoint, status, errorCode };
  const text = `MLflow ${method} ${endpoint} failed: ${message || 'no message'} (${errorCode ? `${errorCode}, ` : ''}HTTP ${status})`;
  if (status === 401 || status === 403) return { error: new MlflowAuthError(text, details), retryable: false };
  if (errorCode === 'RESOURCE_DOES_NOT_EXIST') return { error: new MlflowNotFound(text, details), retryable: false };
  if (status === 404 && errorCode === undefined) {
    const error = new MlflowUnsupportedVersion(`MLflow ${method} ${endpoint}: the server has no such endpoint (HTTP 404)`, {
      ...details,
      hint: 'the server may be older than MLflow 2.9, or MLFLOW_TRACKING_URI misses a path prefix',
    });
    return { error, retryable: false };
  }
  if (errorCode === 'INVALID_PARAMETER_VALUE' && /changing param values is not allowed/i.test(message)) {
    return { error: new MlflowParamChanged(text, details), retryable: false };
  }
  if (status === 503 && /--no-serve-artifacts/.test(message)) {
    const error = new MlflowError(`MLflow ${method} ${endpoint}: the server does not serve artifacts`, {
      ...details,
      hint: 'start `mlflow server` with --serve-artifacts (the default) so oracx can upload and download through it',
    });
    return { error, retryable: false };
  }
  return { error: new MlflowError(text, details), retryable: RETRYABLE_STATUS.has(status) };
}

function causeCode(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
  return e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(error);
}

/** The failure for a request that got no response: refused, reset, DNS, TLS or our own timeout. */
export function networkFailure(endpoint: string, displayUri: string, error: unknown, timedOutAfterMs?: number): HttpFailure {
  const reason = timedOutAfterMs !== undefined ? `timed out after ${timedOutAfterMs} ms` : causeCode(error);
  const server = redactUri(displayUri);
  if (timedOutAfterMs === undefined && TLS_CODES.test(reason)) {
    const e = new MlflowUnreachable(`MLflow at ${server}: TLS failure on ${endpoint} (${reason})`, {
      endpoint,
      cause: error,
      hint: 'check http:// vs https:// in MLFLOW_TRACKING_URI and the server certificate, or set MLFLOW_TRACKING_INSECURE_TLS=true to skip verification (only on a network you trust)',
    });
    return { reason, error: e, retryable: false };
  }
  if (reason === 'ENOTFOUND') {
    // A name that does not resolve is a typo far more often than a DNS hiccup (that is EAI_AGAIN, retried).
    const e = new MlflowUnreachable(`MLflow at ${server}: host not found (ENOTFOUND)`, {
      endpoint,
      cause: error,
      hint: 'check the host name in MLFLOW_TRACKING_URI',
    });
    return { reason, error: e, retryable: false };
  }
  const e = new MlflowUnreachable(`MLflow at ${server} unreachable on ${endpoint} (${reason})`, {
    endpoint,
    cause: error,
    hint: 'check MLFLOW_TRACKING_URI and that the server is running; MLFLOW_HTTP_REQUEST_TIMEOUT / MLFLOW_HTTP_REQUEST_MAX_RETRIES tune the patience',
  });
  return { reason, error: e, retryable: true };
}
