/**
 * What `oracx serve` does once its flags are parsed: open the store and the registry, start the server (or, with
 * --workers N, a node:cluster primary that keeps N single-server workers on one port), and stop gracefully when the
 * command's signal fires (SIGTERM, Ctrl-C): exit 0 once every queued prediction is written.
 */
import cluster from 'node:cluster';
import path from 'node:path';
import type { Context } from '../context.js';
import { UserError } from '../errors.js';
import { parseModelSource, type ModelSource } from '../predict/model.js';
import type { RegistryChoice } from '../registry/open.js';
import type { Registry } from '../registry/types.js';
import { ApiKeyAuthenticator } from './auth/api-key-auth.js';
import type { JwtFlags } from './auth/jwt-config.js';
import type { Rate } from './plugins/rates.js';
import type { RedisLike } from './runtime/cache.js';
import type { LiveRedis } from '../ingest/feeds/live-cache.js';
import { startServer } from './start.js';

/** The parsed flags of `oracx serve` (commands/serve.ts). */
export interface ServeSettings extends JwtFlags {
  model?: string;
  run?: number;
  challenger?: string;
  split?: number;
  host: string;
  port: number;
  workers: number;
  redis?: string;
  /** Key prefix of the live-match hashes collect feed --redis writes. */
  livePrefix: string;
  tlsCert?: string;
  tlsKey?: string;
  cors?: string[];
  refresh: number;
  modelPoll: number;
  /** match_finished → prediction refresh interval (0: off). */
  predictionRefresh: number;
  cacheTtl: number;
  accessLog: boolean;
  registry: RegistryChoice;
  /** Per principal and per client address; null: off. */
  rateLimit: Rate | null;
  ipRateLimit: Rate | null;
}

/** Runs the service until ctx.signal fires. */
export async function serve(ctx: Context, o: ServeSettings): Promise<void> {
  if (o.workers > 1 && cluster.isPrimary) return runPrimary(ctx, o);
  const store = await ctx.store();
  const source = (text: string | undefined, run: number | undefined): ModelSource =>
    run !== undefined ? { kind: 'run', run } : parseModelSource(text!, ctx.io.cwd);
  let registry: Promise<Registry> | null = null;
  const openRegistry = () => {
    registry ??= (async () => {
      const { openRegistry: open } = await import('../registry/open.js');
      return (await open(store, { env: ctx.io.env, cwd: ctx.io.cwd, logger: ctx.logger, signal: ctx.signal }, o.registry)).registry;
    })();
    return registry;
  };
  const { jwtAuthenticatorFrom } = await import('./auth/jwt-config.js');
  const jwt = await jwtAuthenticatorFrom(o, { env: ctx.io.env, cwd: ctx.io.cwd, store, logger: ctx.logger });
  if (jwt) ctx.logger.info(`oracx serve: JWT bearer tokens accepted: ${jwt.describe()}`);
  const redisUrl = o.redis ?? (ctx.io.env.ORACX_REDIS_URL || undefined);
  const redis = redisUrl ? await connectRedis(redisUrl, ctx) : null;
  const { version } = await import('./version.js');
  const { setupObservability } = await import('./plugins/index.js');
  const obs = await setupObservability({
    logger: ctx.logger,
    version: version(),
    env: ctx.io.env,
    rateLimit: o.rateLimit,
    ipRateLimit: o.ipRateLimit,
    redis,
    storeId: store.location,
    clustered: cluster.isWorker,
  });
  try {
    const server = await startServer({
      store,
      logger: ctx.logger,
      host: o.host,
      port: o.port,
      tls: o.tlsCert && o.tlsKey ? { cert: path.resolve(ctx.io.cwd, o.tlsCert), key: path.resolve(ctx.io.cwd, o.tlsKey) } : null,
      serving: {
        champion: source(o.model, o.run),
        challenger: o.challenger ? { source: parseModelSource(o.challenger, ctx.io.cwd), split: o.split ?? 0.1 } : null,
        registry: openRegistry,
        featureRefreshMs: o.refresh,
        modelPollMs: o.modelPoll,
        predictionRefreshMs: o.predictionRefresh,
        cache: { maxEntries: 100_000, ttlMs: o.cacheTtl, liveTtlMs: 30_000, redis },
        sink: { batchRows: 500, intervalMs: 100, maxQueued: 200_000 },
        batch: { maxRows: 512 },
        load: o.workers > 1 ? { intraOpNumThreads: 1 } : {},
        events: obs.events,
      },
      app: {
        version: version(),
        authenticators: [new ApiKeyAuthenticator(store), ...(jwt ? [jwt] : [])],
        security: { cors: o.cors ?? [] },
        // The live matches collect feed --redis keeps; the same client (ioredis) reads them.
        live: { redis: redis as unknown as LiveRedis | null, prefix: o.livePrefix },
        accessLog: o.accessLog,
        plugins: obs.plugins,
        routes: obs.routes,
      },
    });
    const models = server.runtime
      .slots()
      .map((s) => `${s.variant} ${s.current.identity.uri}`)
      .join(', ');
    ctx.logger.info(`oracx serve: listening on ${server.url} (${models}; pid ${process.pid}); docs at ${server.url}/docs`);
    await untilAborted(ctx.signal);
    ctx.logger.info('oracx serve: stopping: no new connections, finishing requests, writing queued predictions');
    await server.close();
    ctx.logger.info(`oracx serve: stopped (${server.runtime.sink.written} prediction(s) stored)`);
  } finally {
    await obs.close();
    await (redis as { quit?: () => Promise<unknown> } | null)?.quit?.().catch(() => undefined);
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** An ioredis client that fails fast when Redis is down (callers fall back to in-process state). */
async function connectRedis(url: string, ctx: Context): Promise<RedisLike> {
  const { Redis } = await import('ioredis');
  let client: InstanceType<typeof Redis>;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (n) => Math.min(5000, 100 * 2 ** n),
    });
  } catch (error) {
    throw new UserError(`invalid --redis URL: ${(error as Error).message}`, { hint: 'e.g. redis://127.0.0.1:6379' });
  }
  let warned = false;
  client.on('error', (error: Error) => {
    if (!warned) ctx.logger.warn(`Redis at ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${error.message}; falling back to in-process state until it answers`);
    warned = true;
  });
  client.on('ready', () => {
    if (warned) ctx.logger.info('Redis is back');
    warned = false;
  });
  await client.connect().catch(() => undefined);
  return client as unknown as RedisLike;
}

/** The cluster primary: N workers on one port, replaced when they die, stopped together. */
async function runPrimary(ctx: Context, o: ServeSettings): Promise<void> {
  ctx.logger.info(`oracx serve: starting ${o.workers} workers on ${o.host}:${o.port}`);
  // A scrape of /metrics lands on one worker, which asks here for the sum over all of them.
  const { serveClusterMetrics } = await import('./plugins/metrics-cluster.js');
  const stopMetrics = await serveClusterMetrics(ctx.logger);
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    ctx.logger.warn(`oracx serve: worker ${worker.process.pid} exited (${signal ?? code}); starting a new one`);
    setTimeout(fork, 1000).unref();
  });
  for (let i = 0; i < o.workers; i++) fork();
  await untilAborted(ctx.signal);
  stopping = true;
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
  stopMetrics();
  ctx.logger.info('oracx serve: every worker stopped');
}
