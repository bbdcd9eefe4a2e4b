/** What one ingest chunk does to the matches table, decided once for both dialects' writers. */
import type { KeyIds, MatchWrite } from './ingest-writer.js';

/** A stored match of one pairing (same competition, season, home and away team), as it was before the chunk. */
export interface StoredMatch {
  id: number;
  date: string;
  status: string;
  hash: string;
}

/** One row of a chunk, in file order. */
export interface PlanRow {
  /** The row's pairing (see planRows). */
  pairing: string;
  write: MatchWrite;
}

/** The chunk's rows with their pairing: competition id, season, home and away team id, joined by `|`. */
export function planRows(matches: readonly MatchWrite[], ids: readonly KeyIds[]): PlanRow[] {
  return matches.map((write, i) => {
    const { competition, home, away } = ids[i]!;
    return { pairing: `${competition}|${write.record.season}|${home}|${away}`, write };
  });
}

/** One match to write with the values of chunk row `row`: a new match (`id` null), or over match `id`. */
export type PlannedWrite =
  | { row: number; id: null }
  | {
      row: number;
      id: number;
      /** The match's row_hash before the chunk: PostgreSQL updates only that version (another writer may have moved it). */
      previousHash: string;
    };

export interface ChunkPlan {
  /** At most one write per match, in the order the rows first touched them. */
  writes: PlannedWrite[];
  inserted: number;
  updated: number;
  unchanged: number;
}

interface Entry {
  id: number | null;
  date: string;
  status: string;
  hash: string;
  previousHash: string;
  /** Index in `writes` once a row of this chunk has written the match. */
  write?: number;
}

/**
 * Plans a chunk. `stored` holds, per pairing, the matches the writer looked up: at least the one on each row's own
 * natural key, and every match of the pairing when the row has none and might move one. Rows apply in file order,
 * each seeing what earlier rows did, so the outcome does not depend on where chunks end:
 * 1. A match on the row's natural key is updated when the content hash differs, except that an unplayed row never
 *    overwrites a finished match (an old fixtures file collected after the results changes nothing).
 * 2. Otherwise an unplayed row whose pairing has a finished match after its date is a stale fixture (the match was
 *    played later than planned): nothing is written.
 * 3. Otherwise, when the pairing has exactly one unplayed match (on another date), that match was rescheduled: it
 *    moves to the row's date and takes its content, keeping its id (an update). Finished matches never move, and
 *    two unplayed ones (leagues that play a pairing twice, like the Scottish ones) are ambiguous: nothing moves.
 *    A row with `exactKeyOnly` never moves a match.
 * 4. Otherwise the row is a new match.
 */
export function planChunk(rows: readonly PlanRow[], stored: ReadonlyMap<string, readonly StoredMatch[]>): ChunkPlan {
  const plan: ChunkPlan = { writes: [], inserted: 0, updated: 0, unchanged: 0 };
  const state = new Map<string, Entry[]>();
  const entriesOf = (pairing: string): Entry[] => {
    let entries = state.get(pairing);
    if (entries === undefined) {
      entries = (stored.get(pairing) ?? []).map((m) => ({ ...m, previousHash: m.hash }));
      state.set(pairing, entries);
    }
    return entries;
  };
  const take = (entry: Entry, row: number, m: MatchWrite): void => {
    entry.date = m.record.date;
    entry.status = m.record.status;
    entry.hash = m.hash;
    if (entry.write !== undefined) plan.writes[entry.write]!.row = row;
    else if (entry.id === null) entry.write = plan.writes.push({ row, id: null }) - 1;
    else entry.write = plan.writes.push({ row, id: entry.id, previousHash: entry.previousHash }) - 1;
  };

  rows.forEach(({ pairing, write: m }, row) => {
    const r = m.record;
    const entries = entriesOf(pairing);
    const same = entries.find((e) => e.date === r.date);
    if (same) {
      if (same.hash === m.hash || (r.status === 'scheduled' && same.status === 'finished')) {
        plan.unchanged++;
      } else {
        take(same, row, m);
        plan.updated++;
      }
      return;
    }
    if (r.status === 'scheduled' && entries.some((e) => e.status === 'finished' && e.date > r.date)) {
      plan.unchanged++;
      return;
    }
    const unplayed = m.exactKeyOnly ? [] : entries.filter((e) => e.status === 'scheduled');
    if (unplayed.length === 1) {
      take(unplayed[0]!, row, m);
      plan.updated++;
      return;
    }
    const entry: Entry = { id: null, date: r.date, status: r.status, hash: m.hash, previousHash: '' };
    entries.push(entry);
    take(entry, row, m);
    plan.inserted++;
  });
  return plan;
}
