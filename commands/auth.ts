/** `oracx auth keys create|list|revoke|rotate`: API keys of the prediction service (only their hashes are stored). */
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { ApiKeyInfo } from '../src/auth/api-keys.js';
import { parseIsoInstant } from '../src/dates.js';
import { integer, isoInstant } from './parse.js';

const ROLE_CHOICES = ['viewer', 'predictor', 'admin'] as const;

function expiry(value: string): string {
  const m = /^(\d+)(h|d)$/.exec(value);
  if (m) return new Date(Date.now() + Number(m[1]) * (m[2] === 'h' ? 3_600_000 : 86_400_000)).toISOString();
  // Strict, not Date.parse: 2027-02-30 must not become a key that expires on March 2.
  const t = parseIsoInstant(value);
  if (Number.isNaN(t))
    throw new Error(`expected a lifetime like 90d or 12h, or an existing ISO date or date-time (2027-01-31, 2027-01-31T12:00:00Z), got "${value}"`);
  if (t <= Date.now()) throw new Error(`--expires ${value} is in the past`);
  return new Date(t).toISOString();
}

function keyTable(ctx: Context, keys: ApiKeyInfo[]): void {
  ctx.output.printTable({
    head: ['id', 'name', 'role', 'prefix', 'owner', 'created', 'expires', 'last used', 'revoked'],
    rows: keys.map((k) => [
      k.id,
      k.name,
      k.role,
      `oxk_${k.prefix}_…`,
      k.owner ?? '—',
      k.createdAt,
      k.expiresAt ?? '—',
      k.lastUsedAt ?? '—',
      k.revokedAt ?? '—',
    ]),
  });
}

/** Prints a new key once, on stdout, and says so on stderr. */
function printNewKey(ctx: Context, key: string, info: ApiKeyInfo, extra: Record<string, unknown> = {}): void {
  if (ctx.output.json) {
    ctx.output.printJson({ key, ...info, ...extra });
    return;
  }
  ctx.io.stdout.write(`${key}\n`);
  ctx.logger.warn(`API key ${info.id} (${info.name}, ${info.role}) created: it is printed above once and cannot be shown again; store it in a secret manager`);
}

/** Records a security action taken from the command line (actor cli:<who>), as the service records its own. */
export async function audit(ctx: Context, action: string, target: string | null, details: Record<string, unknown>): Promise<void> {
  const { recordSecurityEvent } = await import('../src/auth/audit.js');
  const { currentActor } = await import('../src/registry/audit.js');
  await recordSecurityEvent(await ctx.store(), {
    actor: `cli:${currentActor(ctx.io.env)}`,
    action,
    target,
    outcome: 'ok',
    ip: null,
    requestId: ctx.correlationId,
    details,
  });
}

export const authKeysCreate = defineCommand<{ role: (typeof ROLE_CHOICES)[number]; name: string; owner?: string; expires?: string }>({
  path: ['auth', 'keys', 'create'],
  description: 'create an API key and print it once',
  options: [
    { flags: '--role <role>', description: 'what the key may do', choices: ROLE_CHOICES },
    { flags: '--name <name>', description: 'a label, e.g. ci or dashboard' },
    { flags: '--owner <id>', description: 'who the key belongs to (an e-mail or user id), for auth users export|delete' },
    { flags: '--expires <when>', description: 'lifetime (90d, 12h), or an ISO date or date-time (2027-01-31, 2027-01-31T12:00:00Z)', parse: expiry },
  ],
  examples: [
    'oracx auth keys create --role predictor --name ci',
    'KEY=$(oracx auth keys create --role viewer --name dashboard --owner ana@example.com --expires 90d)',
  ],
  async run(ctx, _args, options) {
    const { UsageError } = await import('../src/errors.js');
    if (!options.role) throw new UsageError('--role is required', { hint: `one of ${ROLE_CHOICES.join(', ')}` });
    if (!options.name) throw new UsageError('--name is required', { hint: 'e.g. --name ci' });
    const { createApiKey } = await import('../src/auth/api-keys.js');
    const { currentActor } = await import('../src/registry/audit.js');
    const store = await ctx.store();
    const created = await createApiKey(store, {
      name: options.name,
      role: options.role,
      owner: options.owner ?? null,
      createdBy: `cli:${currentActor(ctx.io.env)}`,
      expiresAt: options.expires ?? null,
    });
    await audit(ctx, 'api-key.create', `key:${created.info.id}`, { name: created.info.name, role: created.info.role, owner: created.info.owner });
    printNewKey(ctx, created.key, created.info);
  },
});

export const authKeysList = defineCommand<{ all?: boolean; owner?: string }>({
  path: ['auth', 'keys', 'list'],
  description: 'API keys (never their secrets)',
  options: [
    { flags: '--all', description: 'include revoked keys' },
    { flags: '--owner <id>', description: "only this owner's keys" },
  ],
  examples: ['oracx auth keys list', 'oracx auth keys list --all --json'],
  async run(ctx, _args, options) {
    const { listApiKeys } = await import('../src/auth/api-keys.js');
    const keys = await listApiKeys(await ctx.store({ readOnly: true }), { includeRevoked: options.all === true, owner: options.owner });
    if (ctx.output.json) return ctx.output.printJson({ keys });
    if (keys.length === 0) return ctx.logger.info('no API keys; create one with oracx auth keys create --role predictor --name NAME');
    keyTable(ctx, keys);
  },
});

export const authKeysRevoke = defineCommand<Record<string, never>>({
  path: ['auth', 'keys', 'revoke'],
  args: '<key>',
  description: 'revoke an API key (by id or name); servers refuse it within seconds',
  options: [],
  examples: ['oracx auth keys revoke 3', 'oracx auth keys revoke ci'],
  async run(ctx, args) {
    const { findApiKey, revokeApiKey } = await import('../src/auth/api-keys.js');
    const store = await ctx.store();
    const key = await findApiKey(store, args[0]!);
    const after = await revokeApiKey(store, key.id);
    await audit(ctx, 'api-key.revoke', `key:${key.id}`, { name: key.name, alreadyRevoked: key.revokedAt !== null });
    if (ctx.output.json) return ctx.output.printJson(after);
    ctx.logger.info(`API key ${key.id} (${key.name}) ${key.revokedAt ? 'was already' : 'is now'} revoked`);
  },
});

export const authKeysRotate = defineCommand<{ grace?: number }>({
  path: ['auth', 'keys', 'rotate'],
  args: '<key>',
  description: 'replace an API key with a new one (same name, role and owner); the old one stops now or after --grace',
  options: [{ flags: '--grace <seconds>', description: 'keep the old key valid this long so clients can switch', parse: integer(0) }],
  examples: ['oracx auth keys rotate ci', 'oracx auth keys rotate 3 --grace 3600 --json'],
  async run(ctx, args, options) {
    const { findApiKey, rotateApiKey } = await import('../src/auth/api-keys.js');
    const { currentActor } = await import('../src/registry/audit.js');
    const store = await ctx.store();
    const key = await findApiKey(store, args[0]!);
    const rotated = await rotateApiKey(store, key.id, { createdBy: `cli:${currentActor(ctx.io.env)}`, graceSeconds: options.grace });
    await audit(ctx, 'api-key.rotate', `key:${key.id}`, { to: rotated.info.id, graceSeconds: options.grace ?? 0 });
    printNewKey(ctx, rotated.key, rotated.info, { replaced: rotated.old });
  },
});

export const authAudit = defineCommand<{ actor?: string; action?: string; since?: string; limit: number }>({
  path: ['auth', 'audit'],
  description: 'the security audit, newest first: admin actions, token issues, user exports/erasures, refused requests',
  options: [
    { flags: '--actor <who>', description: 'only events by this actor (cli:user@host, key:12, jwt:<iss>|<sub>, anonymous)' },
    { flags: '--action <action>', description: 'only this action (api-key.create, token.issue, auth.failure, http.admin, user.delete, …)' },
    { flags: '--since <when>', description: 'only events at or after this ISO date or date-time (2025-01-31, 2025-01-31T12:00:00Z)', parse: isoInstant },
    { flags: '--limit <n>', description: 'at most this many events', defaultValue: '50', parse: integer(1) },
  ],
  examples: ['oracx auth audit', 'oracx auth audit --action auth.failure --since 2025-01-01 --json', 'oracx auth audit --actor key:3 --limit 200'],
  async run(ctx, _args, options) {
    const { listSecurityEvents } = await import('../src/auth/audit.js');
    const events = await listSecurityEvents(await ctx.store({ readOnly: true }), {
      actor: options.actor,
      action: options.action,
      since: options.since,
      limit: options.limit,
    });
    if (ctx.output.json) return ctx.output.printJson({ events });
    if (events.length === 0) return ctx.logger.info('no security events match');
    ctx.output.printTable({
      head: ['id', 'when', 'actor', 'action', 'target', 'outcome', 'ip', 'request id', 'details'],
      rows: events.map((e) => [e.id, e.createdAt, e.actor, e.action, e.target ?? '—', e.outcome, e.ip ?? '—', e.requestId ?? '—', summary(e.details)]),
    });
  },
});

/** Details on one short line: the reason and count of refused requests first. */
function summary(details: Record<string, unknown>): string {
  const { reason, count, ...rest } = details;
  const head = [reason !== undefined ? String(reason) : '', typeof count === 'number' && count > 1 ? `×${count}` : ''].filter(Boolean).join(' ');
  const tail = Object.entries(rest)
    .filter(([k]) => k !== 'detail')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const text = [head, tail].filter(Boolean).join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
