// A servable store (3 E0 seasons collected, a Dixon–Coles model trained and registered as oracx-e0@champion in the
// local registry) and an in-process server on 127.0.0.1:0 over it, as `oracx serve` wires one, with captured logs.
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApiKey, type KeyRole } from '../../src/auth/api-keys.js';
import { createLogger } from '../../src/logger.js';
import { parseModelSource } from '../../src/predict/model.js';
import { openRegistry } from '../../src/registry/open.js';
import type { AppOptions } from '../../src/server/app.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import type { Authenticator } from '../../src/server/auth/plugin.js';
import { startServer, type RunningServer, type TlsFiles } from '../../src/server/start.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { runCli, type CliResult } from './cli.js';
import { registerChampion } from './servable.js';
import { tempDir } from './stores.js';

export interface ServableStore {
  /** Working directory (holds .oracx/registry). */
  dir: string;
  /** Store location (SQLite file or PostgreSQL URL). */
  location: string;
  /** Runs the CLI on this store from this directory. */
  cli(args: string[], env?: Record<string, string | undefined>): Promise<CliResult>;
}

/** Collects the fixtures, trains and registers oracx-e0@champion; about 5 s. */
export async function servableStore(location?: string): Promise<ServableStore> {
  const dir = tempDir('oracx-serve-');
  const where = location ?? path.join(dir, 'store.db');
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    runCli([...args, '--store', where], { cwd: dir, env: { ORACX_ACTOR: 'test-admin', ...env } });
  await registerChampion(cli);
  return { dir, location: where, cli };
}

/** Text written to a captured logger. */
export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
}

export interface FixtureServer {
  server: RunningServer;
  store: Store;
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface FixtureServerOptions {
  /** Authenticators given the opened store; API keys only by default. */
  authenticators?: (store: Store) => Authenticator[] | Promise<Authenticator[]>;
  tls?: TlsFiles;
  app?: Partial<Omit<AppOptions, 'store' | 'runtime' | 'logger' | 'server' | 'authenticators'>>;
}

/** Starts the service on 127.0.0.1, any free port, logging JSON at debug level into `logs`. */
export async function startFixtureServer(s: ServableStore, o: FixtureServerOptions = {}): Promise<FixtureServer> {
  const store = await openStore(s.location, { cwd: s.dir });
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', json: true, color: false, correlationId: 'serve-fixture', stream: logs });
  const controller = new AbortController();
  let server: RunningServer;
  try {
    server = await startServer({
      store,
      logger,
      host: '127.0.0.1',
      port: 0,
      tls: o.tls ?? null,
      serving: {
        champion: parseModelSource('oracx-e0@champion', s.dir),
        challenger: null,
        registry: async () => (await openRegistry(store, { env: {}, cwd: s.dir, logger, signal: controller.signal }, 'local')).registry,
        featureRefreshMs: 0,
        modelPollMs: 0,
        cache: { maxEntries: 1000, ttlMs: 0, liveTtlMs: 0, redis: null },
        sink: { batchRows: 100, intervalMs: 50, maxQueued: 10_000 },
        batch: { maxRows: 64 },
      },
      app: {
        version: '0.0.0-test',
        accessLog: true,
        ...o.app,
        authenticators: o.authenticators ? await o.authenticators(store) : [new ApiKeyAuthenticator(store)],
      },
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    server,
    store,
    url: server.url,
    logs,
    async close() {
      controller.abort();
      await server.close();
      await store.close();
    },
  };
}

/** One API key per role. */
export async function keysByRole(store: Store, owner: string | null = null): Promise<Record<KeyRole, string>> {
  const out = {} as Record<KeyRole, string>;
  for (const role of ['viewer', 'predictor', 'admin'] as const)
    out[role] = (await createApiKey(store, { name: `test-${role}`, role, owner, createdBy: 'test' })).key;
  return out;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request over a real socket (any method and header, Origin included); https when the URL says so. */
export function request(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; ca?: string | Buffer } = {}): Promise<HttpAnswer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: o.method ?? 'GET',
        headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
        ...(o.ca ? { ca: o.ca } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json<T>() {
              return JSON.parse(body) as T;
            },
          }),
        );
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Authorization header for a key or token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
