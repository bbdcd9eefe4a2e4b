/**
 * The service's app factory: one Fastify instance with request ids, problem documents, authentication, the routes
 * and the OpenAPI document (Swagger UI at /docs, served from the npm package). `oracx serve` only starts it; tests
 * drive it with app.inject and over real HTTP.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import type { Logger } from '../logger.js';
import type { Store } from '../store/connect.js';
import { authPlugin, type AuthFailure, type Authenticator } from './auth/plugin.js';
import { frameworkError, problemPlugin } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { liveRoutes, type LiveSource } from './routes/v1/live.js';
import { matchRoutes } from './routes/v1/matches.js';
import { modelRoutes } from './routes/v1/models.js';
import { predictionRoutes } from './routes/v1/predictions.js';
import { predictRoutes } from './routes/v1/predict.js';
import { inferenceRoutes } from './routes/v2/inference.js';
import type { ServingRuntime } from './runtime/serving.js';
import { securityPlugin, type SecurityOptions } from './security/plugin.js';
import type { Principal } from './types.js';

/** Body size limits (bytes): a single forecast is tiny, a batch bounded, v2 tensors can be large. */
export const BODY_LIMITS = { default: 64 * 1024, batch: 1024 * 1024, infer: 16 * 1024 * 1024 } as const;

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export interface AppOptions {
  store: Store;
  runtime: ServingRuntime;
  logger: Logger;
  version: string;
  authenticators: readonly Authenticator[];
  onAuthFailure?: (failure: AuthFailure) => void;
  onAuthSuccess?: (principal: Principal) => void;
  /** One log line per request (method, route, status, duration, request id). */
  accessLog?: boolean;
  /** Rows per onnxruntime run in v2 infer (see MicroBatcher). */
  maxRows?: number;
  /** Where GET /v1/live reads (default: the store). */
  live?: LiveSource;
  /** Extra Fastify server options (https, etc.). */
  server?: Partial<FastifyServerOptions> & Record<string, unknown>;
  /** Security headers, CORS allow-list and the security audit (src/server/security); on by default, no CORS. */
  security?: SecurityOptions;
  /** Told of every route as it is registered, docs and plugins' routes included (route inventories, tests). */
  onRoute?: (route: RouteOptions) => void;
  /**
   * Registers plugins that must wrap every route (rate limits, metrics, tracing, security headers): called before
   * authentication and the routes, so their hooks see every request, refused ones included, and run before auth's.
   */
  plugins?: (app: FastifyInstance, deps: { runtime: ServingRuntime }) => Promise<void>;
  /** Registers routes that come with those plugins (e.g. /metrics), after the OpenAPI plugin so they are documented. */
  routes?: (app: FastifyInstance, deps: { runtime: ServingRuntime }) => Promise<void>;
}

/** Builds the app (not listening). */
export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMITS.default,
    // The X-Request-Id a client sends is kept when it is a sane token (it ends up in logs), else one is made.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Longer than any path parameter's schema allows, so an over-long one is a validation error naming it.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: frameworkError,
    // No coercion: Ajv's would apply to bodies too ("12" taken for the match id 12, false for null). Numeric text in
    // query strings and path parameters becomes a number first (preValidation below).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...o.server,
  });
  if (o.onRoute) app.addHook('onRoute', o.onRoute);
  // Hooks on every request are callback-style where they need no await: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    const schema = request.routeOptions.schema as { querystring?: ObjectSchema; params?: ObjectSchema } | undefined;
    if (schema?.querystring && request.query) request.query = numbersFromText(schema.querystring, request.query as Record<string, unknown>);
    if (schema?.params && request.params) request.params = numbersFromText(schema.params, request.params as Record<string, unknown>);
    done();
  });
  if (o.accessLog) {
    app.addHook('onResponse', async (request, reply) => {
      o.logger.info('request', {
        requestId: request.id,
        method: request.method,
        // The pattern; unmatched requests show their path without the query string (it may hold credentials).
        route: request.routeOptions.url ?? request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        principal: request.principal?.id ?? null,
        ip: request.ip,
      });
    });
  }
  await app.register(problemPlugin, { logger: o.logger });
  await app.register(securityPlugin, { ...o.security, store: o.store, logger: o.logger, tls: Boolean(o.server?.https) });
  if (o.plugins) await o.plugins(app, { runtime: o.runtime });
  // Bodies are JSON: Fastify's built-in text/plain parser would hand a string to validation (400, not 415).
  app.removeContentTypeParser('text/plain');
  await registerDocs(app, o.version);
  await app.register(authPlugin, { authenticators: o.authenticators, onFailure: o.onAuthFailure, onSuccess: o.onAuthSuccess, publicPrefixes: ['/docs'] });

  const maxRows = o.maxRows ?? 512;
  await app.register(healthRoutes, { runtime: o.runtime, version: o.version });
  await app.register(async (v1) => {
    v1.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMITS.batch }, v1.getDefaultJsonParser('error', 'error'));
    await v1.register(predictRoutes, { runtime: o.runtime, bodyLimits: { single: BODY_LIMITS.default, batch: BODY_LIMITS.batch } });
    await v1.register(matchRoutes, { store: o.store });
    await v1.register(predictionRoutes, { store: o.store });
    await v1.register(modelRoutes, { runtime: o.runtime });
    await v1.register(liveRoutes, { store: o.store, runtime: o.runtime, logger: o.logger, live: o.live ?? { redis: null, prefix: 'oracx:' } });
  });
  await app.register(async (v2) => {
    v2.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMITS.infer }, v2.getDefaultJsonParser('error', 'error'));
    await v2.register(inferenceRoutes, { runtime: o.runtime, version: o.version, maxRows });
  });
  if (o.routes) await o.routes(app, { runtime: o.runtime });
  return app;
}

type ObjectSchema = { properties?: Record<string, { type?: unknown }> };

/** Query and path values are text: numeric ones of integer or number properties become numbers (and nothing else). */
function numbersFromText(schema: ObjectSchema, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...values };
  for (const [name, value] of Object.entries(values)) {
    const type = schema.properties?.[name]?.type;
    if (typeof value === 'string' && (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) out[name] = Number(value);
  }
  return out;
}

/** OpenAPI 3.1 from the route schemas, at /openapi.json, with Swagger UI at /docs (assets from the npm package). */
async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  const { default: swagger } = await import('@fastify/swagger');
  const { default: swaggerUi } = await import('@fastify/swagger-ui');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'oracx prediction service',
        version,
        description:
          'Forecasts for coming football matches from a registered model. Errors are RFC 9457 problem documents. Authenticate with `Authorization: Bearer <API key or JWT>`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an oracx API key (oxk_…) or a JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const access = (route.config as { access?: string } | undefined)?.access ?? 'admin';
      const s = { ...(schema as Record<string, unknown>) };
      if (access !== 'public') s.security = [{ bearer: [] }, { apiKey: [] }];
      else s.security = [];
      if (access !== 'public') s.description = `${(s.description as string | undefined) ?? ''}${s.description ? '\n\n' : ''}Requires role: ${access}.`;
      return { schema: s, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { docExpansion: 'list', validatorUrl: null } });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
