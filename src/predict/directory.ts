/**
 * Names → store ids for forecasts asked for by name: competitions by code, teams by any name a source used for them
 * (the store's aliases), with the closest known names when a name is unknown. Loaded once and kept in memory, so a
 * request resolves without a query; reload() when new matches may have brought new teams.
 */
import { RequestError } from '../errors.js';
import { normaliseTeamName } from '../ingest/football-data/cells.js';
import type { Store } from '../store/connect.js';
import { aliasKey } from '../store/ingest-writer.js';

export interface CompetitionInfo {
  code: string;
  name: string | null;
}

/** A name that matched nothing; `suggestions` are the closest known names. */
export class UnknownName extends RequestError {
  override readonly name = 'UnknownName';
  constructor(
    readonly what: 'team' | 'competition',
    readonly given: string,
    readonly suggestions: string[],
    context = '',
  ) {
    super(`unknown ${what} "${given}"${context}`, 422, `unknown_${what}`, {
      hint: suggestions.length ? `did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : `no ${what}s in the store yet; collect some matches first`,
      details: { suggestions },
    });
  }
}

export class TeamDirectory {
  private constructor(
    private readonly byAlias: Map<string, number>,
    private readonly names: Map<number, string>,
    private readonly competitions: Map<string, CompetitionInfo>,
    private readonly rosters: Map<string, Set<number>>,
  ) {}

  /** Reads teams, aliases, competitions and who played where. */
  static async load(store: Store): Promise<TeamDirectory> {
    const [teams, aliases, competitions, rosters] = await Promise.all([
      store.db.selectFrom('teams').select(['id', 'name']).execute(),
      store.db.selectFrom('team_aliases').select(['alias', 'team_id']).execute(),
      store.db.selectFrom('competitions').select(['code', 'name']).execute(),
      store.db
        .selectFrom('matches as m')
        .innerJoin('competitions as c', 'c.id', 'm.competition_id')
        .select(['c.code', 'm.home_team_id as team'])
        .distinct()
        .execute(),
    ]);
    const names = new Map(teams.map((t) => [Number(t.id), t.name]));
    const byAlias = new Map<string, number>();
    for (const t of teams) byAlias.set(aliasKey(t.name), Number(t.id));
    for (const a of aliases) byAlias.set(a.alias, Number(a.team_id));
    const comps = new Map(competitions.map((c) => [c.code.toUpperCase(), { code: c.code, name: c.name }]));
    const byComp = new Map<string, Set<number>>();
    for (const r of rosters) {
      let set = byComp.get(r.code);
      if (!set) {
        set = new Set();
        byComp.set(r.code, set);
      }
      set.add(Number(r.team));
    }
    return new TeamDirectory(byAlias, names, comps, byComp);
  }

  /** Every competition in the store, by code. */
  listCompetitions(): CompetitionInfo[] {
    return [...this.competitions.values()].sort((a, b) => a.code.localeCompare(b.code));
  }

  /** The store's code for a competition code in any case ("e0" → "E0"); UnknownName otherwise. */
  competition(code: string): CompetitionInfo {
    const found = this.competitions.get(code.trim().toUpperCase());
    if (found) return found;
    throw new UnknownName(
      'competition',
      code,
      closest(
        code,
        [...this.competitions.values()].map((c) => c.code),
      ),
    );
  }

  /** A team's display name. */
  teamName(id: number): string {
    return this.names.get(id) ?? `team ${id}`;
  }

  /**
   * The team id of a name as any source spelled it (case, spacing and non-breaking spaces do not matter).
   * Suggestions for an unknown name come from the competition's teams first.
   */
  team(name: string, competition?: string): number {
    const id = this.byAlias.get(aliasKey(normaliseTeamName(name)));
    if (id !== undefined) return id;
    const roster = competition ? this.rosters.get(competition) : undefined;
    const pool = roster ? [...roster].map((t) => this.teamName(t)) : [...this.names.values()];
    const suggestions = closest(name, pool);
    throw new UnknownName('team', name, suggestions.length ? suggestions : closest(name, [...this.names.values()]), competition ? ` in ${competition}` : '');
  }
}

/** Up to `n` candidates nearest to `given` (case-insensitive edit distance; a shared prefix or substring counts double). */
export function closest(given: string, candidates: readonly string[], n = 3): string[] {
  const g = given.trim().toLowerCase();
  if (g === '') return [];
  const scored = [...new Set(candidates)].map((c) => {
    const l = c.toLowerCase();
    let d = editDistance(g, l);
    if (l.includes(g) || g.includes(l)) d = Math.min(d, Math.abs(l.length - g.length) / 2);
    return { c, d: d / Math.max(g.length, l.length) };
  });
  return scored
    .filter((s) => s.d <= 0.6)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((s) => s.c);
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
