/**
 * The JWT settings of `oracx serve`, checked once at start-up: secrets come from the environment or a file, never
 * from a flag; a JWKS URL must be https (http only on a loopback address) and needs --jwt-issuer; a malformed master
 * key, an unreadable secret file or a signing key that does not decrypt stop the start with a clear error.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { keyringFromEnv, type Keyring } from '../../auth/secrets.js';
import { DEFAULT_AUDIENCE, loadSigningKey, ROLE_CLAIM, type SigningKey } from '../../auth/tokens.js';
import { UsageError, UserError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Store } from '../../store/connect.js';
import { JwtAuthenticator, type JwtAuthOptions, type OwnKeySource } from './jwt-auth.js';

/** The shared secret's environment variable. */
export const JWT_SECRET_ENV = 'ORACX_JWT_SECRET';
/** Shortest shared secret accepted: HS256 needs a key at least as long as its hash (RFC 7518 §3.2). */
const MIN_SECRET_BYTES = 32;
/** How often, at most, a token naming an unknown oracx key id makes the server read the key again. */
const OWN_KEY_RELOAD_MS = 5_000;

/** The JWT flags of `oracx serve`. */
export interface JwtFlags {
  jwtSecretFile?: string;
  jwksUrl?: string;
  jwtIssuer?: string;
  jwtAudience?: readonly string[];
  jwtRoleClaim?: string;
}

export interface JwtSetup {
  env: NodeJS.ProcessEnv;
  cwd: string;
  store: Store;
  logger: Logger;
  /** Tests shorten the JWKS cache and the signing key's reload intervals. */
  timing?: { jwks?: JwtAuthOptions['jwksOptions']; ownKey?: { reloadMs: number; refreshMs: number } };
}

/** How often the key is read again anyway, so a rotation takes effect even if no token names the new key. */
const OWN_KEY_REFRESH_MS = 30_000;

/**
 * oracx's signing key, read from the store: again (at most every `reloadMs`) when a token names another key id, and
 * at least every `refreshMs` when used, so tokens of a rotated key stop being accepted within that time.
 */
export class StoredSigningKey implements OwnKeySource {
  private current: SigningKey | null = null;
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly keyring: Keyring,
    private readonly timing: { reloadMs: number; refreshMs: number } = { reloadMs: OWN_KEY_RELOAD_MS, refreshMs: OWN_KEY_REFRESH_MS },
  ) {}

  /** Reads the key now (start-up: a key that does not decrypt is an error before the server listens). */
  async load(): Promise<SigningKey | null> {
    this.loading ??= (async () => {
      try {
        this.current = await loadSigningKey(this.store, this.keyring);
        this.loadedAt = Date.now();
      } finally {
        this.loading = null;
      }
    })();
    await this.loading;
    return this.current;
  }

  async forKid(kid: string | undefined): Promise<SigningKey | null> {
    const age = Date.now() - this.loadedAt;
    const stale = this.current === null || (kid !== undefined && kid !== this.current.kid);
    if ((stale && age >= this.timing.reloadMs) || age >= this.timing.refreshMs) await this.load();
    return this.current;
  }
}

async function readSecretFile(file: string, logger: Logger): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    const mode = (await stat(file)).mode;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0)
      logger.warn(`--jwt-secret-file ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  } catch (error) {
    throw new UserError(`cannot read --jwt-secret-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return new TextEncoder().encode(text.replace(/\r?\n$/, ''));
}

function jwksUrlOf(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--jwks-url "${text}" is not a URL`, { hint: "e.g. https://login.example.com/.well-known/jwks.json (the provider's jwks_uri)" });
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UsageError(`--jwks-url must be https (plain http only on a loopback address), got ${url.protocol}//${url.host}`);
  }
  return url;
}

/** The JWT authenticator the flags and environment ask for, or null when JWTs are not accepted at all. */
export async function jwtAuthenticatorFrom(flags: JwtFlags, setup: JwtSetup): Promise<JwtAuthenticator | null> {
  const envSecret = setup.env[JWT_SECRET_ENV];
  if (envSecret !== undefined && envSecret !== '' && flags.jwtSecretFile !== undefined) {
    throw new UsageError(`both ${JWT_SECRET_ENV} and --jwt-secret-file give a shared secret`, { hint: 'keep one of them' });
  }
  let secret: Uint8Array | null = null;
  if (flags.jwtSecretFile !== undefined) secret = await readSecretFile(path.resolve(setup.cwd, flags.jwtSecretFile), setup.logger);
  else if (envSecret !== undefined && envSecret !== '') secret = new TextEncoder().encode(envSecret);
  if (secret && secret.length < MIN_SECRET_BYTES) {
    throw new UserError(`the shared JWT secret has ${secret.length} bytes; HS256 needs at least ${MIN_SECRET_BYTES}`, {
      hint: 'generate one with: openssl rand -base64 48',
    });
  }
  const jwksUrl = flags.jwksUrl !== undefined ? jwksUrlOf(flags.jwksUrl) : null;
  if (jwksUrl && !flags.jwtIssuer)
    throw new UsageError('--jwks-url needs --jwt-issuer', { hint: "the provider's issuer URL, exactly as it appears in its tokens' iss claim" });
  if (flags.jwtIssuer !== undefined && !jwksUrl && !secret) {
    throw new UsageError('--jwt-issuer needs --jwks-url or a shared secret', { hint: `set ${JWT_SECRET_ENV} or pass --jwt-secret-file` });
  }
  // A malformed ORACX_MASTER_KEY is an error even if no token was ever issued: better now than on the first request.
  const keyring = keyringFromEnv(setup.env);
  let own: StoredSigningKey | null = null;
  if (keyring) {
    own = new StoredSigningKey(setup.store, keyring, setup.timing?.ownKey);
    await own.load();
  }
  if (!own && !secret && !jwksUrl) {
    if (flags.jwtAudience !== undefined || flags.jwtRoleClaim !== undefined) {
      throw new UsageError('--jwt-audience and --jwt-role-claim need a way to verify tokens', {
        hint: `--jwks-url, --jwt-secret-file, ${JWT_SECRET_ENV}, or ORACX_MASTER_KEY for tokens oracx issues`,
      });
    }
    return null;
  }
  const audience = flags.jwtAudience && flags.jwtAudience.length > 0 ? flags.jwtAudience : [DEFAULT_AUDIENCE];
  const roleClaim = flags.jwtRoleClaim ?? ROLE_CLAIM;
  if (!/^[A-Za-z_][\w:-]*(\.[A-Za-z_][\w:-]*)*$/.test(roleClaim))
    throw new UsageError(`--jwt-role-claim "${roleClaim}" is not a claim name or dotted path`, { hint: 'e.g. oracx_role, roles or realm_access.roles' });
  return new JwtAuthenticator({
    own,
    secret,
    jwksUrl,
    issuer: flags.jwtIssuer ?? null,
    audience,
    roleClaim,
    logger: setup.logger,
    jwksOptions: setup.timing?.jwks,
  });
}
