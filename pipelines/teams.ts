/**
 * Team aliases: the other names providers use for a team ("Manchester United FC" for football-data.co.uk's
 * "Man United"). Feeds resolve names only through them; an alias never creates a team.
 */
import { UserError } from '../src/errors.js';
import { normaliseTeamName } from '../src/ingest/football-data/cells.js';
import { TeamDirectory } from '../src/predict/directory.js';
import type { Store } from '../src/store/connect.js';
import { aliasKey } from '../src/store/ingest-writer.js';

export interface AliasResult {
  alias: string;
  team: string;
  teamId: number;
  /** added: new; unchanged: it already named this team. */
  outcome: 'added' | 'unchanged';
}

/** Makes each `alias` name the existing team `team` (all or none); refuses an alias that names another team. */
export async function addTeamAliases(store: Store, pairs: readonly { alias: string; team: string }[]): Promise<AliasResult[]> {
  const directory = await TeamDirectory.load(store);
  const resolved = pairs.map((p) => {
    const alias = normaliseTeamName(p.alias);
    if (alias === '') throw new UserError('an alias cannot be empty');
    return { alias, key: aliasKey(alias), teamId: directory.team(p.team), team: p.team };
  });
  return store.db.transaction().execute(async (tx) => {
    const out: AliasResult[] = [];
    for (const r of resolved) {
      const existing = await tx.selectFrom('team_aliases').select('team_id').where('alias', '=', r.key).executeTakeFirst();
      const team = directory.teamName(r.teamId);
      if (existing && Number(existing.team_id) !== r.teamId) {
        throw new UserError(`"${r.alias}" already names ${directory.teamName(Number(existing.team_id))}, not ${team}`, {
          hint: 'an alias names one team; nothing was changed',
        });
      }
      if (!existing) await tx.insertInto('team_aliases').values({ alias: r.key, team_id: r.teamId }).execute();
      out.push({ alias: r.alias, team, teamId: r.teamId, outcome: existing ? 'unchanged' : 'added' });
    }
    return out;
  });
}
