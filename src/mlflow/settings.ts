/** MLflow connection settings from the environment variables MLflow users already set, and credential redaction. */
import { UserError } from '../errors.js';

export interface MlflowSettings {
  /** http(s) base URL of the tracking server, without credentials or trailing slash (may carry a path prefix). */
  trackingUri: string;
  /** Basic auth; used when both username and password are set (it wins over `token`, as in MLflow). */
  username?: string;
  password?: string;
  /** Bearer token. */
  token?: string;
  /** Don't verify the server's TLS certificate. */
  insecureTls: boolean;
  experimentName?: string;
  /** Per attempt, including reading the response body. */
  timeoutMs: number;
  /** Retries after the first attempt on 408/429/5xx and connection errors. */
  maxRetries: number;
  /** First retry delay; doubles each retry (default 500 ms). */
  backoffMs?: number;
  /** Cap of one retry delay (default 30 s). */
  maxBackoffMs?: number;
}

// MLflow's own defaults for the timeout (MLFLOW_HTTP_REQUEST_TIMEOUT=120) and retries (MLFLOW_HTTP_REQUEST_MAX_RETRIES=7).
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_RETRIES = 7;
// MLflow starts at 2 s; 0.5 s doubling to 30 s still rides out a minute of rate limiting with 7 retries, and
// recovers faster from a server restart.
export const DEFAULT_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

const SERVER_HINT = 'run an MLflow tracking server (`mlflow server`) and set MLFLOW_TRACKING_URI=http://127.0.0.1:5000';

function fail(message: string, hint = SERVER_HINT): never {
  throw new UserError(message, { hint });
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseBoolean(name: string, value: string | undefined): boolean {
  const v = nonEmpty(value)?.toLowerCase();
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  return fail(`${name}=${value} is not a boolean`, `use ${name}=true or ${name}=false`);
}

function parseNumber(name: string, value: string | undefined, options: { integer: boolean; min: number }): number | undefined {
  const v = nonEmpty(value);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < options.min || (options.integer && !Number.isInteger(n))) {
    const kind = options.integer ? 'an integer' : 'a number';
    return fail(`${name}=${value} is not ${kind} ≥ ${options.min}`, `fix or unset ${name}`);
  }
  return n;
}

/** Rejects the tracking URIs MLflow's Python client accepts but oracx cannot use, with what to do instead. */
function checkScheme(uri: string): URL {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'databricks' || scheme === 'databricks-uc' || uri === 'databricks') {
    fail(`MLFLOW_TRACKING_URI=${uri}: Databricks tracking URIs are not supported by oracx`, 'point it at an http(s) MLflow tracking server');
  }
  if (scheme === undefined || scheme === 'file' || /^[a-z]:[\\/]/i.test(uri)) {
    fail(`MLFLOW_TRACKING_URI=${uri}: local file stores (file:/…, paths) are not supported by oracx, which talks to a tracking server over REST`);
  }
  if (scheme !== 'http' && scheme !== 'https') {
    fail(`MLFLOW_TRACKING_URI=${redactUri(uri)}: the "${scheme}:" scheme is not supported by oracx (only http:// and https:// tracking servers)`);
  }
  try {
    return new URL(uri);
  } catch {
    return fail(`MLFLOW_TRACKING_URI=${redactUri(uri)} is not a valid URL`);
  }
}

/**
 * Reads MLFLOW_TRACKING_URI (null when unset or empty), MLFLOW_TRACKING_USERNAME/PASSWORD (Basic),
 * MLFLOW_TRACKING_TOKEN (Bearer), MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_EXPERIMENT_NAME and MLflow's
 * MLFLOW_HTTP_REQUEST_TIMEOUT (seconds), MLFLOW_HTTP_REQUEST_MAX_RETRIES and MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (seconds).
 * Credentials in the URI (`https://user:pass@host`) are used when the variables are not set.
 */
export function mlflowSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MlflowSettings | null {
  const raw = nonEmpty(env.MLFLOW_TRACKING_URI);
  if (raw === undefined) return null;
  const url = checkScheme(raw);
  let username = nonEmpty(env.MLFLOW_TRACKING_USERNAME);
  let password = env.MLFLOW_TRACKING_PASSWORD || undefined;
  if (username === undefined && password === undefined && (url.username || url.password)) {
    username = decodeURIComponent(url.username) || undefined;
    password = decodeURIComponent(url.password) || undefined;
  }
  url.username = '';
  url.password = '';
  url.hash = '';
  const timeoutSeconds = parseNumber('MLFLOW_HTTP_REQUEST_TIMEOUT', env.MLFLOW_HTTP_REQUEST_TIMEOUT, { integer: false, min: 0.001 });
  const backoffSeconds = parseNumber('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', env.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, { integer: false, min: 0 });
  const settings: MlflowSettings = {
    trackingUri: url.toString().replace(/\/+$/, ''),
    insecureTls: parseBoolean('MLFLOW_TRACKING_INSECURE_TLS', env.MLFLOW_TRACKING_INSECURE_TLS),
    timeoutMs: timeoutSeconds === undefined ? DEFAULT_TIMEOUT_MS : Math.round(timeoutSeconds * 1000),
    maxRetries: parseNumber('MLFLOW_HTTP_REQUEST_MAX_RETRIES', env.MLFLOW_HTTP_REQUEST_MAX_RETRIES, { integer: true, min: 0 }) ?? DEFAULT_MAX_RETRIES,
  };
  if (username !== undefined) settings.username = username;
  if (password !== undefined) settings.password = password;
  const token = nonEmpty(env.MLFLOW_TRACKING_TOKEN);
  if (token !== undefined) settings.token = token;
  const experimentName = nonEmpty(env.MLFLOW_EXPERIMENT_NAME);
  if (experimentName !== undefined) settings.experimentName = experimentName;
  if (backoffSeconds !== undefined) settings.backoffMs = Math.round(backoffSeconds * 1000);
  return settings;
}

/** The Authorization header value, or undefined: Basic when username and password are both set, else Bearer. */
export function authorizationHeader(settings: MlflowSettings): string | undefined {
  if (settings.username !== undefined && settings.password !== undefined) {
    return `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  }
  if (settings.token !== undefined) return `Bearer ${settings.token}`;
  return undefined;
}

const SECRET_QUERY = /^(token|access_token|password|secret|api_key|apikey|key|sig|signature)$/i;

/** A URI safe to print: user info and secret-looking query values replaced by ***. Non-URLs are returned as they are. */
export function redactUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
  }
  if (url.password) url.password = '***';
  else if (url.username) url.username = '***';
  for (const key of [...url.searchParams.keys()]) if (SECRET_QUERY.test(key)) url.searchParams.set(key, '***');
  const out = url.toString();
  // URL adds a slash to a bare origin; keep the caller's form.
  return out.endsWith('/') && !uri.endsWith('/') ? out.slice(0, -1) : out;
}

/** Replaces every occurrence of the settings' password, token and Basic header in `text` with ***. */
export function redactSecrets(text: string, settings: Pick<MlflowSettings, 'password' | 'token' | 'username'>): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
  const secrets = [settings.password, settings.token];
  if (settings.username !== undefined && settings.password !== undefined) {
    secrets.push(Buffer.from(`${settings.username}:${settings.password}`).toString('base64'));
  }
  for (const secret of secrets) {
    // Very short secrets would blank out ordinary words; they are still kept out of the messages oracx builds.
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
