/**
 * OpenTelemetry traces over OTLP, on only when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
 * is set; the SDK is loaded then and never otherwise. The SDK reads the standard OTEL_* variables itself (protocol
 * http/protobuf by default or http/json or grpc, headers, timeout, sampler, propagators, resource attributes,
 * batch processor settings; it reads them from the process environment); the service name defaults to "oracx".
 *
 * Each request gets a SERVER span (route pattern, status, request id, caller) whose parent is the W3C traceparent
 * the client sent, if any; the route handler runs inside it, so the runtime's hooks add child spans: the feature
 * lookup and the onnxruntime run (a micro-batch serves several requests; its span goes to the request that opened
 * the batch and says how many rows it ran). Predictions are written later, in batches: each batch write is a trace
 * of its own (oracx.predictions.write). Health probes and /metrics are not traced.
 */
import type { Context as OtelContext, Span, Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from '../../logger.js';
import type { ServingEvents } from '../runtime/serving.js';

type Env = Record<string, string | undefined>;

/** True when traces should be exported: an OTLP endpoint is set and the SDK or the trace exporter is not turned off. */
export function tracingWanted(env: Env): boolean {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
}

/** Routes that are not traced: probes and scrapes would drown the traces that matter. */
function untraced(route: string): boolean {
  return route.startsWith('/health/') || route === '/metrics' || route.startsWith('/v2/health/');
}

const SPAN = Symbol('oracx.span');
const CONTEXT = Symbol('oracx.traceContext');
interface Traced {
  [SPAN]: Span | null;
  [CONTEXT]: OtelContext | null;
}

export interface Tracing {
  /** Registers the request hooks (before the routes and authentication). */
  hooks(app: FastifyInstance): void;
  /** Child spans from the serving runtime. */
  readonly events: ServingEvents;
  /** Exports what is buffered and unregisters the SDK. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env: Env;
  version: string;
  logger: Logger;
}

/** Starts the OpenTelemetry SDK (traces only) and returns the hooks that use it. */
export async function startTracing(o: TracingOptions): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { defaultResource, resourceFromAttributes, envDetector, hostDetector } = await import('@opentelemetry/resources');
  const named = (o.env.OTEL_SERVICE_NAME ?? '').trim() !== '' || /(^|,)\s*service\.name\s*=/.test(o.env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    // process.pid and the runtime only: the process detector would export the command line, which may hold a
    // store URL with its password.
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.version': o.version,
        'process.pid': process.pid,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': process.versions.node,
      }),
    ),
    ...((o.env.OTEL_NODE_RESOURCE_DETECTORS ?? '') === '' ? { resourceDetectors: [envDetector, hostDetector] } : {}),
    ...(named ? {} : { serviceName: 'oracx' }),
    // Traces only: no OTLP metrics or logs (metrics are Prometheus', logs go to stderr).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  if ((o.env.OTEL_LOG_LEVEL ?? '') === '') forwardDiagnostics(api, o.logger);
  const tracer = api.trace.getTracer('oracx', o.version);
  o.logger.info(`tracing: exporting spans over OTLP to ${redactUrl(o.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || o.env.OTEL_EXPORTER_OTLP_ENDPOINT || '')}`);
  return {
    hooks: (app) => requestSpans(app, api, tracer),
    events: runtimeSpans(api, tracer),
    async shutdown() {
      try {
        // A collector that is down must not hold the stop for the exporter's retries.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([sdk.shutdown(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)))]).finally(
          () => clearTimeout(timer),
        );
      } catch (error) {
        o.logger.warn(`tracing: could not export the last spans: ${(error as Error).message}`);
      } finally {
        api.trace.disable();
        api.context.disable();
        api.propagation.disable();
        api.diag.disable();
      }
    },
  };
}

type Api = typeof import('@opentelemetry/api');

function requestSpans(app: FastifyInstance, api: Api, tracer: Tracer): void {
  app.decorateRequest(SPAN, null);
  app.decorateRequest(CONTEXT, null);
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && untraced(route)) return done();
    const parent = api.propagation.extract(api.ROOT_CONTEXT, request.headers);
    const q = request.url.indexOf('?');
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: api.SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': q === -1 ? request.url : request.url.slice(0, q),
          'url.scheme': request.protocol,
          'client.address': request.ip,
          'oracx.request_id': request.id,
          ...(route === undefined ? {} : { 'http.route': route }),
          ...(typeof request.headers['user-agent'] === 'string' ? { 'user_agent.original': request.headers['user-agent'] } : {}),
        },
      },
      parent,
    );
    const traced = request as unknown as Traced;
    traced[SPAN] = span;
    traced[CONTEXT] = api.trace.setSpan(parent, span);
    done();
  });
  // The handler runs in the span's context: what the runtime does for it (lookup, ORT run) nests under it.
  app.addHook('onRoute', (route) => {
    if (untraced(route.url)) return;
    const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;
    route.handler = function traced(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const ctx = (request as unknown as Traced)[CONTEXT];
      return ctx ? api.context.with(ctx, handler, this, request, reply) : handler.call(this, request, reply);
    } as RouteHandlerMethod;
  });
  app.addHook('onResponse', (request, reply, done) => {
    const traced = request as unknown as Traced;
    const span = traced[SPAN];
    if (span) {
      traced[SPAN] = null;
      traced[CONTEXT] = null;
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (request.principal) span.setAttribute('oracx.principal', request.principal.id);
      if (reply.statusCode >= 500) {
        span.setAttribute('error.type', String(reply.statusCode));
        span.setStatus({ code: api.SpanStatusCode.ERROR });
      }
      span.end();
    }
    done();
  });
}

function runtimeSpans(api: Api, tracer: Tracer): ServingEvents {
  /** A span that already happened: it ended now and took `ms`. */
  const past = (name: string, ms: number, attributes: Record<string, string | number>, parent: OtelContext | null) => {
    if (parent === null) return;
    const end = performance.now();
    tracer.startSpan(name, { kind: api.SpanKind.INTERNAL, startTime: end - ms, attributes }, parent).end(end);
  };
  // Only inside a traced request; never a trace of its own.
  const inRequest = () => {
    const ctx = api.context.active();
    return api.trace.getSpan(ctx) ? ctx : null;
  };
  return {
    onPrepare: (requests, ms) => past('oracx.features.lookup', ms, { 'oracx.requests': requests }, inRequest()),
    onRun: (rows, ms, model) =>
      past('oracx.onnx.run', ms, { 'oracx.batch.rows': rows, 'oracx.model.uri': model.identity.uri, 'oracx.model.digest': model.identity.digest }, inRequest()),
    // Batches of many requests' rows, written after the answers: a trace of their own.
    onFlush: (rows, ms) => past('oracx.predictions.write', ms, { 'oracx.predictions.rows': rows }, api.ROOT_CONTEXT),
  };
}

/**
 * The SDK's own warnings and errors (a failed export, a bad OTEL_* value) as our log lines, each distinct message at
 * most once a minute: a collector that is down must not flood the log. OTEL_LOG_LEVEL, when set, leaves the SDK's
 * console logger in place instead.
 */
function forwardDiagnostics(api: Api, logger: Logger): void {
  const last = new Map<string, number>();
  const say =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) => {
      const text = redactUrl(
        [message, ...args]
          .map(describe)
          .filter((t) => t !== '')
          .join(': '),
      );
      const now = Date.now();
      if ((last.get(text) ?? -Infinity) > now - 60_000) return;
      if (last.size > 100) last.clear();
      last.set(text, now);
      logger[level](`tracing: ${text}`);
    };
  const quiet = () => undefined;
  api.diag.setLogger(
    { error: say('warn'), warn: say('warn'), info: quiet, debug: quiet, verbose: quiet },
    { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** A diagnostic argument as text: the SDK hands errors over as JSON documents with a stack; keep the message. */
function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value !== 'string') return '';
  if (!value.startsWith('{')) return value;
  try {
    const doc = JSON.parse(value) as { message?: unknown };
    return typeof doc.message === 'string' ? `export failed: ${doc.message}` : value;
  } catch {
    return value;
  }
}

/** An endpoint URL for a log line: no user or password. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
