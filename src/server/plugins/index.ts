/**
 * What `oracx serve` adds around the app: rate limits, Prometheus metrics and (when an OTLP endpoint is set)
 * OpenTelemetry traces. setupObservability returns the runtime's event hooks and the two app hooks buildApp takes
 * (AppOptions.plugins before authentication, AppOptions.routes beside the routes), and close() for shutdown.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../logger.js';
import type { ServingEvents, ServingRuntime } from '../runtime/serving.js';
import { ServerMetrics } from './metrics.js';
import { registerRateLimits, type RateLimitRedis } from './rate-limit.js';
import type { Rate } from './rates.js';
import { startTracing, tracingWanted, type Tracing } from './tracing.js';

export interface ObservabilityOptions {
  logger: Logger;
  version: string;
  /** Where OTEL_* variables are read (the command's environment). */
  env: Record<string, string | undefined>;
  /** --rate-limit and --ip-rate-limit (null: off). */
  rateLimit: Rate | null;
  ipRateLimit: Rate | null;
  /** The --redis client, if any: rate-limit counts are shared through it. */
  redis: unknown;
  /** Identifies the store (its location): callers of one store share budgets in Redis, other stores never do. */
  storeId: string;
  /** In a cluster worker (--workers N): /metrics answers for every worker. */
  clustered: boolean;
}

export interface Observability {
  /** For ServingOptions.events. */
  readonly events: ServingEvents;
  /** For AppOptions.plugins. */
  plugins(app: FastifyInstance, deps: { runtime: ServingRuntime }): Promise<void>;
  /** For AppOptions.routes. */
  routes(app: FastifyInstance): Promise<void>;
  readonly metrics: ServerMetrics;
  readonly tracing: boolean;
  /** Exports the last spans. */
  close(): Promise<void>;
}

/** Builds the metrics registry and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, starts tracing. */
export async function setupObservability(o: ObservabilityOptions): Promise<Observability> {
  const metrics = await ServerMetrics.create({ clustered: o.clustered });
  const tracing: Tracing | null = tracingWanted(o.env) ? await startTracing({ env: o.env, version: o.version, logger: o.logger }) : null;
  return {
    events: tracing ? combineEvents(metrics.events, tracing.events) : metrics.events,
    metrics,
    tracing: tracing !== null,
    async plugins(app, { runtime }) {
      metrics.bind(runtime);
      // Tracing first: its span covers everything after it, the refused requests included.
      tracing?.hooks(app);
      metrics.hooks(app);
      const limits = await registerRateLimits(app, {
        perPrincipal: o.rateLimit,
        perAddress: o.ipRateLimit,
        redis: redisFor(o.redis),
        prefix: `oracx:rl:${createHash('sha256').update(o.storeId).digest('hex').slice(0, 12)}:`,
        logger: o.logger,
        onLimited: (scope) => metrics.limitedRequest(scope),
      });
      metrics.bindRateLimits(limits);
    },
    async routes(app) {
      metrics.routes(app);
    },
    async close() {
      await tracing?.shutdown();
    },
  };
}

/** The --redis client as the rate limits use it (an ioredis client). */
function redisFor(client: unknown): RateLimitRedis | null {
  if (client === null || client === undefined) return null;
  const c = client as Partial<RateLimitRedis>;
  if (typeof c.defineCommand !== 'function' || typeof c.status !== 'string') throw new Error('the Redis client is not an ioredis client');
  return c as RateLimitRedis;
}

/** One ServingEvents that tells every listener. */
export function combineEvents(...all: ServingEvents[]): ServingEvents {
  const keys = ['onPrepare', 'onRun', 'onForecast', 'onFlush', 'onSwap', 'onRefresh'] as const;
  const out: ServingEvents = {};
  for (const key of keys) {
    const fns = all.map((e) => e[key]).filter((f) => f !== undefined) as Array<(...args: unknown[]) => void>;
    if (fns.length === 0) continue;
    const one =
      fns.length === 1
        ? fns[0]!
        : (...args: unknown[]) => {
            for (const f of fns) f(...args);
          };
    (out as Record<string, unknown>)[key] = one;
  }
  return out;
}
