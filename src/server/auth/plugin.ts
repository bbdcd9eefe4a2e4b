/**
 * Authentication and role checks for every route: credentials come as `Authorization: Bearer <token>` (an oracx API
 * key or a JWT) or `X-API-Key: <key>`. Each route declares `config.access` (public, viewer, predictor or admin); a
 * route that declares nothing is admin-only. Failures answer 401 (with WWW-Authenticate) or 403 as problem
 * documents and are reported to onFailure (the security audit).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { problem, sendProblem } from '../problem.js';
import { allows, type Access, type Principal } from '../types.js';

/** What an authenticator concluded about presented credentials. */
export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: string; detail: string };

/** Turns a bearer token into a principal; returns null when the token is not its kind (another one may take it). */
export interface Authenticator {
  readonly name: string;
  authenticate(token: string, request: FastifyRequest): Promise<AuthOutcome | null>;
}

export interface AuthFailure {
  request: FastifyRequest;
  status: 401 | 403;
  reason: string;
  detail: string;
  principal: Principal | null;
}

export interface AuthPluginOptions {
  authenticators: readonly Authenticator[];
  onFailure?: (failure: AuthFailure) => void;
  /** Told of every authenticated request (e.g. to record when keys were last used). */
  onSuccess?: (principal: Principal, request: FastifyRequest) => void;
  /** Path prefixes of routes registered by plugins that cannot declare access (Swagger UI's assets): public. */
  publicPrefixes?: readonly string[];
}

/** The bearer token or API key of a request, or null; a malformed Authorization header is an empty string. */
export function credentialsOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1]! : '';
  }
  const key = request.headers['x-api-key'];
  if (typeof key === 'string' && key !== '') return key.trim();
  return null;
}

export const authPlugin = fp<AuthPluginOptions>(async (app: FastifyInstance, o) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url ?? '';
    const access: Access = request.routeOptions.config?.access ?? (o.publicPrefixes?.some((p) => url.startsWith(p)) ? 'public' : 'admin');
    const token = credentialsOf(request);
    const fail = (status: 401 | 403, reason: string, detail: string, principal: Principal | null = null) => {
      o.onFailure?.({ request, status, reason, detail, principal });
      const headers: Record<string, string> = status === 401 ? { 'www-authenticate': `Bearer realm="oracx"${reason === 'missing' ? '' : `, error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`}` } : {};
      return sendProblem(reply, problem(request, status, status === 401 ? `unauthenticated` : 'forbidden', detail, { reason }), headers);
    };
    if (token === null) {
      if (access === 'public') return;
      return fail(401, 'missing', 'credentials required: send Authorization: Bearer <API key or token>');
    }
    if (token === '') return fail(401, 'malformed', 'the Authorization header must be "Bearer <token>"');
    let outcome: AuthOutcome | null = null;
    for (const a of o.authenticators) {
      outcome = await a.authenticate(token, request);
      if (outcome) break;
    }
    if (!outcome) return fail(401, 'unrecognised', 'the credentials are neither an oracx API key nor a token this server accepts');
    if (!outcome.ok) return fail(401, outcome.reason, outcome.detail);
    request.principal = outcome.principal;
    o.onSuccess?.(outcome.principal, request);
    if (!allows(outcome.principal.role, access)) {
      return fail(403, 'role', `${outcome.principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}: it needs ${access}`, outcome.principal);
    }
  });
}, { name: 'oracx-auth' });
