/**
 * Security headers, CORS and the security audit, for every route. Registered before the docs and the routes:
 *   - helmet: a CSP for a JSON API (nothing may load, nothing may frame it) on every response, and one that lets
 *     Swagger UI work on /docs; HSTS only when the server speaks TLS (over plain HTTP the header is ignored by
 *     browsers, and it would pin a name that has no HTTPS yet); no-store caching of authenticated answers;
 *   - CORS (@fastify/cors) only for the origins listed: other origins get no CORS headers at all, and the preflight
 *     route is public (browsers never send credentials on a preflight);
 *   - the audit: refused requests, admin calls and API-key use are handed to a SecurityAuditSink once the response
 *     is sent, so the request never waits for the store.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger.js';
import type { Store } from '../../store/connect.js';
import { checkOrigins } from './origins.js';
import { DEFAULT_AUDIT_SINK, SecurityAuditSink, type AuditSinkOptions } from './audit-sink.js';

export interface SecurityOptions {
  /** Browser origins (scheme://host[:port]) allowed to call the API; none: no CORS headers at all. */
  cors?: readonly string[];
  /** Record refused requests, admin calls and key use in security_audit (default true). */
  audit?: boolean | Partial<Omit<AuditSinkOptions, 'logger'>>;
}

export interface SecurityPluginOptions extends SecurityOptions {
  store: Store;
  logger: Logger;
  /** The server speaks TLS: send HSTS and let the docs page upgrade requests. */
  tls: boolean;
  /** Where Swagger UI is served. */
  docsPrefix?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The security audit of this app, when enabled (flush() it in tests). */
    securityAudit: SecurityAuditSink | null;
  }
}

/** The headers helmet sets with these options (it sets the same ones on every response). */
export async function helmetHeaders(options: HelmetOptions): Promise<Record<string, string>> {
  const { default: helmet } = await import('helmet');
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failure: unknown = null;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failure = error ?? null;
  });
  if (failure) throw failure;
  return headers;
}

/** The API's CSP: a JSON API loads nothing and is framed by nobody (OWASP REST Security Cheat Sheet). */
export const API_CSP = {
  defaultSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
} as const;

/**
 * Swagger UI's page: its scripts, styles and images are all same-origin files (no inline script, no eval), fetched
 * from the page, plus data: images (the online validator badge is off: the docs make no request elsewhere). Browsers upgrade
 * http requests to https only when the server has TLS (it would break the page over plain HTTP).
 */
export function docsCsp(tls: boolean): string {
  return [
    "default-src 'self'",
    "base-uri 'self'",
    "connect-src 'self'",
    "font-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "script-src 'self'",
    "script-src-attr 'none'",
    "style-src 'self'",
    ...(tls ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

const appendHook = (existing: RouteOptions['onSend'], hook: onSendHookHandler): onSendHookHandler[] =>
  [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), hook] as onSendHookHandler[];

export const securityPlugin = fp<SecurityPluginOptions>(
  async (app: FastifyInstance, o) => {
    const docsPrefix = o.docsPrefix ?? '/docs';
    const docsPolicy = docsCsp(o.tls);
    // Route-level onSend hooks run after @fastify/swagger-ui's own (which sets its static CSP), so this one wins.
    const setDocsCsp: onSendHookHandler = async (_request, reply, payload) => {
      reply.header('content-security-policy', docsPolicy);
      return payload;
    };
    app.addHook('onRoute', (route) => {
      if (route.url === docsPrefix || route.url.startsWith(`${docsPrefix}/`)) route.onSend = appendHook(route.onSend, setDocsCsp);
      // @fastify/cors's catch-all preflight route: public, since browsers send no credentials on a preflight. Its
      // handler answers 404 to origins that are not allowed.
      if (route.method === 'OPTIONS' && route.url === '*') route.config = { ...route.config, access: 'public' };
    });

    // helmet's headers depend only on these options: computed once, not by its middleware on every request.
    const headers = await helmetHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: { ...API_CSP } },
      hsts: o.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    });
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
    app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload, done) => {
      // Answers to authenticated callers may be theirs alone: no shared cache keeps them.
      if (request.principal && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      done(null, payload);
    });

    const origins = checkOrigins(o.cors ?? []);
    if (origins.length > 0) {
      const allowed = new Set(origins);
      const { default: cors } = await import('@fastify/cors');
      await app.register(cors, {
        origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
        methods: ['GET', 'HEAD', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id'],
        exposedHeaders: [
          'X-Request-Id',
          'WWW-Authenticate',
          'Retry-After',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'X-RateLimit-Limit',
          'X-RateLimit-Remaining',
          'X-RateLimit-Reset',
        ],
        credentials: false,
        maxAge: 600,
        // Not strict: an OPTIONS without Access-Control-Request-Method gets the preflight answer, not a bare-text 400.
        strictPreflight: false,
      });
    }

    const sink =
      o.audit === false ? null : new SecurityAuditSink(o.store, { ...DEFAULT_AUDIT_SINK, ...(typeof o.audit === 'object' ? o.audit : {}), logger: o.logger });
    app.decorate('securityAudit', sink);
    if (sink) {
      app.addHook('onResponse', (request, reply, done) => {
        done();
        const state = request.auth;
        if (!state) return;
        const principal = request.principal;
        if (principal?.kind === 'api-key') sink.keyUsed(Number(principal.id.slice('key:'.length)));
        // The route pattern; for a URL no route matches, the path, bounded (it is whatever the client sent).
        const route = request.routeOptions.url ?? request.url.split('?')[0]!.slice(0, 200);
        if (state.failure) {
          const f = state.failure;
          sink.failure({
            status: f.status,
            reason: f.reason,
            detail: f.detail,
            ip: request.ip,
            requestId: request.id,
            method: request.method,
            route,
            principalId: f.principal?.id ?? null,
            presented: f.presented,
          });
        } else if (principal && state.access === 'admin') {
          sink.adminCall({ principalId: principal.id, method: request.method, route, status: reply.statusCode, ip: request.ip, requestId: request.id });
        }
      });
      app.addHook('onClose', async () => sink.close());
    }
  },
  { name: 'oracx-security' },
);
