/** The commander tree, built from the command specs in commands/. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { GLOBAL_OPTIONS } from './config/options.js';
import type { CommandDef } from './command.js';
import type { Context, GlobalFlags } from './context.js';
import { COMMANDS, GROUPS } from '../commands/index.js';
import { UsageError } from './errors.js';

export interface ProgramHooks {
  version: string;
  write: { out(text: string): void; err(text: string): void };
  /** Runs a command with a fresh context; main owns creation and teardown. */
  invoke(flags: GlobalFlags, run: (ctx: Context) => Promise<void>): Promise<void>;
}

function examplesText(examples: readonly string[]): string {
  return examples.length === 0 ? '' : `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
}

function addCommand(parent: Command, def: CommandDef<Record<string, unknown>>, hooks: ProgramHooks): void {
  const name = def.path[def.path.length - 1]!;
  const cmd = parent.command(name).description(def.description);
  if (def.args) for (const arg of def.args.split(' ')) cmd.argument(arg);
  for (const o of def.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.choices) option.choices(o.choices);
    // Defaults go through the same parser as typed values, so handlers always get the parsed type.
    if (o.defaultValue !== undefined) {
      option.default(o.parse && typeof o.defaultValue === 'string' ? o.parse(o.defaultValue) : o.defaultValue, String(o.defaultValue));
    }
    if (o.parse) {
      const parse = o.parse;
      option.argParser((value: string, previous: unknown) => {
        try {
          return parse(value, previous);
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
      });
    }
    cmd.addOption(option);
  }
  cmd.addHelpText('after', examplesText(def.examples));
  cmd.action(async (...actionArgs: unknown[]) => {
    const self = actionArgs[actionArgs.length - 1] as Command;
    const args = self.args.flat();
    await hooks.invoke(self.optsWithGlobals<GlobalFlags>(), (ctx) => def.run(ctx, args, self.opts()));
  });
}

/** Builds the whole program; nothing heavy is imported here. */
export function buildProgram(hooks: ProgramHooks): Command {
  const program = new Command('oracx')
    .description('MLOps for football match prediction: collect, train, evaluate, register, serve')
    .version(hooks.version, '--version', 'print the version')
    .option('--config <file>', 'config file (default ./oracx.config.json when present)')
    .option('--json', 'print one machine-readable JSON document on stdout')
    .option('-q, --quiet', 'only errors on stderr, no progress')
    .option('-v, --verbose', 'debug logging on stderr')
    .option('--no-color', 'disable colours (also NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: hooks.write.out, writeErr: hooks.write.err });
  for (const o of GLOBAL_OPTIONS) {
    const option = new Option(o.flags, `${o.description} [env ${o.env}]`);
    if (o.choices) option.choices(o.choices);
    program.addOption(option);
  }
  program.addHelpText(
    'after',
    examplesText([
      'oracx collect football-data fixtures/football-data/full/',
      'oracx matches list --competition E0 --season 2019-2020 --team Arsenal --limit 20',
      'oracx data report --json',
      'oracx --store postgres://postgres@127.0.0.1:5432/test db status',
    ]),
  );

  // Groups nest ("auth keys create"): each prefix of a command's path is a group with a GroupDef of its own.
  const groups = new Map<string, Command>();
  const group = (words: readonly string[]): Command => {
    const key = words.join(' ');
    let g = groups.get(key);
    if (!g) {
      const def = GROUPS.find((d) => d.name === key);
      if (!def) throw new Error(`command group "${key}" has no description`);
      const parent = words.length > 1 ? group(words.slice(0, -1)) : program;
      g = parent.command(words[words.length - 1]!).description(def.description);
      g.exitOverride().configureOutput({ writeOut: hooks.write.out, writeErr: hooks.write.err });
      groups.set(key, g);
    }
    return g;
  };
  for (const def of COMMANDS) {
    const parent = def.path.length > 1 ? group(def.path.slice(0, -1)) : program;
    addCommand(parent, def as CommandDef<Record<string, unknown>>, hooks);
  }
  for (const g of groups.values()) {
    g.action(() => {
      throw new UsageError(`missing subcommand for "${fullName(g)}"`, {
        hint: `one of: ${g.commands.map((c) => c.name()).join(', ')} (see oracx ${fullName(g)} --help)`,
      });
    });
  }
  return program;
}

/** "auth keys" for the keys group under auth. */
function fullName(c: Command): string {
  const words: string[] = [];
  for (let at: Command | null = c; at?.parent; at = at.parent) words.unshift(at.name());
  return words.join(' ');
}
