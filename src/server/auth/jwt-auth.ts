/**
 * The JWT bearer-token authenticator (an OAuth2 resource server). A token is verified by one of:
 *   - oracx's own HS256 signing key (tokens from `oracx auth tokens issue`, iss "oracx"), read from the store with
 *     the master key and reloaded when a token names a key id it does not hold (the key was rotated);
 *   - a shared HS256 secret (ORACX_JWT_SECRET or --jwt-secret-file), with --jwt-issuer checked when given;
 *   - an OIDC provider's JWKS (--jwks-url, RS256 or ES256, cached by jose), with --jwt-issuer required.
 * The audience (--jwt-audience, default "oracx"), exp (required), nbf and sub (required) are checked for every token.
 * The role comes from a claim: see roleOf. Nothing here logs a token.
 */
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import type { SigningKey } from '../../auth/tokens.js';
import { ORACX_ISSUER, ROLE_CLAIM } from '../../auth/tokens.js';
import type { Logger } from '../../logger.js';
import { ROLES, type Principal, type Role } from '../types.js';
import type { AuthOutcome, Authenticator, Presented } from './plugin.js';

/** Algorithms verified against the JWKS. */
export const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;
/** Leeway for exp/nbf against clock skew between the issuer and this server. */
export const CLOCK_TOLERANCE_SECONDS = 30;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Where oracx's own signing key comes from (the store, with the master key). */
export interface OwnKeySource {
  /** The current key, reloaded when `kid` is not the one held; null when none was made yet. */
  forKid(kid: string | undefined): Promise<SigningKey | null>;
}

export interface JwtAuthOptions {
  own?: OwnKeySource | null;
  /** Shared HS256 secret of an external issuer. */
  secret?: Uint8Array | null;
  /** OIDC provider's JWKS. */
  jwksUrl?: URL | null;
  /** Expected iss of external tokens (required with a JWKS). */
  issuer?: string | null;
  /** Accepted aud values (a token must carry one of them). */
  audience: readonly string[];
  /** Claim holding the role of external tokens; a dotted path reaches into objects (realm_access.roles). */
  roleClaim: string;
  logger: Logger;
  /** For tests: jose's createRemoteJWKSet options. */
  jwksOptions?: { cacheMaxAge?: number; cooldownDuration?: number; timeoutDuration?: number };
}

type Failure = Extract<AuthOutcome, { ok: false }>;

/** Printable, bounded text from an untrusted claim (for details and the audit; never for decisions). */
function clean(value: unknown): string | undefined {
  return typeof value === 'string' ? value.replace(/[^\x20-\x7e]/g, '?').slice(0, 120) : undefined;
}

const RANK = (value: string): number => ROLES.indexOf(value.replace(/^oracx[:.]/, '') as Role);

/** The strongest oracx role among values: a string (one role, or space-separated like scope) or a list of strings. */
function strongest(value: unknown): Role | null {
  const items = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  let best = -1;
  for (const item of items) best = Math.max(best, RANK(item));
  return best < 0 ? null : ROLES[best]!;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * The role a token grants: the claim named by --jwt-role-claim (default oracx_role) when present, else `roles`, else
 * `scope` / `scp`. Each may be one value, a list, or a space-separated string; values are viewer, predictor or admin,
 * optionally prefixed "oracx:" or "oracx."; other values are ignored and the strongest recognised one wins. Null
 * when none is recognised (the token authenticates nobody with a role: 403).
 */
export function roleOf(payload: JWTPayload, roleClaim: string): Role | null {
  const named = claimAt(payload, roleClaim);
  if (named !== undefined) return strongest(named);
  for (const fallback of ['roles', 'scope', 'scp']) {
    const value = payload[fallback];
    if (value !== undefined) return strongest(value);
  }
  return null;
}

export class JwtAuthenticator implements Authenticator {
  readonly name = 'jwt';
  private jwks: JWTVerifyGetKey | null = null;
  private readonly accepted: string[];
  private warnedAt = 0;

  constructor(private readonly o: JwtAuthOptions) {
    this.accepted = [...(o.own || o.secret ? ['HS256'] : []), ...(o.jwksUrl ? JWKS_ALGORITHMS : [])];
  }

  /** What this authenticator accepts, for the start-up log line (no secrets). */
  describe(): string {
    const sources = [
      ...(this.o.own ? ['oracx-issued (HS256)'] : []),
      ...(this.o.secret ? [`shared secret (HS256${this.o.issuer ? `, issuer ${this.o.issuer}` : ''})`] : []),
      ...(this.o.jwksUrl ? [`JWKS ${this.o.jwksUrl.href} (${JWKS_ALGORITHMS.join(', ')}, issuer ${this.o.issuer})`] : []),
    ];
    return `${sources.join('; ')}; audience ${this.o.audience.join(' or ')}; role claim ${this.o.roleClaim}`;
  }

  async authenticate(token: string): Promise<AuthOutcome | null> {
    if (!JWT_SHAPE.test(token)) return null;
    const jose = await import('jose');
    let header: ReturnType<typeof jose.decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = jose.decodeProtectedHeader(token);
      unverified = jose.decodeJwt(token);
    } catch {
      return { ok: false, reason: 'token_malformed', detail: 'the bearer token is not a well-formed JWT', presented: { kind: 'jwt' } };
    }
    const presented: Presented = { kind: 'jwt', sub: clean(unverified.sub), iss: clean(unverified.iss), kid: clean(header.kid), alg: clean(header.alg) };
    const fail = (reason: string, detail: string, status: 401 | 403 | 503 = 401): Failure => ({ ok: false, reason, detail, status, presented });
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') return fail('token_alg_refused', 'unsigned tokens (alg "none") are refused');
    if (!this.accepted.includes(alg)) {
      return fail(
        'token_alg_refused',
        `tokens signed with ${clean(alg)} are refused: this server accepts ${this.accepted.length ? this.accepted.join(', ') : 'no JWT'}`,
      );
    }

    let key: Uint8Array | JWTVerifyGetKey;
    let issuer: string | undefined;
    let own = false;
    if (alg === 'HS256') {
      // oracx's key for tokens that say oracx issued them (or when it is the only HS256 key); the shared secret otherwise.
      own = this.o.own !== undefined && this.o.own !== null && (unverified.iss === ORACX_ISSUER || !this.o.secret);
      if (own) {
        let signing: SigningKey | null;
        try {
          signing = await this.o.own!.forKid(typeof header.kid === 'string' ? header.kid : undefined);
        } catch (error) {
          this.warnSometimes(`cannot load oracx's token signing key: ${(error as Error).message}`);
          return fail('signing_key_unavailable', 'the token signing key cannot be read right now; try again later', 503);
        }
        if (!signing) return fail('token_unknown_key', 'no oracx token signing key exists yet (oracx auth tokens issue creates it)');
        if (header.kid !== undefined && header.kid !== signing.kid)
          return fail('token_unknown_key', `the token was signed with oracx key ${clean(header.kid)}, which has been rotated out`);
        key = signing.key;
        issuer = ORACX_ISSUER;
      } else {
        key = this.o.secret!;
        issuer = this.o.issuer ?? undefined;
      }
    } else {
      this.jwks ??= jose.createRemoteJWKSet(this.o.jwksUrl!, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000, ...this.o.jwksOptions });
      key = this.jwks;
      issuer = this.o.issuer ?? undefined;
    }

    const options: JWTVerifyOptions = {
      algorithms: [alg],
      audience: [...this.o.audience],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'sub'],
      ...(issuer !== undefined ? { issuer } : {}),
    };
    let payload: JWTPayload;
    try {
      payload = (typeof key === 'function' ? await jose.jwtVerify(token, key, options) : await jose.jwtVerify(token, key, options)).payload;
    } catch (error) {
      return this.refusal(error, unverified, presented, issuer, typeof key === 'function', fail);
    }

    const role = own ? strongest(payload[ROLE_CLAIM]) : roleOf(payload, this.o.roleClaim);
    const sub = payload.sub!;
    if (!role) {
      return fail(
        'token_no_role',
        `the token for ${clean(sub)} carries no oracx role: put viewer, predictor or admin in the ${own ? `${ROLE_CLAIM} claim` : `${this.o.roleClaim} claim (or roles / scope)`}`,
        403,
      );
    }
    const principal: Principal = { id: `jwt:${payload.iss ?? ''}|${sub}`, name: sub, role, kind: 'jwt' };
    return { ok: true, principal };
  }

  /** A warning at most every 30 s: while a dependency is down, every request would otherwise log one. */
  private warnSometimes(message: string): void {
    if (Date.now() - this.warnedAt < 30_000) return;
    this.warnedAt = Date.now();
    this.o.logger.warn(message);
  }

  /** Maps what jose threw to a reason and a detail that says what to fix. */
  private refusal(
    error: unknown,
    unverified: JWTPayload,
    presented: Presented,
    issuer: string | undefined,
    remote: boolean,
    fail: (reason: string, detail: string, status?: 401 | 403 | 503) => Failure,
  ): Failure {
    const code = (error as { code?: string }).code;
    const claim = (error as { claim?: string }).claim;
    const at = (seconds: unknown) => (typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'an unreadable time');
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return fail('token_expired', `the token expired at ${at(unverified.exp)}`);
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        if (claim === 'nbf') return fail('token_not_yet_valid', `the token is not valid before ${at(unverified.nbf)}`);
        if (claim === 'iss')
          return fail('token_wrong_issuer', `the token's issuer ${JSON.stringify(clean(unverified.iss) ?? null)} is not ${JSON.stringify(issuer)}`);
        if (claim === 'aud')
          return fail(
            'token_wrong_audience',
            `the token's audience ${JSON.stringify(clean(typeof unverified.aud === 'string' ? unverified.aud : Array.isArray(unverified.aud) ? unverified.aud.join(' ') : undefined) ?? null)} is not ${this.o.audience.map((a) => JSON.stringify(a)).join(' or ')}`,
          );
        if (claim === 'exp' || claim === 'sub') return fail('token_missing_claim', `the token has no ${claim} claim; tokens must expire and name a subject`);
        return fail('token_invalid_claim', `the token's ${clean(claim) ?? 'claims'} failed validation`);
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return fail('token_bad_signature', 'the token signature does not verify');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return fail('token_alg_refused', `the token's algorithm is refused: this server accepts ${this.accepted.join(', ')}`);
      case 'ERR_JWKS_NO_MATCHING_KEY':
        return fail('token_unknown_key', `no key of the JWKS matches the token (kid ${JSON.stringify(presented.kid ?? null)})`);
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        return fail('token_malformed', 'the bearer token is not a well-formed JWT');
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return fail('token_unknown_key', 'several keys of the JWKS match the token; it needs a kid');
      default:
        if (!remote) throw error;
        // The JWKS could not be fetched or read (timeout, network, not 200, not JSON): not the caller's fault.
        this.warnSometimes(`cannot verify JWTs against ${this.o.jwksUrl?.href ?? 'the configured key'}: ${(error as Error).message}`);
        return fail('jwks_unavailable', "the identity provider's keys cannot be fetched right now; try again later", 503);
    }
  }
}
