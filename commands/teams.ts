/** `oracx teams alias`: tell oracx another name of a team (a provider's spelling), one pair or a JSON file of them. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import { UsageError, UserError } from '../src/errors.js';

interface Options {
  file?: string;
}

export const teamsAlias = defineCommand<Options>({
  path: ['teams', 'alias'],
  description: 'make a name (as a provider spells it) an alias of a team in the store',
  args: '[name] [team]',
  options: [{ flags: '--file <aliases.json>', description: 'a JSON object of alias → team name pairs, applied all or none' }],
  examples: ['oracx teams alias "Manchester United FC" "Man United"', 'oracx teams alias --file fixtures/feeds/aliases.json'],
  async run(ctx, args, options) {
    const pairs: { alias: string; team: string }[] = [];
    if (options.file) {
      if (args.length) throw new UsageError('give either --file or NAME TEAM, not both');
      const file = path.resolve(ctx.io.cwd, options.file);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        throw new UserError(`${options.file}: ${(error as Error).message}`);
      }
      const ok =
        typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string' && v !== '');
      if (!ok) throw new UserError(`${options.file}: expected a JSON object of "alias": "team name" pairs`);
      for (const [alias, team] of Object.entries(parsed as Record<string, string>)) pairs.push({ alias, team });
    } else {
      if (args.length !== 2) throw new UsageError('expected NAME TEAM', { hint: 'e.g. oracx teams alias "Manchester United FC" "Man United"' });
      pairs.push({ alias: args[0]!, team: args[1]! });
    }
    const store = await ctx.store();
    const { addTeamAliases } = await import('../pipelines/teams.js');
    const results = await addTeamAliases(store, pairs);
    if (ctx.output.json) ctx.output.printJson({ aliases: results });
    else if (!ctx.output.options.quiet) {
      for (const r of results) ctx.output.printLine(`${r.alias} → ${r.team} (${r.outcome})`);
    }
  },
});
