/**
 * Applies one provider response to the store in one transaction: each match's status and score are diffed against
 * the stored row, changed fields written and recorded in match_changes, a `match_finished` event emitted the first
 * time a match is finished, and every item that cannot be applied quarantined with its reason. Applying the same
 * response twice changes nothing; a score going backwards, a finished match reported live again, an unknown status
 * or team are refused, never half-applied.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { seasonOfDate } from '../football-data/parse.js';
import { TeamDirectory, UnknownName } from '../../predict/directory.js';
import type { Store } from '../../store/connect.js';
import type { Database } from '../../store/schema.js';
import { dayDiff, knownRows, shiftDate, type Known } from './known.js';
import type { BadItem, FeedMatch, StoreStatus } from './types.js';

export interface ApplyCounts {
  items: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  /** match_finished events emitted by this response. */
  finished: number;
}

export interface ApplyInput {
  provider: string;
  providerCompetition: string;
  competition: string;
  /** sha256 of the response body. */
  bodyHash: string;
  items: (FeedMatch | BadItem)[];
}

/** Store fields a feed may change, in the order changes are recorded. */
const FIELDS = ['status', 'fthg', 'ftag', 'ftr', 'hthg', 'htag', 'htr'] as const;
type Field = (typeof FIELDS)[number];
type Values = Record<Field, string | number | null>;

/**
 * The matches columns a feed writes: status and scores, and a row hash of them. The football-data.co.uk file stays
 * authoritative: a hash it never writes makes its next collect rewrite the row.
 */
function scoreColumns(v: Values) {
  return {
    status: v.status as string,
    fthg: v.fthg as number | null,
    ftag: v.ftag as number | null,
    ftr: v.ftr as string | null,
    hthg: v.hthg as number | null,
    htag: v.htag as number | null,
    htr: v.htr as string | null,
    row_hash: `feed:${sha256(JSON.stringify(v))}`,
  };
}

const RANK: Record<StoreStatus, number> = { scheduled: 0, live: 1, finished: 2 };

/** The source name quarantine and ingest_runs file a provider competition under. */
export const feedSource = (provider: string, providerCompetition: string): string => `feed:${provider}:${providerCompetition}`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const result = (h: number | null, a: number | null): string | null => (h === null || a === null ? null : h > a ? 'H' : h < a ? 'A' : 'D');

/**
 * Applies a validated response; returns the counts and the run it was recorded under. A poll of many competitions
 * passes one directory to all of them (loading it reads every team, alias and roster).
 */
export async function applyFeedResponse(store: Store, input: ApplyInput, loaded?: TeamDirectory): Promise<ApplyCounts & { runId: number }> {
  const directory = loaded ?? (await TeamDirectory.load(store));
  const source = feedSource(input.provider, input.providerCompetition);
  return store.db.transaction().execute(async (tx) => {
    const run = await tx
      .insertInto('ingest_runs')
      .values({
        source,
        source_kind: 'feed',
        file_hash: input.bodyHash,
        status: 'running',
        rows_read: input.items.length,
        last_line: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        quarantined: 0,
        resumed_from: null,
        error: null,
        finished_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const runId = Number(run.id);
    const counts: ApplyCounts = { items: input.items.length, inserted: 0, updated: 0, unchanged: 0, quarantined: 0, finished: 0 };
    const quarantine = async (index: number, raw: unknown, reason: string) => {
      const text = JSON.stringify(raw) ?? 'null';
      // Keyed by the item's content: the same refused item in every poll is one row, a changed one is another.
      await tx
        .insertInto('quarantine')
        .values({ run_id: runId, source, file_hash: sha256(text), line: index + 1, raw: text, reason })
        .onConflict((oc) => oc.columns(['source', 'file_hash', 'line']).doUpdateSet({ run_id: runId, reason }))
        .execute();
      counts.quarantined++;
    };
    const competition = await tx.selectFrom('competitions').select('id').where('code', '=', input.competition).executeTakeFirst();
    const known = await knownRows(tx, input, competition ? Number(competition.id) : null);
    for (const [index, item] of input.items.entries()) {
      if ('bad' in item) {
        await quarantine(index, item.raw, item.reason);
        continue;
      }
      const refused = await applyMatch(tx, directory, competition ? Number(competition.id) : null, input, item, counts, known);
      if (refused) await quarantine(index, item.raw, refused);
    }
    await tx
      .updateTable('ingest_runs')
      .set({
        status: 'completed',
        last_line: input.items.length,
        inserted: counts.inserted,
        updated: counts.updated,
        unchanged: counts.unchanged,
        quarantined: counts.quarantined,
        finished_at: new Date().toISOString(),
      })
      .where('id', '=', runId)
      .execute();
    return { ...counts, runId };
  });
}

/** Applies one match; returns why it was refused, or null when applied (or unchanged). */
async function applyMatch(
  tx: Transaction<Database>,
  directory: TeamDirectory,
  competitionId: number | null,
  input: ApplyInput,
  m: FeedMatch,
  counts: ApplyCounts,
  known: Known,
): Promise<string | null> {
  const where = `${m.providerCompetition} match ${m.providerMatchId}`;
  if (m.status === null) return `unknown status: "${m.providerStatus}" (${where})`;
  if (competitionId === null) return `unknown competition: ${m.competition} is not in the store (${where}); collect its football-data files first`;
  if ((m.home === null) !== (m.away === null)) return `half a score: ${m.home}-${m.away} (${where})`;
  if (m.status !== 'scheduled' && m.home === null && m.status === 'finished') return `finished without a score: (${where})`;
  let homeId: number;
  let awayId: number;
  try {
    homeId = directory.team(m.homeTeam, m.competition);
    awayId = directory.team(m.awayTeam, m.competition);
  } catch (error) {
    if (error instanceof UnknownName) {
      const near = error.suggestions.length ? `; closest known ${error.suggestions.map((x) => `"${x}"`).join(', ')}` : '';
      return `unknown team: "${error.given}" in ${m.competition}${near} (${where}); add it with oracx teams alias "${error.given}" "<team>"`;
    }
    throw error;
  }
  const date = m.kickoff.slice(0, 10);
  const linked = known.links.get(m.providerMatchId);
  let matchId = linked ? linked.match_id : null;
  if (matchId === null) {
    // Dates in football-data.co.uk files are UK dates; a kick-off near midnight UTC may be filed a day off.
    const near = known.matches.filter((x) => x.home === homeId && x.away === awayId && x.date >= shiftDate(date, -1) && x.date <= shiftDate(date, 1));
    near.sort((a, b) => Math.abs(dayDiff(String(a.date), date)) - Math.abs(dayDiff(String(b.date), date)));
    if (near.length > 0) {
      const id = Number(near[0]!.id);
      const other = known.fedBy.get(id);
      if (other !== undefined) return `duplicate provider match: store match ${id} is already fed by ${input.provider} match ${other} (${where})`;
      matchId = id;
    }
  }
  const next: Values = {
    status: m.status,
    fthg: m.home,
    ftag: m.away,
    ftr: m.status === 'finished' ? result(m.home, m.away) : null,
    hthg: m.halfTimeHome,
    htag: m.halfTimeAway,
    htr: result(m.halfTimeHome, m.halfTimeAway),
  };
  const now = new Date().toISOString();
  if (matchId === null) {
    const inserted = await tx
      .insertInto('matches')
      .values({
        competition_id: competitionId,
        season: seasonOfDate(date),
        date,
        kickoff_time: null,
        home_team_id: homeId,
        away_team_id: awayId,
        ...scoreColumns(next),
        referee: null,
        attendance: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    matchId = Number(inserted.id);
    known.matches.push({ id: matchId, date, home: homeId, away: awayId });
    await link(tx, input.provider, m, matchId, now, null);
    known.links.set(m.providerMatchId, { match_id: matchId, provider_status: m.providerStatus });
    known.fedBy.set(matchId, m.providerMatchId);
    await recordChanges(
      tx,
      matchId,
      input.provider,
      m.providerMatchId,
      FIELDS.filter((f) => next[f] !== null).map((f) => [f, null, next[f]]),
      now,
    );
    counts.inserted++;
    if (m.status === 'finished')
      counts.finished += await emitFinished(tx, matchId, input, m, {
        season: seasonOfDate(date),
        date,
        home: directory.teamName(homeId),
        away: directory.teamName(awayId),
        values: next,
      });
    return null;
  }
  const stored = await tx
    .selectFrom('matches')
    .select(['status', ...FIELDS.slice(1), 'season', 'date', 'home_team_id', 'away_team_id'])
    .where('id', '=', matchId)
    .executeTakeFirstOrThrow();
  const old: Values = { status: stored.status, fthg: stored.fthg, ftag: stored.ftag, ftr: stored.ftr, hthg: stored.hthg, htag: stored.htag, htr: stored.htr };
  const oldStatus = stored.status as StoreStatus;
  if (RANK[m.status] < RANK[oldStatus]) return `status going backwards: ${oldStatus} → ${m.status} (${m.providerStatus}) for store match ${matchId} (${where})`;
  if (old.fthg !== null && old.ftag !== null && m.home !== null && m.away !== null && (m.home < Number(old.fthg) || m.away < Number(old.ftag))) {
    return `score going backwards: ${old.fthg}-${old.ftag} → ${m.home}-${m.away} for store match ${matchId} (${where})`;
  }
  // A provider that stops sending a value (null) does not erase what the store knows.
  for (const f of FIELDS) if (next[f] === null && f !== 'ftr') next[f] = old[f];
  if (m.status === 'finished' && next.ftr === null) next.ftr = result(next.fthg as number | null, next.ftag as number | null);
  if (m.status !== 'finished') next.ftr = old.status === 'finished' ? old.ftr : null;
  const changed = FIELDS.filter((f) => String(old[f]) !== String(next[f]));
  const statusWordChanged = linked?.provider_status !== m.providerStatus;
  if (changed.length === 0 && !statusWordChanged) {
    counts.unchanged++;
    return null;
  }
  if (changed.length > 0) {
    await tx
      .updateTable('matches')
      .set({
        ...scoreColumns(next),
        updated_at: now,
      })
      .where('id', '=', matchId)
      .execute();
  }
  const changes: [string, unknown, unknown][] = changed.map((f) => [f, old[f], next[f]]);
  if (statusWordChanged) changes.push(['provider_status', linked?.provider_status ?? null, m.providerStatus]);
  await recordChanges(tx, matchId, input.provider, m.providerMatchId, changes, now);
  await link(tx, input.provider, m, matchId, now, linked ?? null);
  known.links.set(m.providerMatchId, { match_id: matchId, provider_status: m.providerStatus });
  known.fedBy.set(matchId, m.providerMatchId);
  if (changed.length > 0) counts.updated++;
  else counts.unchanged++;
  if (m.status === 'finished' && oldStatus !== 'finished') {
    // The stored match's own teams, season and date (a link may point at a match filed a day off the kick-off).
    const facts = {
      season: stored.season,
      date: String(stored.date).slice(0, 10) || date,
      home: directory.teamName(Number(stored.home_team_id)),
      away: directory.teamName(Number(stored.away_team_id)),
      values: next,
    };
    counts.finished += await emitFinished(tx, matchId, input, m, facts);
  }
  return null;
}

async function link(tx: Transaction<Database>, provider: string, m: FeedMatch, matchId: number, now: string, linked: object | null) {
  if (linked) {
    await tx
      .updateTable('feed_matches')
      .set({ provider_status: m.providerStatus, updated_at: now })
      .where('provider', '=', provider)
      .where('provider_match_id', '=', m.providerMatchId)
      .execute();
  } else {
    await tx
      .insertInto('feed_matches')
      .values({ provider, provider_match_id: m.providerMatchId, match_id: matchId, provider_status: m.providerStatus, updated_at: now })
      .execute();
  }
}

async function recordChanges(
  tx: Transaction<Database>,
  matchId: number,
  provider: string,
  providerMatchId: string,
  changes: [string, unknown, unknown][],
  now: string,
) {
  if (changes.length === 0) return;
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  await tx
    .insertInto('match_changes')
    .values(
      changes.map(([field, o, n]) => ({
        match_id: matchId,
        field,
        old_value: text(o),
        new_value: text(n),
        provider,
        provider_match_id: providerMatchId,
        created_at: now,
      })),
    )
    .execute();
}

/**
 * Inserts the match's match_finished event unless it exists already; 1 when inserted. `facts` are what the row holds
 * once written (the caller has them: no query per finished match).
 */
async function emitFinished(
  tx: Transaction<Database>,
  matchId: number,
  input: ApplyInput,
  m: FeedMatch,
  facts: { season: string; date: string; home: string; away: string; values: Values },
): Promise<number> {
  const payload = {
    matchId,
    competition: input.competition,
    season: facts.season,
    date: facts.date,
    homeTeam: facts.home,
    awayTeam: facts.away,
    homeGoals: facts.values.fthg,
    awayGoals: facts.values.ftag,
    provider: input.provider,
    providerMatchId: m.providerMatchId,
    providerStatus: m.providerStatus,
  };
  const inserted = await tx
    .insertInto('events')
    .values({ type: 'match_finished', match_id: matchId, dedupe_key: `match_finished:${matchId}`, payload: JSON.stringify(payload) })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0 ? 1 : 0;
}
