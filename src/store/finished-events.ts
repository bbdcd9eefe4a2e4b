/**
 * The `match_finished` events a football-data chunk emits: one per stored match that was not finished before the chunk
 * and that the chunk's row finishes. A match inserted with its result (a historical backfill) emits nothing, and a
 * corrected score of a finished match emits nothing either (it finished once: `match_finished:<id>` is taken).
 */
import type { ChunkPlan, StoredMatch } from './ingest-plan.js';
import type { MatchWrite } from './ingest-writer.js';

/** A planned update that finishes a stored match: the chunk row whose values it takes, and the match id. */
export interface Finishing {
  row: number;
  id: number;
}

/** The plan's updates of stored unfinished matches (scheduled or live) to a finished row; empty when the chunk only inserts. */
export function finishingWrites(plan: ChunkPlan, stored: ReadonlyMap<string, readonly StoredMatch[]>, matches: readonly MatchWrite[]): Finishing[] {
  const out: Finishing[] = [];
  let before: Map<number, string> | undefined;
  for (const w of plan.writes) {
    if (w.id === null || matches[w.row]!.record.status !== 'finished') continue;
    // Built only when a chunk updates a match to a result: a backfill of new matches never pays for it.
    if (before === undefined) {
      before = new Map();
      for (const list of stored.values()) for (const m of list) before.set(m.id, m.status);
    }
    const status = before.get(w.id);
    if (status !== undefined && status !== 'finished') out.push({ row: w.row, id: w.id });
  }
  return out;
}

/** The event's dedupe key: a match finishes once, whichever feed or file reports it. */
export const finishedKey = (matchId: number): string => `match_finished:${matchId}`;

/**
 * The event payload: the feed's shape (see src/ingest/feeds/apply.ts) so consumers need not care where a result came
 * from, its provider fields null, and `source` naming the file. Team names are the store's (not the file's spelling).
 */
export function finishedPayload(matchId: number, write: MatchWrite, homeTeam: string, awayTeam: string, file: string): string {
  const r = write.record;
  return JSON.stringify({
    matchId,
    competition: r.competition,
    season: r.season,
    date: r.date,
    homeTeam,
    awayTeam,
    homeGoals: r.fthg,
    awayGoals: r.ftag,
    provider: null,
    providerMatchId: null,
    providerStatus: null,
    source: { kind: 'football-data', file },
  });
}
