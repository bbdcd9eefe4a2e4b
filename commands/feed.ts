/** `oracx collect feed`: live status and scores from a provider's HTTP JSON API, once or every interval. */
import { defineCommand } from '../src/command.js';
import { Interrupted, UsageError, UserError } from '../src/errors.js';
import type { Context } from '../src/context.js';
import type { LiveMatch } from '../src/ingest/feeds/live-cache.js';
import type { CompetitionPoll, FeedProgress, PollResult } from '../pipelines/feed.js';
import { duration, integer, list } from './parse.js';

interface Options {
  provider: string;
  competitions: string[];
  watch?: number | true;
  season?: string;
  map: Record<string, string>;
  quota?: number;
  baseUrl?: string;
  polls?: number;
  timeout: number;
  retries: number;
  strict?: boolean;
  redis?: string;
  redisPrefix: string;
}

const DEFAULT_WATCH_MS = 30_000;

/** `PL=E0`, repeatable, accumulated into one mapping. */
function mapping(value: string, previous?: Record<string, string>): Record<string, string> {
  const m = /^([^=\s]+)=([A-Za-z0-9]+)$/.exec(value.trim());
  if (!m) throw new Error(`expected PROVIDER_CODE=ORACX_CODE (e.g. PL=E0), got "${value}"`);
  return { ...(previous ?? {}), [m[1]!]: m[2]!.toUpperCase() };
}

/** `10/min` or `10`: requests per minute. */
function perMinute(value: string): number {
  const m = /^(\d+)(?:\/min)?$/.exec(value.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`expected requests per minute like 10/min, got "${value}"`);
  return Number(m[1]);
}

const HEAD = ['competition', 'outcome', 'items', 'inserted', 'updated', 'unchanged', 'quarantined', 'finished'];
const row = (c: CompetitionPoll) => [
  `${c.providerCompetition}→${c.competition}`,
  c.outcome,
  c.items,
  c.inserted,
  c.updated,
  c.unchanged,
  c.quarantined,
  c.finished,
];

export const collectFeed = defineCommand<Options>({
  path: ['collect', 'feed'],
  description: 'live match status and scores from football-data.org or API-Football (one poll, or --watch)',
  options: [
    {
      flags: '--provider <name>',
      description: 'football-data-org (key in FOOTBALL_DATA_ORG_TOKEN) or api-football (API_FOOTBALL_KEY)',
      choices: ['football-data-org', 'api-football'],
    },
    {
      flags: '--competitions <codes>',
      description: "the provider's competition codes (football-data-org: PL, BL1…; api-football: league ids 39, 78…)",
      parse: list,
    },
    {
      flags: '--watch [interval]',
      description: `poll every interval (default ${DEFAULT_WATCH_MS / 1000}s, never faster than the quota allows) until Ctrl-C`,
      parse: duration,
    },
    { flags: '--season <year>', description: "the provider's season (starting year, e.g. 2020); default: the provider's current one" },
    { flags: '--map <code=oracx>', description: 'map a provider competition to an oracx one (repeatable; defaults: PL=E0, BL1=D1, 39=E0, …)', parse: mapping },
    { flags: '--quota <n/min>', description: "the provider's request quota (default: the free tier's, 10/min)", parse: perMinute },
    { flags: '--base-url <url>', description: 'the provider API base URL (default: the public one, or ORACX_FOOTBALL_DATA_ORG_URL / ORACX_API_FOOTBALL_URL)' },
    { flags: '--polls <n>', description: 'with --watch, stop after n polls', parse: integer(1) },
    { flags: '--timeout <duration>', description: 'per-request timeout', defaultValue: '15s', parse: duration },
    { flags: '--retries <n>', description: 'retries on network errors, 5xx and 429 (exponential backoff with jitter)', defaultValue: '3', parse: integer(0) },
    { flags: '--redis <url>', description: 'also keep the live matches of each competition in Redis for the service (<prefix>live:<code>)' },
    { flags: '--redis-prefix <prefix>', description: 'Redis key prefix', defaultValue: 'oracx:' },
    { flags: '--strict', description: 'exit 1 if anything was quarantined or a request failed in the last poll' },
  ],
  examples: [
    'FOOTBALL_DATA_ORG_TOKEN=… oracx collect feed --provider football-data-org --competitions PL',
    'FOOTBALL_DATA_ORG_TOKEN=… oracx collect feed --provider football-data-org --competitions PL,BL1 --watch 30s',
    'API_FOOTBALL_KEY=… oracx collect feed --provider api-football --competitions 39 --season 2020',
    'oracx collect feed --provider football-data-org --competitions CL --map CL=EC',
  ],
  async run(ctx, _args, options) {
    if (!options.provider) throw new UsageError('--provider is required', { hint: 'football-data-org or api-football' });
    if (!options.competitions) throw new UsageError('--competitions is required', { hint: 'e.g. --competitions PL' });
    if (options.polls !== undefined && options.watch === undefined) throw new UsageError('--polls needs --watch');
    const { providerNamed } = await import('../src/ingest/feeds/providers.js');
    const { minimumIntervalMs } = await import('../src/ingest/feeds/quota.js');
    const { mapCompetitions, pollFeed, watchFeed } = await import('../pipelines/feed.js');
    const provider = providerNamed(options.provider);
    const competitionMap = options.map ?? {};
    mapCompetitions(provider, options.competitions, competitionMap);
    const key = ctx.io.env[provider.keyEnv];
    if (!key) throw new UserError(`${provider.keyEnv} is not set`, { hint: `export ${provider.keyEnv}=<your ${provider.name} API key>` });
    const baseUrl = options.baseUrl ?? ctx.io.env[provider.baseUrlEnv] ?? provider.defaultBaseUrl;
    try {
      new URL(baseUrl);
    } catch {
      throw new UsageError(`--base-url: not a URL: "${baseUrl}"`);
    }
    const quota = options.quota ?? provider.defaultPerMinute;
    const store = await ctx.store();
    const onProgress = (event: FeedProgress) => {
      switch (event.type) {
        case 'retry':
          ctx.logger.warn(`retry ${event.attempt} in ${event.waitMs} ms: ${event.reason}`);
          break;
        case 'quota-wait':
          ctx.logger.info(`request quota (${quota}/min) reached: waiting ${Math.ceil(event.waitMs / 1000)} s`);
          break;
        case 'competition': {
          const c = event.result;
          if (c.outcome === 'failed') ctx.logger.error(`${c.providerCompetition}: ${c.error}`);
          else
            ctx.logger.info(
              `${c.providerCompetition}→${c.competition}: ${c.outcome} — ${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged, ${c.quarantined} quarantined, ${c.finished} finished`,
              { runId: c.runId },
            );
          if (c.quarantined > 0) ctx.logger.warn(`${c.providerCompetition}: ${c.quarantined} item(s) quarantined; see oracx data report`);
          break;
        }
        case 'poll':
          if (event.next !== null) ctx.logger.info(`poll ${event.result.poll} done; next at ${new Date(event.next).toISOString()}`);
          break;
      }
    };
    const feedOptions = {
      provider,
      key,
      baseUrl,
      competitions: options.competitions,
      competitionMap,
      season: options.season,
      perMinute: quota,
      http: { timeoutMs: options.timeout, retries: options.retries, backoffMs: 500, maxRetryAfterMs: 120_000 },
      signal: ctx.signal,
      onProgress,
    };
    const asked = options.watch === undefined || options.watch === true ? DEFAULT_WATCH_MS : options.watch;
    const floor = minimumIntervalMs(options.competitions.length, quota);
    if (options.watch !== undefined && asked < floor) {
      ctx.logger.warn(
        `--watch ${asked} ms is faster than the quota (${quota}/min for ${options.competitions.length} request(s) a poll) allows: polling every ${floor} ms`,
      );
    }
    const intervalMs = Math.max(asked, floor);
    const cache = options.redis ? await liveCache(ctx, options.redis, options.redisPrefix, 3 * intervalMs) : undefined;
    let polls: PollResult[];
    try {
      const withCache = { ...feedOptions, onLive: cache?.write };
      polls = options.watch === undefined ? [await pollFeed(store, withCache)] : await watchFeed(store, withCache, intervalMs, options.polls ?? Infinity);
    } finally {
      await cache?.close();
    }
    const last = polls[polls.length - 1];
    if (ctx.output.json) {
      ctx.output.printJson({ store: store.location, provider: provider.name, polls });
    } else if (!ctx.output.options.quiet && last) {
      ctx.output.printTable({ head: HEAD, rows: last.competitions.map(row) });
    }
    if (ctx.signal.aborted) throw new Interrupted(`stopped after ${polls.length} poll(s)`);
    const failed = last?.competitions.filter((c) => c.outcome === 'failed') ?? [];
    if (options.watch === undefined && failed.length > 0) {
      throw new UserError(failed.map((c) => c.error).join('; '), {
        hint: 'nothing of a failed response was applied (an unreadable body is kept in quarantine: oracx data report)',
      });
    }
    if (options.strict && last?.competitions.some((c) => c.quarantined > 0 || c.outcome === 'failed')) {
      throw new UserError('--strict: items were quarantined or a request failed', { hint: 'see them with oracx data report' });
    }
  },
});

/** A Redis writer for live matches that never fails a poll: an outage costs one warning until Redis is back. */
async function liveCache(ctx: Context, url: string, prefix: string, ttlMs: number) {
  const [{ Redis }, { writeLiveCache }] = await Promise.all([import('ioredis'), import('../src/ingest/feeds/live-cache.js')]);
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (n) => Math.min(5000, 100 * 2 ** n),
  });
  let down = false;
  const warn = (error: unknown) => {
    if (!down) ctx.logger.warn(`Redis at ${redactUrl(url)} unavailable, live matches not cached (the store has them): ${(error as Error).message}`);
    down = true;
  };
  client.on('error', warn);
  await client.connect().catch(warn);
  return {
    async write(competition: string, matches: LiveMatch[]) {
      try {
        await writeLiveCache(client, prefix, competition, matches, ttlMs);
        if (down) ctx.logger.info(`Redis at ${redactUrl(url)} is back: live matches cached again`);
        down = false;
      } catch (error) {
        warn(error);
      }
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
