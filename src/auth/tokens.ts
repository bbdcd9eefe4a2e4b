/**
 * Tokens oracx issues itself: HS256 JWTs signed with a 256-bit key kept in the secrets table (sealed under the master
 * key). `oracx serve` accepts them when it can open that key. The header's kid names the signing key, so a server
 * notices a rotated key and reloads it, and tokens signed with a retired key are refused.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';
import { KEY_ROLES, type KeyRole } from './api-keys.js';
import { ensureSecret, readSecret, rewrapSecret, writeSecret, type Keyring } from './secrets.js';

/** The iss of every token oracx issues. */
export const ORACX_ISSUER = 'oracx';
/** The aud tokens get unless told otherwise, and the one `serve` expects unless --jwt-audience says otherwise. */
export const DEFAULT_AUDIENCE = 'oracx';
/** The claim carrying the role in oracx-issued tokens (and, by default, in others). */
export const ROLE_CLAIM = 'oracx_role';
/** Name of the signing key in the secrets table. */
export const SIGNING_KEY_SECRET = 'jwt-signing-key';
/** Longest lifetime `tokens issue` grants: tokens cannot be revoked one by one, so they stay short. */
export const MAX_TTL_SECONDS = 30 * 86_400;

/** The HS256 key and its id. */
export interface SigningKey {
  kid: string;
  key: Uint8Array;
}

/** The kid of a key: a fingerprint that names it without revealing it. */
export function signingKeyId(key: Uint8Array): string {
  return `oxs_${createHash('sha256').update('oracx signing key id\0').update(key).digest('hex').slice(0, 16)}`;
}

const asSigningKey = (value: Buffer): SigningKey => ({ kid: signingKeyId(value), key: new Uint8Array(value) });

/** The stored signing key, or null when none was made yet. */
export async function loadSigningKey(store: Store, keyring: Keyring): Promise<SigningKey | null> {
  const value = await readSecret(store, keyring, SIGNING_KEY_SECRET);
  return value ? asSigningKey(value) : null;
}

/** The signing key, made on first use; sealed again under the current master key if an older one sealed it. */
export async function ensureSigningKey(store: Store, keyring: Keyring): Promise<SigningKey & { created: boolean; rewrapped: boolean }> {
  const { value, created } = await ensureSecret(store, keyring, SIGNING_KEY_SECRET, () => randomBytes(32));
  const rewrapped = created ? false : await rewrapSecret(store, keyring, SIGNING_KEY_SECRET);
  return { ...asSigningKey(value), created, rewrapped };
}

/** Replaces the signing key: every token issued so far stops being accepted. Returns the new key's id. */
export async function rotateSigningKey(store: Store, keyring: Keyring): Promise<{ kid: string; previous: string | null }> {
  const before = await loadSigningKey(store, keyring).catch(() => null);
  const value = randomBytes(32);
  await writeSecret(store, keyring, SIGNING_KEY_SECRET, value);
  return { kid: signingKeyId(value), previous: before?.kid ?? null };
}

/** What `tokens issue` asks for. */
export interface IssueOptions {
  sub: string;
  role: KeyRole;
  ttlSeconds: number;
  audience: readonly string[];
  now?: Date;
}

/** The claims of an issued token (as printed with --json; never the token's signature). */
export interface IssuedClaims {
  iss: string;
  sub: string;
  aud: string[];
  oracx_role: KeyRole;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
}

/** Checks issue options, with messages that name the flag. */
export function checkIssueOptions(o: IssueOptions): void {
  if (!/^[\w.@:+-][\w .@:+-]{0,199}$/.test(o.sub)) throw new UserError(`invalid --sub "${o.sub}": 1–200 letters, digits, spaces and _ . @ : + -`);
  if (!(KEY_ROLES as readonly string[]).includes(o.role)) throw new UserError(`unknown role "${o.role}"`, { hint: `one of ${KEY_ROLES.join(', ')}` });
  if (!(Number.isInteger(o.ttlSeconds) && o.ttlSeconds >= 60 && o.ttlSeconds <= MAX_TTL_SECONDS)) {
    throw new UserError(`--ttl must be between 1m and 30d`, {
      hint: 'issued tokens cannot be revoked one by one; for long-lived access create an API key (oracx auth keys create)',
    });
  }
  if (o.audience.length === 0 || o.audience.some((a) => !/^[\x21-\x7e]{1,200}$/.test(a)))
    throw new UserError('--audience must name one or more audiences (printable, no spaces)');
}

/** Signs a token; the returned string is the only copy. */
export async function issueToken(signing: SigningKey, o: IssueOptions): Promise<{ token: string; claims: IssuedClaims; kid: string }> {
  checkIssueOptions(o);
  const { SignJWT } = await import('jose');
  const iat = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const claims: IssuedClaims = {
    iss: ORACX_ISSUER,
    sub: o.sub,
    aud: [...o.audience],
    oracx_role: o.role,
    iat,
    nbf: iat,
    exp: iat + o.ttlSeconds,
    jti: randomUUID(),
  };
  const token = await new SignJWT({ [ROLE_CLAIM]: o.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signing.kid })
    .setIssuer(claims.iss)
    .setSubject(claims.sub)
    .setAudience(claims.aud.length === 1 ? claims.aud[0]! : claims.aud)
    .setIssuedAt(claims.iat)
    .setNotBefore(claims.nbf)
    .setExpirationTime(claims.exp)
    .setJti(claims.jti)
    .sign(signing.key);
  return { token, claims, kid: signing.kid };
}
