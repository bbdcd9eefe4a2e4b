/** Canonical content hash of a match record, used to detect unchanged rows on re-ingest. */
import { createHash } from 'node:crypto';
import type { MatchRecord } from './football-data/types.js';

const quoteKey = (q: MatchRecord['odds'][number]) => `${q.market}|${q.kind}|${q.bookmaker}|${q.line}`;

/** Odds are sorted first, so the column order of a file does not change the hash. */
export function hashMatch(record: MatchRecord): string {
  // Keys are built once per quote, not twice per comparison: the comparator used to dominate ingest CPU time.
  const keyed = record.odds.map((q) => ({ key: quoteKey(q), q }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const odds = keyed.map((k) => k.q);
  return createHash('sha1')
    .update(JSON.stringify({ ...record, odds }))
    .digest('base64url');
}
