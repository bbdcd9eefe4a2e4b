/**
 * Authentication and role checks for every route: credentials come as `Authorization: Bearer <token>` (an oracx API
 * key or a JWT) or `X-API-Key: <key>`. Each route declares `config.access` (public, viewer, predictor or admin); a
 * route that declares nothing is admin-only. Failures answer 401 (with WWW-Authenticate), 403 or, when a key server
 * cannot be reached, 503, as problem documents; they are reported to onFailure and left on the request (request.auth)
 * for the security audit, which records them after the response is sent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { problem, sendProblem } from '../problem.js';
import { allows, type Access, type Principal } from '../types.js';

/** What was presented, as far as it can be told without trusting it: never a secret. */
export interface Presented {
  kind: 'api-key' | 'jwt' | 'unknown';
  /** The public 8-character prefix of an API key. */
  prefix?: string;
  /** The key's id, when the presented key exists (revoked or expired). */
  keyId?: number;
  /** Unverified claims and header of a JWT, printable and truncated. */
  sub?: string;
  iss?: string;
  kid?: string;
  alg?: string;
}

/** What an authenticator concluded about presented credentials. */
export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: string; detail: string; status?: 401 | 403 | 503; presented?: Presented };

/** Turns a bearer token into a principal; returns null when the token is not its kind (another one may take it). */
export interface Authenticator {
  readonly name: string;
  authenticate(token: string, request: FastifyRequest): Promise<AuthOutcome | null>;
  /** What authenticate would answer, when it is known without waiting (a cached key); undefined otherwise. */
  peek?(token: string): AuthOutcome | undefined;
}

export interface AuthFailure {
  request: FastifyRequest;
  status: 401 | 403 | 503;
  reason: string;
  detail: string;
  principal: Principal | null;
  presented: Presented | null;
}

/** What the auth hook decided for a request (null when it did not run, e.g. a CORS preflight answered earlier). */
export interface AuthState {
  access: Access;
  failure: AuthFailure | null;
}

export interface AuthPluginOptions {
  authenticators: readonly Authenticator[];
  onFailure?: (failure: AuthFailure) => void;
  /** Told of every authenticated request (e.g. to record when keys were last used). */
  onSuccess?: (principal: Principal, request: FastifyRequest) => void;
  /** Path prefixes of routes registered by plugins that cannot declare access (Swagger UI's assets): public. */
  publicPrefixes?: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The auth hook's decision, read by the security audit once the response is sent. */
    auth: AuthState | null;
  }
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

/** A quoted-string of an auth-param: printable ASCII, no quotes or backslashes. */
const quoted = (text: string) =>
  text
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/["\\]/g, "'")
    .slice(0, 300);

/** RFC 6750 §3: invalid_token on 401 (none when nothing was presented), insufficient_scope on 403. */
function challenge(status: number, reason: string, detail: string): Record<string, string> {
  if (status === 401)
    return { 'www-authenticate': `Bearer realm="oracx"${reason === 'missing' ? '' : `, error="invalid_token", error_description="${quoted(detail)}"`}` };
  if (status === 403) return { 'www-authenticate': `Bearer realm="oracx", error="insufficient_scope", error_description="${quoted(detail)}"` };
  return { 'retry-after': '30' };
}

const CODES = { 401: 'unauthenticated', 403: 'forbidden', 503: 'auth_unavailable' } as const;

export const authPlugin = fp<AuthPluginOptions>(
  async (app: FastifyInstance, o) => {
    app.decorateRequest('principal', null);
    app.decorateRequest('auth', null);
    const accessOf = (request: FastifyRequest): Access => {
      const url = request.routeOptions.url ?? '';
      return request.routeOptions.config?.access ?? (o.publicPrefixes?.some((p) => url.startsWith(p)) ? 'public' : 'admin');
    };

    /** The full check; sends the refusal itself (then the request goes no further). */
    const check = async (request: FastifyRequest, reply: FastifyReply, state: AuthState, token: string | null): Promise<void> => {
      const access = state.access;
      const fail = (status: 401 | 403 | 503, reason: string, detail: string, principal: Principal | null = null, presented: Presented | null = null) => {
        const failure: AuthFailure = { request, status, reason, detail, principal, presented };
        state.failure = failure;
        o.onFailure?.(failure);
        void sendProblem(reply, problem(request, status, CODES[status], detail, { reason }), challenge(status, reason, detail));
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
      if (!outcome) return fail(401, 'unrecognised', 'the credentials are neither an oracx API key nor a token this server accepts', null, { kind: 'unknown' });
      if (!outcome.ok) return fail(outcome.status ?? 401, outcome.reason, outcome.detail, null, outcome.presented ?? null);
      request.principal = outcome.principal;
      o.onSuccess?.(outcome.principal, request);
      if (!allows(outcome.principal.role, access)) {
        return fail(
          403,
          'role',
          `${outcome.principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}: it needs ${access}`,
          outcome.principal,
        );
      }
    };

    // Callback-style with a synchronous fast path: a key seen within the cache's lifetime costs no promise.
    app.addHook('onRequest', (request, reply, done) => {
      const state: AuthState = { access: accessOf(request), failure: null };
      request.auth = state;
      const token = credentialsOf(request);
      if (token) {
        for (const a of o.authenticators) {
          const known = a.peek?.(token);
          if (known === undefined) continue;
          if (known.ok && allows(known.principal.role, state.access)) {
            request.principal = known.principal;
            o.onSuccess?.(known.principal, request);
            return done();
          }
          break;
        }
      } else if (token === null && state.access === 'public') {
        return done();
      }
      check(request, reply, state, token).then(
        () => {
          if (!reply.sent) done();
        },
        (error: unknown) => done(error as Error),
      );
    });
  },
  { name: 'oracx-auth' },
);
