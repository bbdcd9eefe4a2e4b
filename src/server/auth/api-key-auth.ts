/** The API-key authenticator: keys are looked up by hash, with a short in-process cache so a request costs no query. */
import { looksLikeKey, verifyApiKey, type ApiKeyInfo } from '../../auth/api-keys.js';
import type { Store } from '../../store/connect.js';
import { LruCache } from '../runtime/cache.js';
import type { Principal } from '../types.js';
import type { AuthOutcome, Authenticator } from './plugin.js';

/** How long a verified (or refused) key is remembered: a revocation takes effect within this time. */
export const KEY_CACHE_MS = 5_000;

export class ApiKeyAuthenticator implements Authenticator {
  readonly name = 'api-key';
  private readonly cache = new LruCache<AuthOutcome>(10_000);

  constructor(
    private readonly store: Store,
    private readonly cacheMs = KEY_CACHE_MS,
  ) {}

  peek(token: string): AuthOutcome | undefined {
    return token.startsWith('oxk_') ? this.cache.get(token) : undefined;
  }

  async authenticate(token: string): Promise<AuthOutcome | null> {
    if (!token.startsWith('oxk_')) return null;
    // Keyed by the key itself: it is in this process's memory for the request anyway, and a hash per request costs.
    const cached = this.cache.get(token);
    if (cached) return cached;
    if (!looksLikeKey(token))
      return { ok: false, reason: 'malformed', detail: 'not a well-formed oracx API key', presented: { kind: 'api-key', ...prefixOf(token) } };
    const result = await verifyApiKey(this.store, token);
    const outcome: AuthOutcome = result.ok
      ? { ok: true, principal: principalOf(result.info) }
      : {
          ok: false,
          reason: `key_${result.why}`,
          detail: `API key ${result.info ? `${result.info.prefix} ` : ''}is ${result.why}`,
          presented: { kind: 'api-key', ...prefixOf(token), ...(result.info ? { keyId: result.info.id } : {}) },
        };
    this.cache.set(token, outcome, this.cacheMs);
    return outcome;
  }
}

/** The public prefix of something shaped like a key (never the secret part). */
function prefixOf(token: string): { prefix?: string } {
  const m = /^oxk_([A-Za-z0-9]{8})_/.exec(token);
  return m ? { prefix: m[1]! } : {};
}

/** The principal of a valid key. */
export function principalOf(key: ApiKeyInfo): Principal {
  return { id: `key:${key.id}`, name: key.name, role: key.role, kind: 'api-key' };
}
