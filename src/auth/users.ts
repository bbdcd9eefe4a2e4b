/**
 * GDPR helpers for users of the prediction service. A user is an `owner` (an e-mail or user id) of API keys, or the
 * subject (sub) of tokens. What oracx stores about them:
 *   - their API keys (never the hashes in an export);
 *   - predictions they asked for: rows whose principal is one of their keys (key:<id>) or a token with their
 *     subject (jwt:<issuer>|<owner>);
 *   - security audit events about them: with one of those principals as actor or target, or target user:<owner>.
 * Erasure deletes their keys, anonymises their predictions (principal "erased", request id removed: the forecast
 * itself is not personal data and stays for model monitoring), and pseudonymises their audit events: actor and target
 * become one random "erased:<id>" (so the trail still shows what that one caller did, without saying who), the client
 * address and request id are removed, and details keep only non-identifying fields. One "user.delete" event records
 * the erasure under the same pseudonym. All of it happens in one transaction.
 */
import { randomBytes } from 'node:crypto';
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';
import { listApiKeys, type ApiKeyInfo } from './api-keys.js';
import { storedEvent, type SecurityEvent, type StoredSecurityEvent } from './audit.js';
import { predictionsQuery, storedPrediction, type StoredPrediction } from '../predict/predictions.js';

/** Fields of an audit event's details that say nothing about who the user is; the rest are dropped on erasure. */
const KEPT_DETAILS = new Set(['status', 'reason', 'count', 'role', 'audience', 'expiresAt', 'graceSeconds', 'alreadyRevoked', 'to']);
/** What an anonymised prediction's principal becomes. */
export const ERASED_PRINCIPAL = 'erased';

/** Everything stored about a user (the `auth users export` document). */
export interface UserExport {
  owner: string;
  exportedAt: string;
  /** The principal ids their requests are recorded under. */
  principals: string[];
  keys: ApiKeyInfo[];
  predictions: StoredPrediction[];
  audit: StoredSecurityEvent[];
}

/** How much is stored about a user (what erasure would touch). */
export interface UserFootprint {
  owner: string;
  keys: number;
  predictions: number;
  auditEvents: number;
}

function checkOwner(owner: string): void {
  if (owner.trim() === '' || owner.length > 200) throw new UserError('the owner must be a non-empty e-mail or user id (at most 200 characters)');
}

/** A text column equal to one of the user's key principals, or a JWT principal whose subject is the owner. */
function mine(column: 'principal' | 'actor' | 'target', keyPrincipals: readonly string[], owner: string, extra: readonly string[] = []): RawBuilder<SqlBool> {
  const suffix = `|${owner}`;
  const col = sql.ref(column);
  const exact = [...keyPrincipals, ...extra];
  // The subject is the end of "jwt:<iss>|<sub>": compared exactly (LIKE would fold case in SQLite).
  const jwt = sql<SqlBool>`(${col} like 'jwt:%' and substr(${col}, length(${col}) - ${suffix.length - 1}) = ${suffix})`;
  return exact.length > 0 ? sql<SqlBool>`(${col} in (${sql.join(exact)}) or ${jwt})` : jwt;
}

async function keysOf(store: Store, owner: string): Promise<ApiKeyInfo[]> {
  return listApiKeys(store, { includeRevoked: true, owner });
}

/** Everything stored about `owner`, for a data subject access request. */
export async function exportUser(store: Store, owner: string): Promise<UserExport> {
  checkOwner(owner);
  const keys = await keysOf(store, owner);
  const keyPrincipals = keys.map((k) => `key:${k.id}`);
  const rows = await predictionsQuery(store)
    .where(mine('principal', keyPrincipals, owner))
    .orderBy('p.id')
    .execute();
  const events = await store.db
    .selectFrom('security_audit')
    .selectAll()
    .where(sql<SqlBool>`(${mine('actor', keyPrincipals, owner)} or ${mine('target', keyPrincipals, owner, [`user:${owner}`])})`)
    .orderBy('id')
    .execute();
  const principals = new Set<string>(keyPrincipals);
  for (const r of rows) if (r.principal) principals.add(r.principal);
  return {
    owner,
    exportedAt: new Date().toISOString(),
    principals: [...principals].sort(),
    keys,
    predictions: rows.map(storedPrediction),
    audit: events.map(storedEvent),
  };
}

/** How much erasing `owner` would touch. */
export async function userFootprint(store: Store, owner: string): Promise<UserFootprint> {
  const data = await exportUser(store, owner);
  return { owner, keys: data.keys.length, predictions: data.predictions.length, auditEvents: data.audit.length };
}

/** The result of an erasure. */
export interface UserErasure extends UserFootprint {
  /** The pseudonym the user's audit events now carry. */
  pseudonym: string;
}

/** Erases `owner` (see the module comment); throws when nothing is stored about them. */
export async function deleteUser(store: Store, owner: string, o: { actor: string; requestId: string | null }): Promise<UserErasure> {
  checkOwner(owner);
  const pseudonym = `erased:${randomBytes(6).toString('hex')}`;
  return store.db.transaction().execute(async (tx) => {
    const keys = await tx.selectFrom('api_keys').select('id').where('owner', '=', owner).execute();
    const keyPrincipals = keys.map((k) => `key:${Number(k.id)}`);
    const predictions = await tx
      .updateTable('predictions')
      .set({ principal: ERASED_PRINCIPAL, request_id: null })
      .where(mine('principal', keyPrincipals, owner))
      .executeTakeFirst();
    const events = await tx
      .selectFrom('security_audit')
      .select(['id', 'actor', 'target', 'details'])
      .where(sql<SqlBool>`(${mine('actor', keyPrincipals, owner)} or ${mine('target', keyPrincipals, owner, [`user:${owner}`])})`)
      .execute();
    const subjects = new Set([...keyPrincipals, `user:${owner}`]);
    const isTheirs = (value: string | null) => value !== null && (subjects.has(value) || (value.startsWith('jwt:') && value.endsWith(`|${owner}`)));
    for (const e of events) {
      const details = JSON.parse(e.details) as Record<string, unknown>;
      const kept = Object.fromEntries(Object.entries(details).filter(([k]) => KEPT_DETAILS.has(k)));
      await tx
        .updateTable('security_audit')
        .set({
          actor: isTheirs(e.actor) ? pseudonym : e.actor,
          target: isTheirs(e.target) ? pseudonym : e.target,
          ip: null,
          request_id: null,
          details: JSON.stringify({ ...kept, erased: true }),
        })
        .where('id', '=', e.id)
        .execute();
    }
    const deleted = keys.length > 0 ? await tx.deleteFrom('api_keys').where('owner', '=', owner).executeTakeFirst() : { numDeletedRows: 0n };
    const result: UserErasure = {
      owner,
      pseudonym,
      keys: Number(deleted.numDeletedRows),
      predictions: Number(predictions.numUpdatedRows),
      auditEvents: events.length,
    };
    if (result.keys + result.predictions + result.auditEvents === 0) {
      throw new UserError(`nothing is stored about "${owner}"`, {
        hint: 'owners are matched exactly (see oracx auth keys list --all); token users by their --sub',
      });
    }
    const event: SecurityEvent = {
      actor: o.actor,
      action: 'user.delete',
      target: pseudonym,
      outcome: 'ok',
      ip: null,
      requestId: o.requestId,
      details: { keys: result.keys, predictions: result.predictions, auditEvents: result.auditEvents },
    };
    await tx
      .insertInto('security_audit')
      .values({
        actor: event.actor,
        action: event.action,
        target: event.target,
        outcome: event.outcome,
        ip: null,
        request_id: event.requestId,
        details: JSON.stringify(event.details),
        created_at: new Date().toISOString(),
      })
      .execute();
    return result;
  });
}
