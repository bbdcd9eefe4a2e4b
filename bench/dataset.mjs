/**
 * Pre-parses the football-data files once (not timed) into exactly the rows `collect` ends up writing:
 * competitions, teams (+ aliases), matches with resolved ids and row hash, and odds. The insert baselines start from here.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fromDist } from './lib.mjs';

/** Parses every file in `files` (names inside `dir`) and resolves ids the way the ingest writers do. */
export async function preParse(dir, files) {
  const { parseFootballData, seasonFromFileName } = await fromDist('src/ingest/football-data/parse.js');
  const { hashMatch } = await fromDist('src/ingest/hash.js');
  const { matchValues, oddsValues, aliasKey, MATCH_WRITE_COLUMNS, ODDS_WRITE_COLUMNS } = await fromDist('src/store/ingest-writer.js');
  const { SOURCE_KIND } = await fromDist('pipelines/collect.js');

  const competitions = new Map(); // code → id
  const teams = new Map(); // alias key → { id, name }
  // Natural key → match; a later file with the same key replaces the row, as collect's update path does.
  const matches = new Map();
  let lines = 0;
  let quarantined = 0;

  const competitionId = (code) => {
    if (!competitions.has(code)) competitions.set(code, competitions.size + 1);
    return competitions.get(code);
  };
  const teamId = (name) => {
    const key = aliasKey(name);
    if (!teams.has(key)) teams.set(key, { id: teams.size + 1, name });
    return teams.get(key).id;
  };

  for (const name of files) {
    const file = path.join(dir, name);
    const seen = new Set(); // per file, like collect: a repeated key inside one file is quarantined
    const rows = parseFootballData(createReadStream(file, { highWaterMark: 256 * 1024 }), {
      label: file,
      seasonHint: seasonFromFileName(name),
    });
    for await (const row of rows) {
      lines++;
      if (row.kind !== 'match') {
        quarantined++;
        continue;
      }
      const r = row.record;
      const key = `${r.competition}|${r.season}|${r.date}|${r.homeTeam.toLowerCase()}|${r.awayTeam.toLowerCase()}`;
      if (seen.has(key)) {
        quarantined++;
        continue;
      }
      seen.add(key);
      const ids = { competition: competitionId(r.competition), home: teamId(r.homeTeam), away: teamId(r.awayTeam) };
      const values = matchValues({ record: r, hash: hashMatch(r) }, ids);
      const odds = r.odds.map((q) => oddsValues(q, SOURCE_KIND));
      const previous = matches.get(key);
      matches.set(key, { id: previous?.id ?? matches.size + 1, values, odds });
    }
  }

  const matchList = [...matches.values()];
  return {
    files: files.length,
    lines,
    quarantined,
    competitions: [...competitions].map(([code, id]) => ({ id, code })),
    teams: [...teams].map(([alias, t]) => ({ id: t.id, name: t.name, alias })),
    matches: matchList,
    matchCount: matchList.length,
    oddsCount: matchList.reduce((n, m) => n + m.odds.length, 0),
    MATCH_WRITE_COLUMNS,
    ODDS_WRITE_COLUMNS,
  };
}
