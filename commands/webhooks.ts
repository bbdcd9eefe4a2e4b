/** `oracx webhooks add|list|remove|deliveries|redeliver|deliver`: signed HTTP callbacks for outbox events. */
import { defineCommand } from '../src/command.js';
import { Interrupted, UsageError, UserError } from '../src/errors.js';
import type { DeliveryState } from '../src/store/schema.js';
import type { DeliverProgress, PassResult } from '../pipelines/webhooks.js';
import { duration, integer, list } from './parse.js';

const STATES = ['pending', 'delivered', 'dead'] as const;
const DEFAULT_WATCH_MS = 5_000;

function id(what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`expected a ${what} id (a whole number ≥ 1), got "${value}"`);
    return Number(value);
  };
}

export const webhooksAdd = defineCommand<{ url?: string; events?: string[]; secretEnv?: string; maxAttempts?: number }>({
  path: ['webhooks', 'add'],
  description: 'subscribe a URL to event types; the signing secret is read from an env var and sealed with ORACX_MASTER_KEY',
  options: [
    { flags: '--url <url>', description: 'where to POST events (http or https)' },
    { flags: '--events <types>', description: 'comma-separated event types: match_finished, prediction_updated', parse: list },
    { flags: '--secret-env <VAR>', description: 'the environment variable holding the signing secret (never pass a secret on the command line)' },
    { flags: '--max-attempts <n>', description: 'tries before a delivery is dead (kept; see webhooks redeliver)', defaultValue: '8', parse: integer(1) },
  ],
  examples: [
    'HOOK_SECRET=$(openssl rand -hex 32) oracx webhooks add --url https://example.org/hook --events match_finished,prediction_updated --secret-env HOOK_SECRET',
  ],
  async run(ctx, _args, options) {
    if (!options.url) throw new UsageError('--url is required', { hint: 'e.g. --url https://example.org/hook' });
    if (!options.events) throw new UsageError('--events is required', { hint: 'e.g. --events match_finished,prediction_updated' });
    if (!options.secretEnv)
      throw new UsageError('--secret-env is required', { hint: 'the name of an environment variable holding the secret, e.g. --secret-env HOOK_SECRET' });
    // Upper-case names only: a secret pasted here by mistake (hex, base64, whsec_…) is refused without being echoed.
    if (!/^[A-Z_][A-Z0-9_]{0,63}$/.test(options.secretEnv)) {
      throw new UsageError(`--secret-env takes an environment variable name (upper case, e.g. HOOK_SECRET), not a value; what was given is not shown`, {
        hint: 'export HOOK_SECRET=… then pass --secret-env HOOK_SECRET',
      });
    }
    const secret = ctx.io.env[options.secretEnv];
    if (secret === undefined || secret === '')
      throw new UserError(`${options.secretEnv} is not set (or empty): it should hold the webhook's signing secret`, {
        hint: `export ${options.secretEnv}=$(openssl rand -hex 32)`,
      });
    const { requireKeyring } = await import('../src/auth/secrets.js');
    const { addSubscription, checkSubscription } = await import('../src/webhooks/subscriptions.js');
    const input = { url: options.url, events: options.events, secret, maxAttempts: options.maxAttempts };
    checkSubscription(input);
    const keyring = requireKeyring(ctx.io.env, 'to seal webhook secrets at rest');
    const sub = await addSubscription(await ctx.store(), keyring, input);
    if (ctx.output.json) return ctx.output.printJson(sub);
    ctx.io.stdout.write(`${sub.id}\n`);
    ctx.logger.info(
      `webhook ${sub.id} → ${sub.url} for ${sub.events.join(', ')} (secret sealed under ${sub.secretKeyId}); events from now on are delivered by oracx webhooks deliver`,
    );
  },
});

export const webhooksList = defineCommand({
  path: ['webhooks', 'list'],
  description: 'list webhook subscriptions (never their secrets)',
  examples: ['oracx webhooks list', 'oracx webhooks list --json'],
  async run(ctx) {
    const { listSubscriptions } = await import('../src/webhooks/subscriptions.js');
    const subs = await listSubscriptions(await ctx.store({ readOnly: true }));
    if (ctx.output.json) return ctx.output.printJson({ subscriptions: subs });
    ctx.output.printTable({
      head: ['id', 'url', 'events', 'max attempts', 'created'],
      rows: subs.map((s) => [s.id, s.url, s.events.join(','), s.maxAttempts, s.createdAt]),
    });
  },
});

export const webhooksRemove = defineCommand({
  path: ['webhooks', 'remove'],
  description: 'delete a subscription and its deliveries',
  args: '<id>',
  examples: ['oracx webhooks remove 3'],
  async run(ctx, args) {
    const subId = parseId(args[0], 'subscription');
    const { removeSubscription } = await import('../src/webhooks/subscriptions.js');
    const removed = await removeSubscription(await ctx.store(), subId);
    if (ctx.output.json) return ctx.output.printJson(removed);
    ctx.logger.info(`removed webhook ${removed.id} (${removed.url}) and its ${removed.deliveries} deliveries`);
  },
});

function parseId(value: string | undefined, what: string): number {
  try {
    return id(what)(value ?? '');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const webhooksDeliveries = defineCommand<{ subscription?: number; state?: DeliveryState; limit: number }>({
  path: ['webhooks', 'deliveries'],
  description: 'list deliveries, newest first: state, attempts, next try, last answer',
  options: [
    { flags: '--subscription <id>', description: 'only this subscription', parse: id('subscription') },
    { flags: '--state <state>', description: 'only deliveries in this state', choices: STATES },
    { flags: '--limit <n>', description: 'at most n deliveries', defaultValue: '50', parse: integer(1) },
  ],
  examples: ['oracx webhooks deliveries --state dead', 'oracx webhooks deliveries --subscription 2 --json'],
  async run(ctx, _args, options) {
    const { listDeliveries } = await import('../src/webhooks/deliveries.js');
    const rows = await listDeliveries(await ctx.store({ readOnly: true }), {
      subscriptionId: options.subscription,
      state: options.state,
      limit: options.limit,
    });
    if (ctx.output.json) return ctx.output.printJson({ deliveries: rows });
    ctx.output.printTable({
      head: ['id', 'sub', 'event', 'type', 'state', 'attempts', 'next try', 'last answer'],
      rows: rows.map((d) => [
        d.id,
        d.subscriptionId,
        d.eventId,
        d.eventType,
        d.state,
        d.attempts,
        d.nextAttemptAt ?? '',
        d.lastError ?? (d.lastStatus === null ? '' : String(d.lastStatus)),
      ]),
    });
  },
});

export const webhooksRedeliver = defineCommand({
  path: ['webhooks', 'redeliver'],
  description: 'queue a dead (or delivered) delivery again, with its attempts reset',
  args: '<id>',
  examples: ['oracx webhooks redeliver 42'],
  async run(ctx, args) {
    const deliveryId = parseId(args[0], 'delivery');
    const { redeliver } = await import('../src/webhooks/deliveries.js');
    const result = await redeliver(await ctx.store(), deliveryId);
    if (ctx.output.json) return ctx.output.printJson({ ...result, state: 'pending' });
    ctx.logger.info(`delivery ${deliveryId} (was ${result.previousState}) is queued again; oracx webhooks deliver sends it`);
  },
});

interface DeliverFlags {
  watch?: number | true;
  passes?: number;
  timeout: number;
  concurrency: number;
  backoff: number;
  maxBackoff: number;
}

export const webhooksDeliver = defineCommand<DeliverFlags>({
  path: ['webhooks', 'deliver'],
  description: 'send due webhook deliveries (one pass, or --watch until Ctrl-C); safe to run in several processes',
  options: [
    { flags: '--watch [interval]', description: `a pass every interval (default ${DEFAULT_WATCH_MS / 1000}s) until Ctrl-C`, parse: duration },
    { flags: '--passes <n>', description: 'with --watch, stop after n passes', parse: integer(1) },
    { flags: '--timeout <duration>', description: 'per-request timeout (an endpoint that hangs is retried later)', defaultValue: '10s', parse: duration },
    { flags: '--concurrency <n>', description: 'requests in flight at most', defaultValue: '8', parse: integer(1) },
    { flags: '--backoff <duration>', description: 'first retry delay; doubles each try, with ±50 % jitter', defaultValue: '10s', parse: duration },
    { flags: '--max-backoff <duration>', description: 'longest retry delay', defaultValue: '60m', parse: duration },
  ],
  examples: ['oracx webhooks deliver', 'oracx webhooks deliver --watch 5s', 'oracx webhooks deliver --json'],
  async run(ctx, _args, options) {
    if (options.passes !== undefined && options.watch === undefined) throw new UsageError('--passes needs --watch');
    if (options.timeout < 1) throw new UsageError('--timeout must be at least 1 ms');
    const { requireKeyring } = await import('../src/auth/secrets.js');
    const { deliverPass, watchDeliver } = await import('../pipelines/webhooks.js');
    const keyring = requireKeyring(ctx.io.env, 'to open the webhook secrets deliveries are signed with');
    const store = await ctx.store();
    const onProgress = (event: DeliverProgress) => {
      if (event.type === 'fanout' && event.created > 0) ctx.logger.info(`${event.created} new deliveries from ${event.events} event(s)`);
      else if (event.type === 'attempt') {
        const what = `delivery ${event.deliveryId} → ${event.url} (try ${event.attempt})`;
        if (event.state === 'delivered') ctx.logger.info(`${what}: delivered (${event.status})`);
        else if (event.state === 'dead') ctx.logger.error(`${what}: ${event.error}; dead, see oracx webhooks deliveries --state dead`);
        else ctx.logger.warn(`${what}: ${event.error}; will retry`);
      } else if (event.type === 'pass' && event.next !== null)
        ctx.logger.debug(`pass ${event.result.pass} done; next at ${new Date(event.next).toISOString()}`);
    };
    const deliverOptions = {
      keyring,
      timeoutMs: options.timeout,
      concurrency: options.concurrency,
      backoffMs: options.backoff,
      maxBackoffMs: options.maxBackoff,
      signal: ctx.signal,
      onProgress,
    };
    const interval = options.watch === undefined || options.watch === true ? DEFAULT_WATCH_MS : options.watch;
    const passes: PassResult[] =
      options.watch === undefined
        ? [await deliverPass(store, deliverOptions)]
        : await watchDeliver(store, deliverOptions, interval, options.passes ?? Infinity);
    const total = passes.reduce(
      (t, p) => ({
        attempts: t.attempts + p.attempts,
        delivered: t.delivered + p.delivered,
        retrying: t.retrying + p.retrying,
        dead: t.dead + p.dead,
        created: t.created + p.deliveriesCreated,
      }),
      { attempts: 0, delivered: 0, retrying: 0, dead: 0, created: 0 },
    );
    if (ctx.output.json) ctx.output.printJson({ store: store.location, passes, total });
    else if (!ctx.output.options.quiet) {
      ctx.output.printTable({
        head: ['passes', 'new deliveries', 'attempts', 'delivered', 'retrying', 'dead'],
        rows: [[passes.length, total.created, total.attempts, total.delivered, total.retrying, total.dead]],
      });
    }
    if (ctx.signal.aborted) throw new Interrupted(`stopped after ${passes.length} pass(es)`);
  },
});
