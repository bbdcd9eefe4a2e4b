/** Canonical content hash of a match record, used to detect unchanged rows on re-ingest. */
import { createHash } from 'node:crypto';
import type { MatchRecord } from './football-data/types.js';

const quoteKey = (q: MatchRecord['odds'][number]) => `${q.market}|${q.kind}|${q.bookmaker}|${q.line}`;

/** Odds are sorted first, so the column order of a file does not change the hash. */
export function hashMatch(record: MatchRecord): string {
  const odds = [...record.odds].sort((a, b) => (quoteKey(a) < quoteKey(b) ? -1 : quoteKey(a) > quoteKey(b) ? 1 : 0));
  return createHash('sha1').update(JSON.stringify({ ...record, odds })).digest('base64url');
}
