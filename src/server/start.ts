/**
 * Starting and stopping the service: the runtime (models, feature state, sink), the app, the listener (HTTP, or
 * HTTPS with TLS 1.2 minimum), and a graceful stop: stop accepting, let requests in flight finish, write every
 * queued prediction, release models and pools.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/connect.js';
import { buildApp, type AppOptions } from './app.js';
import { ServingRuntime, type ServingOptions } from './runtime/serving.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface ServerOptions {
  store: Store;
  serving: Omit<ServingOptions, 'store' | 'logger'>;
  app: Omit<AppOptions, 'store' | 'runtime' | 'logger' | 'server'>;
  logger: Logger;
  host: string;
  port: number;
  tls?: TlsFiles | null;
}

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  runtime: ServingRuntime;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /** Graceful stop: no new connections, in-flight requests finish, queued predictions are written. */
  close(): Promise<void>;
}

/** HTTPS options: TLS 1.2 at least, 1.3 preferred (Node negotiates the highest both sides support). */
async function httpsOptions(tls: TlsFiles): Promise<Record<string, unknown>> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new UserError(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`);
    }
  };
  const https = { cert: await read(tls.cert, 'certificate'), key: await read(tls.key, 'key'), minVersion: 'TLSv1.2' as const, maxVersion: 'TLSv1.3' as const };
  // Checked here so a bad file is a clear user error, not an internal one from deep inside the HTTPS server.
  try {
    createSecureContext(https);
  } catch (error) {
    const reason = (error as Error).message;
    const mismatch = /key values mismatch|KEY_VALUES_MISMATCH/i.test(reason);
    throw new UserError(
      mismatch
        ? `the TLS key ${tls.key} does not belong to the certificate ${tls.cert}`
        : `cannot use the TLS certificate ${tls.cert} with the key ${tls.key}: ${reason}`,
      {
        hint: mismatch
          ? 'pass the key the certificate was issued for'
          : 'both must be PEM files (-----BEGIN CERTIFICATE----- and an unencrypted -----BEGIN PRIVATE KEY-----)',
      },
    );
  }
  return { https };
}

/** Starts the runtime and the app and listens. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const server = o.tls ? await httpsOptions(o.tls) : {};
  const runtime = await ServingRuntime.start({ ...o.serving, store: o.store, logger: o.logger });
  let app: FastifyInstance;
  try {
    app = await buildApp({ ...o.app, store: o.store, runtime, logger: o.logger, server: { ...server, forceCloseConnections: 'idle' } });
    await app.listen({ host: o.host, port: o.port });
  } catch (error) {
    await runtime.close();
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new UserError(`port ${o.port} on ${o.host} is in use`, { hint: 'pass another --port, or stop what listens there' });
    if (e.code === 'EACCES') throw new UserError(`not allowed to listen on ${o.host}:${o.port}`, { hint: 'use a port above 1023' });
    if (e.code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${o.host}: no such local address`);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | null = null;
  return {
    app,
    runtime,
    port,
    url: `${o.tls ? 'https' : 'http'}://${host}:${port}`,
    close() {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await runtime.close();
        }
      })();
      return closing;
    },
  };
}
