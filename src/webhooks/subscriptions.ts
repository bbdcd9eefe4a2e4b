/**
 * Webhook subscriptions: where to POST which event types, and the signing secret, sealed at rest under the master key
 * (AES-256-GCM, src/auth/secrets.ts) and authenticated with the subscription's id so a sealed secret cannot be moved
 * to another subscription.
 */
import { UserError } from '../errors.js';
import { open, seal, type Keyring } from '../auth/secrets.js';
import type { Store } from '../store/connect.js';
import type { EventType } from '../store/schema.js';

/** The event types a subscription may ask for. */
export const EVENT_TYPES: readonly EventType[] = ['match_finished', 'prediction_updated'];
export const DEFAULT_MAX_ATTEMPTS = 8;
/** Shorter secrets are refused: HMAC keys should carry at least 128 bits. */
export const MIN_SECRET_LENGTH = 16;

/** A subscription as commands show it (never the secret). */
export interface Subscription {
  id: number;
  url: string;
  events: EventType[];
  maxAttempts: number;
  afterEventId: number;
  createdAt: string;
  secretKeyId: string;
}

export interface NewSubscription {
  url: string;
  events: readonly string[];
  secret: string;
  maxAttempts?: number;
}

const sealName = (id: number) => `webhook:${id}`;

/** Checks the URL (http or https, absolute) and event types; throws a UserError naming the bad value. */
export function checkSubscription(input: NewSubscription): void {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new UserError(`--url: not an absolute URL: "${input.url}"`, { hint: 'e.g. --url https://example.org/hook' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`--url: only http and https URLs can receive webhooks, got ${url.protocol}`);
  if (url.username || url.password) throw new UserError('--url must not carry credentials: receivers authenticate requests by their signature');
  const unknown = input.events.filter((e) => !(EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length > 0) throw new UserError(`--events: unknown event type(s) ${unknown.join(', ')}`, { hint: `known: ${EVENT_TYPES.join(', ')}` });
  if (input.events.length === 0) throw new UserError('--events: at least one event type is needed', { hint: `known: ${EVENT_TYPES.join(', ')}` });
  if (input.secret.length < MIN_SECRET_LENGTH)
    throw new UserError(`the webhook secret has ${input.secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed`, {
      hint: 'generate one with: openssl rand -hex 32',
    });
  if (input.maxAttempts !== undefined && (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1))
    throw new UserError(`--max-attempts must be a whole number ≥ 1, got ${input.maxAttempts}`);
}

type Row = {
  id: number | string;
  url: string;
  events: string;
  max_attempts: number;
  after_event_id: number | string;
  created_at: string;
  secret_key_id: string;
};

function toSubscription(r: Row): Subscription {
  return {
    id: Number(r.id),
    url: r.url,
    events: r.events.split(',') as EventType[],
    maxAttempts: r.max_attempts,
    afterEventId: Number(r.after_event_id),
    createdAt: new Date(r.created_at).toISOString(),
    secretKeyId: r.secret_key_id,
  };
}

const COLUMNS = ['id', 'url', 'events', 'max_attempts', 'after_event_id', 'created_at', 'secret_key_id'] as const;

/**
 * Stores a subscription with its secret sealed. It receives events recorded after this moment only. The row is
 * written and sealed in one transaction: a row never exists without its secret.
 */
export async function addSubscription(store: Store, keyring: Keyring, input: NewSubscription): Promise<Subscription> {
  checkSubscription(input);
  const events = [...new Set(input.events)];
  return store.db.transaction().execute(async (tx) => {
    const last = await tx
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirst();
    const inserted = await tx
      .insertInto('webhook_subscriptions')
      .values({
        url: input.url,
        events: events.join(','),
        secret_key_id: '',
        secret_iv: '',
        secret_tag: '',
        secret_ciphertext: '',
        max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        after_event_id: Number(last?.max ?? 0),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(inserted.id);
    const s = seal(keyring, sealName(id), Buffer.from(input.secret, 'utf8'));
    await tx
      .updateTable('webhook_subscriptions')
      .set({ secret_key_id: s.keyId, secret_iv: s.iv, secret_tag: s.tag, secret_ciphertext: s.ciphertext })
      .where('id', '=', id)
      .execute();
    const row = await tx.selectFrom('webhook_subscriptions').select(COLUMNS).where('id', '=', id).executeTakeFirstOrThrow();
    return toSubscription(row);
  });
}

/** Every subscription, oldest first. */
export async function listSubscriptions(store: Store): Promise<Subscription[]> {
  const rows = await store.db.selectFrom('webhook_subscriptions').select(COLUMNS).orderBy('id').execute();
  return rows.map(toSubscription);
}

/** Deletes a subscription and its deliveries; a UserError when there is none by that id. */
export async function removeSubscription(store: Store, id: number): Promise<{ id: number; url: string; deliveries: number }> {
  return store.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('webhook_subscriptions').select(['id', 'url']).where('id', '=', id).executeTakeFirst();
    if (!row) throw new UserError(`no webhook subscription ${id}`, { hint: 'see them with: oracx webhooks list' });
    const deleted = await tx.deleteFrom('webhook_deliveries').where('subscription_id', '=', id).executeTakeFirst();
    await tx.deleteFrom('webhook_subscriptions').where('id', '=', id).execute();
    return { id, url: row.url, deliveries: Number(deleted.numDeletedRows) };
  });
}

/** The signing secrets of subscriptions, opened with the keyring (by subscription id). */
export async function subscriptionSecrets(store: Store, keyring: Keyring, ids: readonly number[]): Promise<Map<number, Buffer>> {
  if (ids.length === 0) return new Map();
  const rows = await store.db
    .selectFrom('webhook_subscriptions')
    .select(['id', 'secret_key_id', 'secret_iv', 'secret_tag', 'secret_ciphertext'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(
    rows.map((r) => [
      Number(r.id),
      open(keyring, sealName(Number(r.id)), { keyId: r.secret_key_id, iv: r.secret_iv, tag: r.secret_tag, ciphertext: r.secret_ciphertext }),
    ]),
  );
}
