/**
 * `collect feed`: poll a live-data provider for one or more competitions, apply what changed, and (with a watch
 * interval) keep polling until the signal aborts, always between polls. Never prints: progress goes to a callback.
 */
import { createHash } from 'node:crypto';
import { describeError, UserError } from '../src/errors.js';
import { applyFeedResponse, feedSource, type ApplyCounts } from '../src/ingest/feeds/apply.js';
import { getFeed, sleep, type FeedHttpOptions } from '../src/ingest/feeds/http.js';
import { liveMatchesOf, type LiveMatch } from '../src/ingest/feeds/live-cache.js';
import { takeQuota } from '../src/ingest/feeds/quota.js';
import { zodReason, type FeedProvider, type FeedRequest } from '../src/ingest/feeds/types.js';
import { TeamDirectory } from '../src/predict/directory.js';
import type { Store } from '../src/store/connect.js';

export interface FeedOptions {
  provider: FeedProvider;
  /** The provider's API key (from its environment variable). */
  key: string;
  baseUrl: string;
  /** Provider competition codes (PL, or API-Football league ids). */
  competitions: string[];
  /** Provider code → oracx code; the provider's defaults fill the rest. */
  competitionMap: Record<string, string>;
  /** Passed to the provider as its season parameter (starting year), when given. */
  season?: string;
  perMinute: number;
  http: Omit<FeedHttpOptions, 'signal' | 'beforeAttempt' | 'onRetry'>;
  signal?: AbortSignal;
  onProgress?: (event: FeedProgress) => void;
  /** Told a competition's live matches after each poll of it that did not fail (e.g. to cache them in Redis). */
  onLive?: (competition: string, matches: LiveMatch[]) => Promise<void>;
}

export type FeedProgress =
  | { type: 'retry'; url: string; attempt: number; waitMs: number; reason: string }
  | { type: 'quota-wait'; waitMs: number }
  | { type: 'competition'; result: CompetitionPoll }
  | { type: 'poll'; result: PollResult; next: number | null };

/** What one competition's request gave. */
export interface CompetitionPoll extends ApplyCounts {
  providerCompetition: string;
  competition: string;
  /** applied: a new body was applied (perhaps changing nothing); not-modified: 304 or the same body; failed: nothing applied. */
  outcome: 'applied' | 'not-modified' | 'failed';
  runId: number | null;
  error: string | null;
}

export interface PollResult {
  poll: number;
  at: string;
  competitions: CompetitionPoll[];
}

const zero = (): ApplyCounts => ({ items: 0, inserted: 0, updated: 0, unchanged: 0, quarantined: 0, finished: 0 });
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The oracx competition for each requested provider code; a user error naming unmapped ones. */
export function mapCompetitions(provider: FeedProvider, codes: readonly string[], overrides: Record<string, string>): { code: string; competition: string }[] {
  const map = { ...provider.defaultCompetitions, ...overrides };
  const missing = codes.filter((c) => !map[c]);
  if (missing.length) {
    throw new UserError(`no oracx competition for ${provider.name} competition ${missing.join(', ')}`, {
      hint: `map it with --map ${missing[0]}=E0 (defaults: ${Object.entries(provider.defaultCompetitions)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')})`,
    });
  }
  return codes.map((code) => ({ code, competition: map[code]! }));
}

/** One poll: a request per competition (within the quota), each response applied in its own transaction. */
export async function pollFeed(store: Store, options: FeedOptions, poll = 1): Promise<PollResult> {
  const targets = mapCompetitions(options.provider, options.competitions, options.competitionMap);
  const competitions: CompetitionPoll[] = [];
  // Loaded once per poll, when the first response needs it: team names and aliases do not change within a poll.
  let directory: Promise<TeamDirectory> | null = null;
  const teams = () => (directory ??= TeamDirectory.load(store));
  for (const t of targets) {
    const request = options.provider.request(options.baseUrl, options.key, t.code, t.competition, options.season);
    const result = await pollOne(store, options, request, teams);
    competitions.push(result);
    if (options.onLive && result.outcome !== 'failed') await options.onLive(t.competition, await liveMatchesOf(store, options.provider.name, t.competition));
    options.onProgress?.({ type: 'competition', result });
  }
  return { poll, at: new Date().toISOString(), competitions };
}

async function pollOne(store: Store, options: FeedOptions, request: FeedRequest, teams: () => Promise<TeamDirectory>): Promise<CompetitionPoll> {
  const provider = options.provider.name;
  const base = { providerCompetition: request.providerCompetition, competition: request.competition, runId: null, error: null };
  const cursor = await store.db.selectFrom('feed_cursors').selectAll().where('provider', '=', provider).where('url', '=', request.url).executeTakeFirst();
  const response = await getFeed(
    request.url,
    request.headers,
    { etag: cursor?.etag ?? null, lastModified: cursor?.last_modified ?? null },
    {
      ...options.http,
      signal: options.signal,
      beforeAttempt: () =>
        takeQuota(store, {
          provider,
          perMinute: options.perMinute,
          signal: options.signal,
          onWait: (waitMs) => options.onProgress?.({ type: 'quota-wait', waitMs }),
        }),
      onRetry: (e) => options.onProgress?.({ type: 'retry', url: request.url, ...e }),
    },
  ).catch((error: unknown) => {
    if (options.signal?.aborted) throw error;
    return { status: 'error' as const, error: describeError(error) };
  });
  if (response.status === 'error') return { ...base, ...zero(), outcome: 'failed', error: response.error };
  if (response.status === 304) return { ...base, ...zero(), outcome: 'not-modified' };
  const bodyHash = sha256(response.body);
  if (cursor?.body_hash === bodyHash) return { ...base, ...zero(), outcome: 'not-modified' };
  const refuse = async (detail: string): Promise<CompetitionPoll> => {
    // Nothing of a body that cannot be read is applied; it is kept (first 4 KB) in quarantine with the reason.
    await recordUnreadable(store, feedSource(provider, request.providerCompetition), bodyHash, response.body, `unreadable response: ${detail}`);
    return { ...base, ...zero(), outcome: 'failed', error: `${request.providerCompetition}: ${detail}` };
  };
  const type = response.contentType ?? '';
  if (/html/i.test(type) || /^\s*</.test(response.body)) return refuse(`the provider answered HTML, not JSON (${type || 'no content-type'})`);
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch (error) {
    return refuse(`malformed or truncated JSON (${(error as Error).message}; ${response.body.length} bytes)`);
  }
  const envelope = options.provider.envelope.safeParse(json);
  if (!envelope.success) return refuse(`unexpected response shape — ${zodReason(envelope.error)}`);
  const items = envelope.data.items.map((raw) => options.provider.item(raw, request));
  const input = { provider, providerCompetition: request.providerCompetition, competition: request.competition, bodyHash, items };
  let counts: Awaited<ReturnType<typeof applyFeedResponse>>;
  try {
    const directory = await teams();
    counts = await applyFeedResponse(store, input, directory).catch(async (error: unknown) => {
      // Another process applying the same response may have linked or added a match first (a unique key refuses
      // ours): the whole transaction rolled back, and a second pass sees its rows and applies only what is left.
      if (!isUniqueViolation(error)) throw error;
      return applyFeedResponse(store, input, directory);
    });
  } catch (error) {
    // Rolled back: nothing of the response is applied and no validator kept, so the next poll gets it again.
    return { ...base, ...zero(), outcome: 'failed', error: `${request.providerCompetition}: not applied, the store refused it: ${describeError(error)}` };
  }
  // Validators are kept only when everything applied: after a quarantine (say, an unknown team given an alias
  // since), the next poll must get the full body again rather than a 304.
  const clean = counts.quarantined === 0;
  const values = {
    etag: clean ? response.etag : null,
    last_modified: clean ? response.lastModified : null,
    body_hash: clean ? bodyHash : null,
    polled_at: new Date().toISOString(),
  };
  await store.db
    .insertInto('feed_cursors')
    .values({ provider, url: request.url, ...values })
    .onConflict((oc) => oc.columns(['provider', 'url']).doUpdateSet(values))
    .execute();
  return { ...base, ...counts, outcome: 'applied' };
}

async function recordUnreadable(store: Store, source: string, bodyHash: string, body: string, reason: string): Promise<void> {
  await store.db.transaction().execute(async (tx) => {
    const run = await tx
      .insertInto('ingest_runs')
      .values({
        source,
        source_kind: 'feed',
        file_hash: bodyHash,
        status: 'failed',
        rows_read: 0,
        last_line: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        quarantined: 1,
        resumed_from: null,
        error: reason,
        finished_at: new Date().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await tx
      .insertInto('quarantine')
      .values({ run_id: Number(run.id), source, file_hash: bodyHash, line: 0, raw: body.slice(0, 4096), reason })
      .onConflict((oc) => oc.columns(['source', 'file_hash', 'line']).doUpdateSet({ run_id: Number(run.id), reason }))
      .execute();
  });
}

/**
 * Polls every `intervalMs` until the signal aborts or `maxPolls` are done, and returns every completed poll's result.
 * An abort during the wait between polls stops at once; during a request it abandons that request (nothing of it is
 * applied; the competitions already applied in that poll stay committed); a response being applied always commits
 * whole, since the store transaction does not listen to the signal.
 */
export async function watchFeed(store: Store, options: FeedOptions, intervalMs: number, maxPolls = Infinity): Promise<PollResult[]> {
  const results: PollResult[] = [];
  for (let poll = 1; poll <= maxPolls; poll++) {
    const started = Date.now();
    let result: PollResult;
    try {
      result = await pollFeed(store, options, poll);
    } catch (error) {
      if (options.signal?.aborted) break;
      throw error;
    }
    results.push(result);
    const next = poll < maxPolls ? started + intervalMs : null;
    options.onProgress?.({ type: 'poll', result, next });
    if (next === null || options.signal?.aborted) break;
    try {
      await sleep(Math.max(0, next - Date.now()), options.signal);
    } catch {
      break;
    }
  }
  return results;
}

/** A unique-key violation from either driver (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_PRIMARYKEY/UNIQUE). */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
