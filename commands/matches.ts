/** `oracx matches list`: browse what the store holds. */
import { defineCommand } from '../src/command.js';
import type { MatchListItem, MatchQuery } from '../pipelines/matches.js';
import { integer, isoDate, list, requireOrdered, seasons } from './parse.js';

type Options = MatchQuery & { csv?: boolean };

const HEAD = ['id', 'comp', 'season', 'date', 'time', 'home', 'away', 'FT', 'HT', 'status'];
const score = (h: number | null, a: number | null) => (h === null || a === null ? '' : `${h}-${a}`);
const toRow = (m: MatchListItem) => [m.id, m.competition, m.season, m.date, m.time, m.home, m.away, score(m.fthg, m.ftag), score(m.hthg, m.htag), m.status];

export const matchesList = defineCommand<Options>({
  path: ['matches', 'list'],
  description: 'list matches with filters, sorting and paging',
  options: [
    { flags: '--competition <codes>', description: 'division codes, comma-separated (E0,D1)', parse: list },
    { flags: '--season <seasons>', description: 'seasons, comma-separated (2019-2020)', parse: seasons },
    { flags: '--team <name>', description: 'home or away team (name or alias, any case)' },
    { flags: '--from <date>', description: 'on or after this date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--to <date>', description: 'on or before this date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--status <status>', description: 'match status', choices: ['scheduled', 'live', 'finished'] },
    { flags: '--sort <key>', description: 'sort order', defaultValue: 'date', choices: ['date', '-date', 'competition', 'home', 'away'] },
    { flags: '--limit <n>', description: 'rows per page', defaultValue: '50', parse: integer(1) },
    { flags: '--offset <n>', description: 'skip this many rows', parse: integer(0) },
    { flags: '--cursor <token>', description: 'continue after a previous page (date sorts; printed as nextCursor)' },
    { flags: '--csv', description: 'print CSV instead of a table' },
  ],
  examples: [
    'oracx matches list --competition E0 --season 2019-2020 --team Arsenal --sort date --limit 20 --json',
    'oracx matches list --from 2020-07-01 --to 2020-07-31 --csv > july.csv',
  ],
  async run(ctx, _args, options) {
    requireOrdered('--from', options.from, '--to', options.to);
    const store = await ctx.store({ readOnly: true });
    const { listMatches } = await import('../pipelines/matches.js');
    const page = await listMatches(store, options);
    if (ctx.output.json) {
      ctx.output.printJson(page);
      return;
    }
    const table = { head: HEAD, rows: page.items.map(toRow) };
    if (options.csv) {
      ctx.output.printCsv(table);
      return;
    }
    ctx.output.printTable(table);
    ctx.output.printLine(`${page.items.length} of ${page.total} match(es)${page.nextCursor ? ` — next page: --cursor ${page.nextCursor}` : ''}`);
  },
});
