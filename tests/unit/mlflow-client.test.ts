// The MLflow client without a server: settings, batch planning at MLflow's limits, retries and error mapping through a
// fake fetch, credential redaction, and TLS against a local self-signed HTTPS server.
import { createServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Interrupted, UserError } from '../../src/errors.js';
import { proxiedPath, normaliseArtifactPath } from '../../src/mlflow/artifacts.js';
import { planBatch } from '../../src/mlflow/batch.js';
import { MlflowClient } from '../../src/mlflow/client.js';
import {
  MlflowAuthError,
  MlflowError,
  MlflowNotFound,
  MlflowParamChanged,
  MlflowUnreachable,
  MlflowUnsupportedVersion,
  MlflowValidationError,
  ModelVersionNotReady,
} from '../../src/mlflow/errors.js';
import { backoffDelay, parseRetryAfter } from '../../src/mlflow/http.js';
import { authorizationHeader, mlflowSettingsFromEnv, redactUri, type MlflowSettings } from '../../src/mlflow/settings.js';
import { compareVersions } from '../../src/mlflow/tracking.js';
import type { Metric } from '../../src/mlflow/types.js';

// ---------------------------------------------------------------- fake server

interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  json?: Record<string, unknown>;
}

type Answer = Response | Error | ((call: Call, signal: AbortSignal) => Promise<Response>);

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const mlflowError = (status: number, errorCode: string, message: string, headers: Record<string, string> = {}) =>
  json({ error_code: errorCode, message }, status, headers);
const refused = () =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' }) });

/** A fetch answering from a queue (one answer per call) or a handler; records every call. */
function fakeFetch(answers: Answer[] | ((call: Call) => Response | Error)) {
  const calls: Call[] = [];
  const fetch = (async (input: string, init: RequestInit = {}) => {
    const url = new URL(input);
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const call: Call = { method: init.method ?? 'GET', path: url.pathname, query: url.searchParams, headers };
    if (typeof init.body === 'string' && headers['content-type'] === 'application/json') call.json = JSON.parse(init.body) as Record<string, unknown>;
    calls.push(call);
    const answer = Array.isArray(answers) ? answers.shift() : answers(call);
    if (answer === undefined) throw new Error(`unexpected call ${call.method} ${call.path}`);
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer(call, init.signal as AbortSignal);
    return answer;
  }) as unknown as typeof fetch;
  return { fetch, calls };
}

const SETTINGS: MlflowSettings = { trackingUri: 'http://mlflow.test:5000', insecureTls: false, timeoutMs: 5000, maxRetries: 3 };

function client(answers: Parameters<typeof fakeFetch>[0], settings: Partial<MlflowSettings> = {}, extra: { signal?: AbortSignal } = {}) {
  const { fetch, calls } = fakeFetch(answers);
  const sleeps: number[] = [];
  const retries: { endpoint: string; attempt: number; delayMs: number; reason: string }[] = [];
  const c = new MlflowClient(
    { ...SETTINGS, ...settings },
    {
      fetch,
      signal: extra.signal,
      sleep: async (ms) => void sleeps.push(ms),
      onRetry: (info) => void retries.push(info),
      random: () => 0.5,
    },
  );
  return { client: c, calls, sleeps, retries };
}

const RUN_ID = 'a'.repeat(32);
const runJson = (overrides: Record<string, unknown> = {}) => ({
  run: {
    info: {
      run_id: RUN_ID,
      experiment_id: '1',
      status: 'RUNNING',
      start_time: 1,
      artifact_uri: `mlflow-artifacts:/1/${RUN_ID}/artifacts`,
      lifecycle_stage: 'active',
      ...overrides,
    },
    data: {},
    inputs: {},
  },
});

// ---------------------------------------------------------------- settings

describe('mlflowSettingsFromEnv', () => {
  it('is null without a tracking URI', () => {
    expect(mlflowSettingsFromEnv({})).toBeNull();
    expect(mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: '  ' })).toBeNull();
  });

  it('reads MLflow variables with MLflow defaults', () => {
    const s = mlflowSettingsFromEnv({
      MLFLOW_TRACKING_URI: 'https://mlflow.example.com/prefix/',
      MLFLOW_EXPERIMENT_NAME: 'oracx',
      MLFLOW_TRACKING_INSECURE_TLS: 'TRUE',
      MLFLOW_HTTP_REQUEST_TIMEOUT: '2.5',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
      MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '1',
    });
    expect(s).toEqual({
      trackingUri: 'https://mlflow.example.com/prefix',
      experimentName: 'oracx',
      insecureTls: true,
      timeoutMs: 2500,
      maxRetries: 0,
      backoffMs: 1000,
    });
    expect(mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000' })).toEqual({
      trackingUri: 'http://127.0.0.1:5000',
      insecureTls: false,
      timeoutMs: 120_000,
      maxRetries: 7,
    });
  });

  it('uses Basic when username and password are set (even with a token), else Bearer', () => {
    const env = { MLFLOW_TRACKING_URI: 'http://h', MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 's3cret!', MLFLOW_TRACKING_TOKEN: 'tok-123' };
    const basic = mlflowSettingsFromEnv(env);
    expect(basic && authorizationHeader(basic)).toBe(`Basic ${Buffer.from('ann:s3cret!').toString('base64')}`);
    const bearer = mlflowSettingsFromEnv({ ...env, MLFLOW_TRACKING_PASSWORD: '' });
    expect(bearer && authorizationHeader(bearer)).toBe('Bearer tok-123');
    const none = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://h' });
    expect(none && authorizationHeader(none)).toBeUndefined();
  });

  it('moves credentials out of the URI unless the variables give them', () => {
    const s = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'https://bob:p%40ss@mlflow.example.com' });
    expect(s).toMatchObject({ trackingUri: 'https://mlflow.example.com', username: 'bob', password: 'p@ss' });
    const env = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'https://bob:pass@h', MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 'x' });
    expect(env).toMatchObject({ trackingUri: 'https://h', username: 'ann', password: 'x' });
  });

  it.each([
    ['file:///tmp/mlruns', /local file stores/],
    ['./mlruns', /local file stores/],
    ['databricks', /Databricks/],
    ['databricks://profile', /Databricks/],
    ['sqlite:///mlflow.db', /"sqlite:" scheme is not supported/],
  ])('rejects %s with a clear message', (uri, message) => {
    expect(() => mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: uri })).toThrow(message);
    expect(() => mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: uri })).toThrow(UserError);
  });

  it('rejects malformed numbers and booleans, naming the variable', () => {
    expect(() => mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_TRACKING_INSECURE_TLS: 'yes please' })).toThrow(
      /MLFLOW_TRACKING_INSECURE_TLS/,
    );
    expect(() => mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2.5' })).toThrow(/MLFLOW_HTTP_REQUEST_MAX_RETRIES/);
    expect(() => mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_HTTP_REQUEST_TIMEOUT: '-1' })).toThrow(/MLFLOW_HTTP_REQUEST_TIMEOUT/);
  });

  it('redacts credentials and secret query values in URIs', () => {
    expect(redactUri('https://bob:hunter2@mlflow.example.com/x')).toBe('https://bob:***@mlflow.example.com/x');
    expect(redactUri('https://tok-abc@mlflow.example.com')).toBe('https://***@mlflow.example.com');
    expect(redactUri('https://h/api?token=abc&x=1')).toBe('https://h/api?token=***&x=1');
    expect(redactUri('http://127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    const s = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'https://bob:hunter2@h' });
    expect(JSON.stringify(s?.trackingUri)).not.toContain('hunter2');
  });
});

// ---------------------------------------------------------------- batch planning

const metric = (i: number, key = `m${i % 7}`): Metric => ({ key, value: i / 3, timestamp: 1_700_000_000_000 + i, step: i });

describe('planBatch', () => {
  it('splits 10,000 metrics and 200 params into 11 requests, like MLflow’s Python client', () => {
    const metrics = Array.from({ length: 10_000 }, (_, i) => metric(i));
    const params = Array.from({ length: 200 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
    const chunks = planBatch({ metrics, params });
    expect(chunks).toHaveLength(11);
    for (const c of chunks) {
      expect(c.metrics.length).toBeLessThanOrEqual(1000);
      expect(c.params.length).toBeLessThanOrEqual(100);
      expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(1000);
    }
    expect(chunks.flatMap((c) => c.metrics).map((m) => m.step)).toEqual(metrics.map((m) => m.step));
    expect(chunks.flatMap((c) => c.params).map((p) => p.key)).toEqual(params.map((p) => p.key));
  });

  it('fills requests exactly to the limits', () => {
    expect(planBatch({ metrics: Array.from({ length: 1000 }, (_, i) => metric(i)) })).toHaveLength(1);
    expect(planBatch({ metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) }).map((c) => c.metrics.length)).toEqual([1000, 1]);
    const chunks = planBatch({
      metrics: Array.from({ length: 1000 }, (_, i) => metric(i)),
      params: Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: 'v' })),
      tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: 'v' })),
    });
    expect(chunks.map((c) => [c.params.length, c.tags.length, c.metrics.length])).toEqual([
      [100, 100, 800],
      [0, 1, 200],
    ]);
  });

  it('keeps each request under 1 MB when values are long', () => {
    const params = Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: 'x'.repeat(6000) }));
    const tags = Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: 'y'.repeat(8000) }));
    const chunks = planBatch({ params, tags });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify({ run_id: RUN_ID, ...c }))).toBeLessThanOrEqual(1_000_000);
    expect(chunks.flatMap((c) => c.tags)).toHaveLength(100);
  });

  it('accepts values at the limits and rejects one character more, naming the key', () => {
    expect(() => planBatch({ params: [{ key: 'k'.repeat(250), value: 'v'.repeat(6000) }], tags: [{ key: 't', value: 'v'.repeat(8000) }] })).not.toThrow();
    expect(() => planBatch({ params: [{ key: 'lr', value: 'v'.repeat(6001) }] })).toThrow(/param "lr" value is 6001 characters long; MLflow's limit is 6000/);
    expect(() => planBatch({ tags: [{ key: 'note', value: 'v'.repeat(8001) }] })).toThrow(/tag "note" value is 8001 characters/);
    expect(() => planBatch({ metrics: [{ ...metric(1), key: 'k'.repeat(251) }] })).toThrow(MlflowValidationError);
    // Python counts code points: 6000 emoji are 12,000 UTF-16 units but within the limit.
    expect(() => planBatch({ params: [{ key: 'e', value: '⚽️'.slice(0, 1).repeat(6000) }] })).not.toThrow();
    expect(() => planBatch({ params: [{ key: 'e', value: '😀'.repeat(6000) }] })).not.toThrow();
    expect(() => planBatch({ params: [{ key: 'e', value: '😀'.repeat(6001) }] })).toThrow(/6001 characters/);
  });

  it.each(['', 'a//b', '/abs', 'trail/', 'a/../b', './a', 'semi;colon', 'quote"'])('rejects the key %j', (key) => {
    expect(() => planBatch({ metrics: [{ ...metric(1), key }] })).toThrow(MlflowValidationError);
  });

  it('accepts MLflow-style keys', () => {
    expect(() => planBatch({ metrics: ['val/rps', 'fold 1: rps', 'a-b_c.d', 'écart'].map((key) => ({ ...metric(1), key })) })).not.toThrow();
  });

  it('checks metric timestamps and steps', () => {
    expect(() => planBatch({ metrics: [{ ...metric(1), timestamp: -1 }] })).toThrow(/timestamp/);
    expect(() => planBatch({ metrics: [{ ...metric(1), step: 1.5 }] })).toThrow(/step/);
  });

  it('sends NaN and ±Infinity as MLflow’s strings', () => {
    const [chunk] = planBatch({ metrics: [NaN, Infinity, -Infinity, 0.5].map((value, i) => ({ ...metric(i), value })) });
    expect(chunk?.metrics.map((m) => m.value)).toEqual(['NaN', 'Infinity', '-Infinity', 0.5]);
  });

  it('drops a repeated param with the same value and refuses one with another value', () => {
    const [chunk] = planBatch({
      params: [
        { key: 'a', value: '1' },
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
    });
    expect(chunk?.params).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(() =>
      planBatch({
        params: [
          { key: 'a', value: '1' },
          { key: 'a', value: '2' },
        ],
      }),
    ).toThrow(/param "a" is given twice with different values/);
  });

  it('keeps the last value of a repeated tag', () => {
    const [chunk] = planBatch({
      tags: [
        { key: 't', value: '1' },
        { key: 'u', value: 'x' },
        { key: 't', value: '2' },
      ],
    });
    expect(chunk?.tags).toEqual([
      { key: 'u', value: 'x' },
      { key: 't', value: '2' },
    ]);
  });
});

// ---------------------------------------------------------------- retries and errors

describe('retries', () => {
  it('retries 503 and 429 with exponential backoff, honouring Retry-After', async () => {
    const {
      client: c,
      calls,
      sleeps,
      retries,
    } = client(
      [
        mlflowError(503, 'TEMPORARILY_UNAVAILABLE', 'busy'),
        mlflowError(429, 'REQUEST_LIMIT_EXCEEDED', 'slow down', { 'retry-after': '3' }),
        mlflowError(502, '', 'bad gateway'),
        json(runJson()),
      ],
      { backoffMs: 1000 },
    );
    const run = await c.getRun(RUN_ID);
    expect(run.info.runId).toBe(RUN_ID);
    expect(calls).toHaveLength(4);
    // attempt 1: 1000 ms base, equal jitter at random 0.5 → 750; attempt 2: Retry-After 3 s; attempt 3: 4000 → 3000.
    expect(sleeps).toEqual([750, 3000, 3000]);
    expect(retries.map((r) => [r.attempt, r.reason])).toEqual([
      [1, 'HTTP 503'],
      [2, 'HTTP 429'],
      [3, 'HTTP 502'],
    ]);
    expect(retries[0]?.endpoint).toBe('/api/2.0/mlflow/runs/get');
  });

  it('retries refused connections and gives up with MlflowUnreachable after maxRetries', async () => {
    const { client: c, calls } = client([refused(), refused(), refused(), refused()], { maxRetries: 3 });
    const error = await c.getRun(RUN_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowUnreachable);
    expect(calls).toHaveLength(4);
    expect((error as MlflowUnreachable).message).toMatch(
      /MLflow at http:\/\/mlflow.test:5000 unreachable on \/api\/2.0\/mlflow\/runs\/get \(ECONNREFUSED\) \(gave up after 4 attempts\)/,
    );
    expect((error as MlflowUnreachable).endpoint).toBe('/api/2.0/mlflow/runs/get');
  });

  it('classifies a real refused connection from Node’s fetch', async () => {
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const retries: string[] = [];
    const c = new MlflowClient(
      { ...SETTINGS, trackingUri: `http://127.0.0.1:${port}`, maxRetries: 1, backoffMs: 1 },
      { onRetry: (r) => void retries.push(r.reason) },
    );
    const error = await c.serverVersion().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowUnreachable);
    expect(retries).toEqual(['ECONNREFUSED']);
    expect((error as Error).message).toContain('(ECONNREFUSED) (gave up after 2 attempts)');
  });

  it('does not retry a host name that does not resolve', async () => {
    const notFound = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND mlfow.test'), { code: 'ENOTFOUND' }),
    });
    const { client: c, calls } = client([notFound]);
    const error = await c.getRun(RUN_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowUnreachable);
    expect((error as MlflowUnreachable).hint).toContain('host name');
    expect(calls).toHaveLength(1);
  });

  it('recovers when the connection comes back', async () => {
    const { client: c, calls } = client([refused(), refused(), json(runJson())]);
    await expect(c.getRun(RUN_ID)).resolves.toMatchObject({ info: { runId: RUN_ID } });
    expect(calls).toHaveLength(3);
  });

  it('times out a hanging attempt and retries it', async () => {
    const hang = (_call: Call, signal: AbortSignal) =>
      new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const { client: c, calls, retries } = client([hang, json(runJson())], { timeoutMs: 50 });
    await expect(c.getRun(RUN_ID)).resolves.toBeTruthy();
    expect(calls).toHaveLength(2);
    expect(retries[0]?.reason).toBe('timed out after 50 ms');
  });

  it('does not retry 400 and 404, and maps MLflow error codes', async () => {
    const bad = client([mlflowError(400, 'INVALID_PARAMETER_VALUE', 'bad filter')]);
    const e400 = await bad.client.searchRuns({ experimentIds: ['1'], filter: 'nonsense' }).catch((e: unknown) => e);
    expect(e400).toBeInstanceOf(MlflowError);
    expect(e400).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', endpoint: '/api/2.0/mlflow/runs/search' });
    expect(bad.calls).toHaveLength(1);

    const missing = client([mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Run with id=x not found')]);
    const e404 = await missing.client.getRun('x').catch((e: unknown) => e);
    expect(e404).toBeInstanceOf(MlflowNotFound);
    expect((e404 as Error).message).toContain('Run with id=x not found (RESOURCE_DOES_NOT_EXIST, HTTP 404)');
    expect(missing.calls).toHaveLength(1);
  });

  it.each([401, 403])('maps %i to MlflowAuthError pointing at the credential variables, without retrying', async (status) => {
    const { client: c, calls } = client([new Response('You are not authenticated.', { status })]);
    const error = await c.getRun(RUN_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowAuthError);
    expect((error as MlflowAuthError).hint).toMatch(/MLFLOW_TRACKING_USERNAME\/MLFLOW_TRACKING_PASSWORD .* MLFLOW_TRACKING_TOKEN/);
    expect(calls).toHaveLength(1);
  });

  it('reports a missing endpoint (HTML 404) as an unsupported server', async () => {
    const { client: c } = client([new Response('<html><h1>Not Found</h1></html>', { status: 404, headers: { 'content-type': 'text/html' } })]);
    await expect(c.getVersionByAlias('m', 'champion')).rejects.toBeInstanceOf(MlflowUnsupportedVersion);
  });

  it('explains a changed param value', async () => {
    const message = "Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '1', 'new_value': '2'}]'";
    const { client: c } = client([mlflowError(400, 'INVALID_PARAMETER_VALUE', message)]);
    const error = await c.logBatch(RUN_ID, { params: [{ key: 'lr', value: '2' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowParamChanged);
    expect((error as MlflowParamChanged).hint).toMatch(/new run/);
  });

  it('says which log-batch request failed and that the earlier ones were logged', async () => {
    const { client: c, calls } = client([json({}), mlflowError(400, 'INVALID_PARAMETER_VALUE', 'nope')]);
    const error = await c.logBatch(RUN_ID, { metrics: Array.from({ length: 2500 }, (_, i) => metric(i)) }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/\[log-batch request 2 of 3; the 1 before it were logged\]$/);
    expect(calls).toHaveLength(2);
    expect((calls[0]!.json!.metrics as unknown[]).length).toBe(1000);
  });

  it('refuses invalid batches before sending anything', async () => {
    const { client: c, calls } = client([]);
    await expect(c.logBatch(RUN_ID, { params: [{ key: 'a', value: 'x'.repeat(6001) }] })).rejects.toBeInstanceOf(MlflowValidationError);
    expect(calls).toHaveLength(0);
  });

  it('stops waiting at once when the signal aborts', async () => {
    const controller = new AbortController();
    const { fetch, calls } = fakeFetch([mlflowError(503, 'X', 'busy'), json(runJson())]);
    const c = new MlflowClient({ ...SETTINGS, backoffMs: 60_000 }, { fetch, signal: controller.signal });
    const pending = c.getRun(RUN_ID);
    setTimeout(() => controller.abort(new Interrupted('interrupted by SIGINT')), 20);
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(Interrupted);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(calls).toHaveLength(1);
  });

  it('parses Retry-After and computes jittered backoff', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('99999')).toBe(300_000);
    expect([1, 2, 3, 10].map((a) => backoffDelay(a, 500, 30_000, () => 0))).toEqual([250, 500, 1000, 15_000]);
    expect(backoffDelay(4, 500, 30_000, () => 0.999_999)).toBe(4000);
  });
});

// ---------------------------------------------------------------- credentials

describe('credentials', () => {
  it('sends Basic or Bearer and never prints the secrets', async () => {
    const echo = (call: Call) => mlflowError(400, 'INVALID_PARAMETER_VALUE', `bad request with header ${call.headers.authorization}`);
    const basic = client(echo, { username: 'ann', password: 'hunter2-pw' });
    const error = await basic.client.getRun(RUN_ID).catch((e: unknown) => e as Error);
    expect(basic.calls[0]?.headers.authorization).toBe(`Basic ${Buffer.from('ann:hunter2-pw').toString('base64')}`);
    expect(error.message).not.toContain(Buffer.from('ann:hunter2-pw').toString('base64'));
    expect(error.message).toContain('***');

    const bearer = client((call: Call) => mlflowError(400, 'INVALID_PARAMETER_VALUE', `token ${call.headers.authorization} rejected`), {
      token: 'tok-very-secret',
    });
    const e2 = await bearer.client.getRun(RUN_ID).catch((e: unknown) => e as Error);
    expect(bearer.calls[0]?.headers.authorization).toBe('Bearer tok-very-secret');
    expect(e2.message).not.toContain('tok-very-secret');

    const anonymous = client([json(runJson())]);
    await anonymous.client.getRun(RUN_ID);
    expect(anonymous.calls[0]?.headers.authorization).toBeUndefined();
  });

  it('keeps credentials out of unreachable-server messages', async () => {
    const settings = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: 'http://bob:hunter2@mlflow.test:5000', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' });
    const { fetch } = fakeFetch([refused()]);
    const error = await new MlflowClient(settings as MlflowSettings, { fetch }).getRun(RUN_ID).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(MlflowUnreachable);
    expect(`${error.message} ${(error as MlflowUnreachable).hint}`).not.toContain('hunter2');
  });
});

// ---------------------------------------------------------------- higher-level calls

describe('client calls on a fake server', () => {
  it('checks the server version numerically', async () => {
    expect(compareVersions('2.10.0', '2.9.0')).toBe(1);
    expect(compareVersions('3.0.0rc1', '3.0.0')).toBe(0);
    await expect(client([new Response('3.17.2')]).client.checkServerVersion()).resolves.toBe('3.17.2');
    await expect(client([new Response('2.10.1')]).client.checkServerVersion()).resolves.toBe('2.10.1');
    const old = await client([new Response('2.8.1')])
      .client.checkServerVersion()
      .catch((e: unknown) => e);
    expect(old).toBeInstanceOf(MlflowUnsupportedVersion);
    expect(old).toMatchObject({ serverVersion: '2.8.1' });
    await expect(client([new Response('<html>hello</html>')]).client.checkServerVersion()).rejects.toBeInstanceOf(MlflowUnsupportedVersion);
    await expect(client([new Response('Not Found', { status: 404 })]).client.checkServerVersion()).rejects.toBeInstanceOf(MlflowUnsupportedVersion);
  });

  it('gets or creates an experiment when another process wins the race', async () => {
    const experiment = { experiment: { experiment_id: '7', name: 'e', artifact_location: 'mlflow-artifacts:/7', lifecycle_stage: 'active' } };
    const { client: c, calls } = client([
      mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'no experiment'),
      mlflowError(400, 'RESOURCE_ALREADY_EXISTS', 'Experiment(name=e) already exists'),
      json(experiment),
    ]);
    await expect(c.getOrCreateExperiment('e')).resolves.toBe('7');
    expect(calls.map((x) => x.path.split('/').at(-1))).toEqual(['get-by-name', 'create', 'get-by-name']);
  });

  it('refuses a deleted experiment that still holds the name', async () => {
    const deleted = { experiment: { experiment_id: '3', name: 'old', lifecycle_stage: 'deleted' } };
    await expect(client([json(deleted)]).client.getOrCreateExperiment('old')).rejects.toThrow(/is deleted/);
  });

  it('waits for READY, and types FAILED_REGISTRATION and time-outs', async () => {
    const mv = (status: string, extra: Record<string, unknown> = {}) => json({ model_version: { name: 'm', version: '1', source: 's', status, ...extra } });
    const ok = client([mv('PENDING_REGISTRATION'), mv('PENDING_REGISTRATION'), mv('READY')]);
    await expect(ok.client.waitModelVersionReady('m', '1', { pollMs: 10 })).resolves.toMatchObject({ status: 'READY' });
    expect(ok.sleeps).toEqual([10, 10]);

    const failed = client([mv('FAILED_REGISTRATION', { status_message: 'copy failed' })]);
    const e1 = await failed.client.waitModelVersionReady('m', '1').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ModelVersionNotReady);
    expect(e1).toMatchObject({ versionStatus: 'FAILED_REGISTRATION', modelName: 'm', version: '1' });
    expect((e1 as Error).message).toContain('copy failed');

    const slow = client(() => mv('PENDING_REGISTRATION'));
    const e2 = await slow.client.waitModelVersionReady('m', '1', { timeoutMs: 50, pollMs: 20 }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ModelVersionNotReady);
    expect(e2).toMatchObject({ versionStatus: 'PENDING_REGISTRATION' });
    expect(slow.sleeps).toEqual([20, 20, 10]);
  });

  it('answers null for an unset alias', async () => {
    const { client: c } = client([mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.')]);
    await expect(c.getVersionByAlias('m', 'champion')).resolves.toBeNull();
  });

  it('follows search pages', async () => {
    const page = (ids: string[], next?: string) =>
      json({ runs: ids.map((id) => ({ ...runJson({ run_id: id }).run })), ...(next ? { next_page_token: next } : {}) });
    const { client: c, calls } = client([page(['a', 'b'], 'tok1'), page(['c'], 'tok2'), page([])]);
    const ids: string[] = [];
    for await (const run of c.searchAllRuns({ experimentIds: ['1'], maxResults: 2 })) ids.push(run.info.runId);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(calls.map((x) => x.json?.page_token)).toEqual([undefined, 'tok1', 'tok2']);
  });

  it('maps snake_case responses to camelCase types', async () => {
    const body = runJson({ run_name: 'r', end_time: '1700000000123' });
    Object.assign(body.run, {
      data: { metrics: [{ key: 'rps', value: 'NaN', timestamp: 5, step: '2' }], params: [{ key: 'p', value: '1' }], tags: [{ key: 't', value: 'v' }] },
      inputs: {
        dataset_inputs: [
          { tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset: { name: 'd', digest: 'abc', source_type: 'local', source: '{}' } },
        ],
      },
    });
    const run = await client([json(body)]).client.getRun(RUN_ID);
    expect(run.info).toMatchObject({ runName: 'r', endTime: 1_700_000_000_123, artifactUri: `mlflow-artifacts:/1/${RUN_ID}/artifacts` });
    expect(run.data.metrics[0]).toEqual({ key: 'rps', value: NaN, timestamp: 5, step: 2 });
    expect(run.inputs).toEqual([{ dataset: { name: 'd', digest: 'abc', sourceType: 'local', source: '{}' }, context: 'training' }]);
  });

  it('refuses non-JSON answers with a hint about the tracking URI', async () => {
    const { client: c } = client([new Response('<html>welcome</html>', { headers: { 'content-type': 'text/html' } })]);
    await expect(c.getRun(RUN_ID)).rejects.toThrow(/not JSON/);
  });

  it('adds the standard mlflow.* tags to new runs', async () => {
    const { client: c, calls } = client([json(runJson())]);
    await c.createRun({ experimentId: '1', runName: 'fit', tags: { 'oracx.model': 'logreg' } });
    const tags = Object.fromEntries((calls[0]!.json!.tags as { key: string; value: string }[]).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'mlflow.source.type': 'LOCAL', 'mlflow.runName': 'fit', 'oracx.model': 'logreg' });
    expect(calls[0]?.json).toMatchObject({ experiment_id: '1', run_name: 'fit' });
  });

  it('a terminal status ends the run now unless an end time is given', async () => {
    const { client: c, calls } = client([json({ run_info: runJson().run.info }), json({ run_info: runJson().run.info })]);
    const before = Date.now();
    await c.updateRun(RUN_ID, { status: 'FINISHED' });
    await c.updateRun(RUN_ID, { status: 'RUNNING' });
    expect(calls[0]?.json?.end_time).toBeGreaterThanOrEqual(before);
    expect(calls[1]?.json?.end_time).toBeUndefined();
  });
});

describe('artifact locations', () => {
  it.each([
    ['mlflow-artifacts:/1/abc/artifacts', '1/abc/artifacts'],
    ['mlflow-artifacts://host:5000/1/abc/artifacts/', '1/abc/artifacts'],
    ['http://h:5000/api/2.0/mlflow-artifacts/artifacts/2/abc/artifacts/model', '2/abc/artifacts/model'],
  ])('%s → %s', (uri, proxied) => {
    expect(proxiedPath(uri)).toBe(proxied);
  });

  it('refuses stores the proxy does not serve and unsafe paths', () => {
    expect(() => proxiedPath('s3://bucket/1/abc')).toThrow(/not served through the tracking server/);
    expect(() => proxiedPath('s3://bucket/1/abc')).toThrow(expect.objectContaining({ hint: expect.stringContaining('--serve-artifacts') }));
    expect(() => normaliseArtifactPath('../etc/passwd')).toThrow(MlflowValidationError);
    expect(() => normaliseArtifactPath('')).toThrow(MlflowValidationError);
    expect(() => normaliseArtifactPath('notes/#1.txt')).toThrow(/"#"/);
    expect(() => normaliseArtifactPath('a%41.txt')).toThrow(/%-escape/);
    expect(normaliseArtifactPath('100% sure.txt')).toBe('100% sure.txt');
    expect(normaliseArtifactPath('', { root: true })).toBe('');
    expect(normaliseArtifactPath('/model/model.onnx')).toBe('model/model.onnx');
  });
});

// ---------------------------------------------------------------- TLS

// A self-signed certificate for 127.0.0.1 (EC P-256, valid until 2126), for this test only.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjQAf07VkXTVXG9bh
Z8+ArYWHJ+cTXAzu5fUBobF0K9KhRANCAASQgH2uCS3NAdU0vo9Sofh7qwaXddM9
ppiwtX59IxHXwLYtTze8SAEpq5B5u1gXx2H40oiRhzL9dpgNoGzjAEfz
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUfD9aTEPPfNEw+ctdLfdO24pG97swCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNDIzMjkxMVoYDzIxMjYxMDMx
MjMyOTExWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASQgH2uCS3NAdU0vo9Sofh7qwaXddM9ppiwtX59IxHXwLYtTze8SAEp
q5B5u1gXx2H40oiRhzL9dpgNoGzjAEfzo2QwYjAdBgNVHQ4EFgQUXAf7WzKXnTDa
HjtbbE50btvfFhwwHwYDVR0jBBgwFoAUXAf7WzKXnTDaHjtbbE50btvfFhwwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQDqKfUXGuH293ussERyhKeGKoOcL4KDoHegQ9fIzWcA4wIhAJyj7r/D2K/w4Jtl
M60gEbtgogn5M3ZGOyJlHw07xqeg
-----END CERTIFICATE-----`;

describe('MLFLOW_TRACKING_INSECURE_TLS', () => {
  it('fails fast on a self-signed certificate, and accepts it when insecure TLS is on', async () => {
    const server = createServer({ key: TLS_KEY, cert: TLS_CERT }, (_req, res) => res.end('3.17.2'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const strict = new MlflowClient({ ...SETTINGS, trackingUri: url, maxRetries: 3 });
      const error = await strict.serverVersion().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MlflowUnreachable);
      expect((error as MlflowUnreachable).hint).toContain('MLFLOW_TRACKING_INSECURE_TLS=true');
      expect((error as Error).message).not.toMatch(/gave up/);

      const settings = mlflowSettingsFromEnv({ MLFLOW_TRACKING_URI: url, MLFLOW_TRACKING_INSECURE_TLS: 'true' }) as MlflowSettings;
      await expect(new MlflowClient(settings).serverVersion()).resolves.toBe('3.17.2');
    } finally {
      server.close();
    }
  });
});
