/** The stored matches a PostgreSQL chunk plan needs, fetched set-based (a few statements per chunk, not per row). */
import type { PoolClient } from 'pg';
import type { PlanRow, StoredMatch } from './ingest-plan.js';
import type { KeyIds } from './ingest-writer.js';

interface Pairing {
  competition: number;
  season: string;
  home: number;
  away: number;
}

/** Each row's match on its natural key, and every match of the pairings whose rows might move one (see planChunk). */
export async function lookUpStored(client: PoolClient, rows: readonly PlanRow[], ids: readonly KeyIds[]): Promise<Map<string, StoredMatch[]>> {
  const stored = new Map<string, StoredMatch[]>();
  const add = (pairing: string, m: StoredMatch) => {
    const list = stored.get(pairing);
    if (!list) stored.set(pairing, [m]);
    else if (!list.some((x) => x.id === m.id)) list.push(m);
  };

  const exact = await client.query<{ i: string; id: number; status: string; row_hash: string }>(
    `select k.i, m.id, m.status, m.row_hash
     from unnest($1::bigint[], $2::text[], $3::date[], $4::bigint[], $5::bigint[]) with ordinality as k(c, s, d, h, a, i)
     join matches m on m.competition_id = k.c and m.season = k.s and m.date = k.d and m.home_team_id = k.h and m.away_team_id = k.a`,
    [
      ids.map((k) => k.competition),
      rows.map((r) => r.write.record.season),
      rows.map((r) => r.write.record.date),
      ids.map((k) => k.home),
      ids.map((k) => k.away),
    ],
  );
  const matched = new Set<number>();
  for (const row of exact.rows) {
    const i = Number(row.i) - 1;
    matched.add(i);
    add(rows[i]!.pairing, { id: Number(row.id), date: rows[i]!.write.record.date, status: row.status, hash: row.row_hash });
  }
  const unmatched = rows.map((_, i) => i).filter((i) => !matched.has(i));
  if (unmatched.length === 0) return stored;

  // Competition seasons holding unplayed matches: elsewhere a played row has nothing to move.
  const seasons = new Map<string, { competition: number; season: string }>();
  for (const i of unmatched) {
    const competition = ids[i]!.competition;
    const season = rows[i]!.write.record.season;
    seasons.set(`${competition}|${season}`, { competition, season });
  }
  const withUnplayed = await client.query<{ c: number; s: string }>(
    `select k.c, k.s from unnest($1::bigint[], $2::text[]) as k(c, s)
     where exists (select 1 from matches m where m.competition_id = k.c and m.season = k.s and m.status = 'scheduled')`,
    [[...seasons.values()].map((x) => x.competition), [...seasons.values()].map((x) => x.season)],
  );
  const unplayedIn = new Set(withUnplayed.rows.map((row) => `${Number(row.c)}|${row.s}`));

  const pairings = new Map<string, Pairing>();
  for (const i of unmatched) {
    const r = rows[i]!.write.record;
    const { competition, home, away } = ids[i]!;
    if (r.status === 'scheduled' || unplayedIn.has(`${competition}|${r.season}`)) {
      pairings.set(rows[i]!.pairing, { competition, season: r.season, home, away });
    }
  }
  if (pairings.size === 0) return stored;
  const keys = [...pairings.keys()];
  const values = [...pairings.values()];
  const whole = await client.query<{ i: string; id: number; date: string; status: string; row_hash: string }>(
    `select k.i, m.id, m.date, m.status, m.row_hash
     from unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) with ordinality as k(c, s, h, a, i)
     join matches m on m.competition_id = k.c and m.season = k.s and m.home_team_id = k.h and m.away_team_id = k.a`,
    [values.map((p) => p.competition), values.map((p) => p.season), values.map((p) => p.home), values.map((p) => p.away)],
  );
  for (const row of whole.rows) {
    add(keys[Number(row.i) - 1]!, { id: Number(row.id), date: row.date, status: row.status, hash: row.row_hash });
  }
  return stored;
}
