// The prediction service under test: a servable store built once per test file (the bundled E0 seasons, a few coming
// fixtures with their results blank, a Dixon–Coles and a logistic-regression model registered in the local registry,
// one API key per role), and servers started from it in-process on 127.0.0.1:0, talked to over real HTTP (undici).
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { request as undiciRequest, Agent } from 'undici';
import { Errors as schemaErrors } from 'typebox/schema';
import { expect } from 'vitest';
import type { Logger } from '../../src/logger.js';
import { parseModelSource, type ModelSource } from '../../src/predict/model.js';
import { openRegistry } from '../../src/registry/open.js';
import type { Registry } from '../../src/registry/types.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import type { ServingOptions } from '../../src/server/runtime/serving.js';
import type { LiveSource } from '../../src/server/routes/v1/live.js';
import { version } from '../../src/server/version.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, runCli, type CliResult } from './cli.js';
import { expectOk, MODEL, registerChampion, TRAIN_WINDOW } from './servable.js';
import { pgLocation, tempDir } from './stores.js';

/** The latest result of the bundled seasons: pairings must be dated after it. */
export const FRONTIER = '2020-07-26';
export { MODEL } from './servable.js';
export const ROLES = ['viewer', 'predictor', 'admin'] as const;
export type TestRole = (typeof ROLES)[number];

/** The coming fixtures collected into every servable store (real E0 pairings, results blank). */
export const COMING = [
  { date: '2020-09-12', time: '12:30', home: 'Liverpool', away: 'Norwich' },
  { date: '2020-09-12', time: '15:00', home: 'West Ham', away: 'Man City' },
  { date: '2020-09-12', time: '15:00', home: 'Bournemouth', away: 'Sheffield United' },
  { date: '2020-09-13', time: '14:00', home: 'Burnley', away: 'Southampton' },
  { date: '2020-09-13', time: '16:30', home: 'Crystal Palace', away: 'Everton' },
  { date: '2020-09-14', time: '20:00', home: 'Watford', away: 'Brighton' },
] as const;

/** A store the service can start from. */
export interface ServableStore {
  dialect: 'sqlite' | 'postgres';
  /** Working directory: the local registry's packages live in its .oracx/. */
  dir: string;
  /** --store value. */
  location: string;
  /** Registered versions of MODEL: 1 = dixon-coles (alias champion), 2 = logreg on core@2 (the default feature set, as dixon-coles's) (alias challenger). */
  versions: { dixonColes: number; logreg: number };
  /** One API key per role. */
  keys: Record<TestRole, string>;
  /** The ids of COMING, in order. */
  coming: number[];
  /** A connection of the test's own, for assertions. */
  store: Store;
  /** Runs oracx in-process against this store. */
  cli(args: string[]): Promise<CliResult>;
  /** Creates another API key (returns the secret and its id). */
  createKey(role: TestRole, name: string): Promise<{ key: string; id: number }>;
  close(): Promise<void>;
}

/**
 * COMING as a football-data CSV (an E0_2020-2021.csv), results blank except for the matches given in `results`
 * (index in COMING → [home goals, away goals]).
 */
export function comingCsv(results: Record<number, [number, number]> = {}): string {
  const source = readFileSync(path.join(FIXTURES, 'full', 'E0_2019-2020.csv'), 'latin1').split(/\r?\n/);
  const header = source[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  // A real row as the template (its prices stay: they are known before kick-off), results blank.
  const template = source[1]!.split(',');
  const known = new Set(['Div', 'Date', 'Time', 'HomeTeam', 'AwayTeam']);
  const blankFrom = header.indexOf('FTHG');
  const firstPrice = header.indexOf('B365H');
  const rows = COMING.map((m, k) => {
    const cells = template.map((cell, i) => (known.has(header[i]!) ? cell : i >= blankFrom && i < firstPrice ? '' : cell));
    const result = results[k];
    if (result) {
      cells[col('FTHG')] = String(result[0]);
      cells[col('FTAG')] = String(result[1]);
      cells[col('FTR')] = result[0] > result[1] ? 'H' : result[0] < result[1] ? 'A' : 'D';
    }
    const [y, mo, d] = m.date.split('-');
    cells[col('Date')] = `${d}/${mo}/${y}`;
    cells[col('Time')] = m.time;
    cells[col('HomeTeam')] = m.home;
    cells[col('AwayTeam')] = m.away;
    return cells.join(',');
  });
  return `${[source[0], ...rows].join('\r\n')}\r\n`;
}

/**
 * Collects the bundled seasons and the coming fixtures, trains a Dixon–Coles and a logreg model (window up to
 * 2019-06-30), registers them as MODEL versions 1 (champion) and 2 (challenger), and creates a key per role.
 */
export async function buildServableStore(options: { dialect?: 'sqlite' | 'postgres' } = {}): Promise<ServableStore> {
  const dialect = options.dialect ?? 'sqlite';
  const dir = tempDir('oracx-serve-');
  const location = dialect === 'postgres' ? pgLocation() : path.join(dir, 'oracx.db');
  const cli = (args: string[]) => runCli(['--store', location, ...args], { cwd: dir });
  const coming = path.join(dir, 'coming');
  mkdirSync(coming);
  writeFileSync(path.join(coming, 'E0_2020-2021.csv'), comingCsv(), 'latin1');
  const champion = await registerChampion(cli, [coming]);
  const lr = expectOk(await cli(['train', '--model', 'logreg', '--features', 'core@2', ...TRAIN_WINDOW, '--json']), 'train logreg').json<{ runId: number }>();
  const challenger = expectOk(
    await cli(['register', '--run', String(lr.runId), '--name', MODEL, '--alias', 'challenger', '--registry', 'local', '--json']),
    'register',
  );
  const versions = { dixonColes: champion.version, logreg: challenger.json<{ version: { version: number } }>().version.version };
  const createKey = async (role: TestRole, name: string) => {
    const r = expectOk(await cli(['auth', 'keys', 'create', '--role', role, '--name', name, '--json']), 'auth keys create').json<{ key: string; id: number }>();
    return { key: r.key, id: r.id };
  };
  const keys = {} as Record<TestRole, string>;
  for (const role of ROLES) keys[role] = (await createKey(role, `test-${role}`)).key;
  const store = await openStore(location);
  const ids: number[] = [];
  for (const m of COMING) {
    const row = await store.db
      .selectFrom('matches as m')
      .innerJoin('teams as h', 'h.id', 'm.home_team_id')
      .innerJoin('teams as a', 'a.id', 'm.away_team_id')
      .select('m.id')
      .where('m.date', '=', m.date)
      .where('h.name', '=', m.home)
      .where('a.name', '=', m.away)
      .executeTakeFirstOrThrow();
    ids.push(Number(row.id));
  }
  return { dialect, dir, location, versions, keys, coming: ids, store, cli, createKey, close: () => store.close() };
}

/** A logger that keeps what it is told (for asserting on warnings). */
export function memoryLogger(): Logger & { lines: Array<{ level: string; message: string }>; text(): string } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return {
    lines,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: () => undefined,
    text: () => lines.map((l) => `${l.level}: ${l.message}`).join('\n'),
  };
}

export interface StartOptions {
  /** --model value (default MODEL@champion). */
  model?: string;
  challenger?: { model: string; split: number } | null;
  /** The server's own --store value (e.g. through a proxy); default the fixture's. */
  location?: string;
  serving?: Partial<Omit<ServingOptions, 'store' | 'logger' | 'champion' | 'challenger' | 'registry'>>;
  /** Where GET /v1/live reads (default: the store). */
  live?: LiveSource;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: T;
}

export interface CallOptions {
  /** API key (or raw Authorization token); null sends none. */
  key?: string | null;
  body?: unknown;
  /** A raw body sent as is (with `contentType`). */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A server started in-process from a servable store. */
export interface TestServer {
  url: string;
  server: RunningServer;
  logger: ReturnType<typeof memoryLogger>;
  /** The server's own store connection. */
  store: Store;
  registry(): Promise<Registry>;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are untyped JSON read field by field
  call<T = any>(method: string, route: string, options?: CallOptions): Promise<HttpResponse<T>>;
  close(): Promise<void>;
}

// Keep-alive connections of our own, closed with the server.
function agent(): Agent {
  return new Agent({ keepAliveTimeout: 1000, connections: 64 });
}

/** Sends one request over real HTTP. */
// biome-ignore lint/suspicious/noExplicitAny: test responses are untyped JSON read field by field
export async function httpCall<T = any>(
  dispatcher: Agent | undefined,
  base: string,
  method: string,
  route: string,
  o: CallOptions = {},
): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  let body: string | Buffer | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
  const res = await undiciRequest(`${base}${route}`, { method: method as 'GET', headers, body, dispatcher });
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  let parsed: unknown;
  if (/json/.test(contentType)) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.statusCode, headers: res.headers, contentType, text, body: parsed as T };
}

/** Starts the service on 127.0.0.1:0 as `oracx serve` would (background loops off unless asked for). */
export async function startTestServer(fixture: ServableStore, o: StartOptions = {}): Promise<TestServer> {
  const logger = memoryLogger();
  const store = await openStore(o.location ?? fixture.location);
  let registry: Promise<Registry> | null = null;
  const openReg = () => (registry ??= openRegistry(store, { env: {}, cwd: fixture.dir, logger }, 'local').then((r) => r.registry));
  const source = (text: string): ModelSource => parseModelSource(text, fixture.dir);
  let server: RunningServer;
  try {
    server = await startServer({
      store,
      logger,
      host: '127.0.0.1',
      port: 0,
      tls: null,
      serving: {
        champion: source(o.model ?? `${MODEL}@champion`),
        challenger: o.challenger ? { source: source(o.challenger.model), split: o.challenger.split } : null,
        registry: openReg,
        featureRefreshMs: 0,
        modelPollMs: 0,
        cache: { maxEntries: 10_000, ttlMs: 300_000, liveTtlMs: 30_000, redis: null },
        sink: { batchRows: 500, intervalMs: 20, maxQueued: 200_000 },
        batch: { maxRows: 512 },
        ...o.serving,
      },
      app: { version: version(), authenticators: [new ApiKeyAuthenticator(store)], accessLog: false, live: o.live },
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const dispatcher = agent();
  let closed: Promise<void> | null = null;
  return {
    url: server.url,
    server,
    logger,
    store,
    registry: openReg,
    call: (method, route, options) => httpCall(dispatcher, server.url, method, route, options),
    close() {
      closed ??= (async () => {
        try {
          await server.close();
        } finally {
          await dispatcher.close().catch(() => undefined);
          await store.close().catch(() => undefined);
        }
      })();
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses against the service's own OpenAPI document.

// biome-ignore lint/suspicious/noExplicitAny: test responses are untyped JSON read field by field
type Json = Record<string, any>;

/** Checks responses against the OpenAPI document the server publishes at /openapi.json. */
export class SpecChecker {
  constructor(readonly spec: Json) {}

  static async load(server: TestServer): Promise<SpecChecker> {
    const r = await server.call<Json>('GET', '/openapi.json');
    expect(r.status).toBe(200);
    return new SpecChecker(r.body);
  }

  /** The documented response of `operation` ("GET /v1/matches/{id}") for a status. */
  response(operation: string, status: number): Json {
    const [method, route] = operation.split(' ') as [string, string];
    const op = this.spec.paths?.[route]?.[method.toLowerCase()];
    expect(op, `${operation} is in the OpenAPI document`).toBeDefined();
    const documented = op.responses?.[String(status)] ?? op.responses?.[`${String(status)[0]}XX`] ?? op.responses?.default;
    expect(documented, `${operation} documents status ${status} (it documents ${Object.keys(op.responses ?? {}).join(', ')})`).toBeDefined();
    return documented;
  }

  /** Asserts the response's status, content type and body are what the document says for `operation`. */
  conforms(operation: string, res: HttpResponse): void {
    const documented = this.response(operation, res.status);
    const content = documented.content as Record<string, { schema: Json }> | undefined;
    if (!content) return;
    const mediaType = res.contentType.split(';')[0]!.trim();
    expect(Object.keys(content), `${operation} ${res.status}: content type ${mediaType} is documented`).toContain(mediaType);
    const schema = content[mediaType]!.schema;
    const [ok, errors] = schemaErrors({ ...(this.spec.components?.schemas ?? {}) }, schema, res.body);
    expect(ok, `${operation} ${res.status} body matches its schema: ${JSON.stringify(errors.slice(0, 5))}\n${res.text.slice(0, 500)}`).toBe(true);
  }
}

/** Asserts a problem document: status, code, content type, the request id echoed in body and header. */
export function expectProblem(res: HttpResponse, status: number, code?: string | RegExp): Json {
  expect(res.status, res.text).toBe(status);
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  const doc = res.body as Json;
  expect(doc).toMatchObject({
    status,
    type: expect.stringMatching(/^https:\/\/oracx\.dev\/problems\//),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(doc.detail.length).toBeGreaterThan(5);
  expect(doc.requestId).toBe(res.headers['x-request-id']);
  if (code !== undefined) expect(doc.code).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
  return doc;
}

/** Counts rows of the predictions table. */
export async function countPredictions(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('predictions')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A pairing request after the frontier. */
export function pairing(home: string, away: string, date = '2020-09-19', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { competition: 'E0', home, away, date, ...extra };
}

/** Waits until `check` passes (polling), or throws its last failure after `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 10_000, every = 50): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, every));
    }
  }
}

/** One response of a load run. */
export interface LoadResult {
  startedAt: number;
  endedAt: number;
  status: number;
  /** The model version that answered (from the forecast), null on errors. */
  version: number | null;
  error: string | null;
}

/**
 * Sends POST /v1/predict with `concurrency` callers in a loop until stop() (bounded by maxMs), cycling through bodies.
 * Network errors are recorded, not thrown.
 */
export function startLoad(
  server: TestServer,
  o: { key: string; bodies: readonly unknown[]; concurrency: number; maxMs?: number },
): { stop(): Promise<LoadResult[]>; results: LoadResult[] } {
  const results: LoadResult[] = [];
  let stopped = false;
  const deadline = Date.now() + (o.maxMs ?? 30_000);
  let next = 0;
  const worker = async () => {
    while (!stopped && Date.now() < deadline) {
      const body = o.bodies[next++ % o.bodies.length];
      const startedAt = performance.now();
      try {
        const r = await server.call<{ model?: { version: number | null } }>('POST', '/v1/predict', { key: o.key, body });
        results.push({
          startedAt,
          endedAt: performance.now(),
          status: r.status,
          version: r.body?.model?.version ?? null,
          error: r.status === 200 ? null : r.text.slice(0, 300),
        });
      } catch (error) {
        results.push({ startedAt, endedAt: performance.now(), status: 0, version: null, error: (error as Error).message });
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  return {
    results,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return results;
    },
  };
}

/** Resolves after ms. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
