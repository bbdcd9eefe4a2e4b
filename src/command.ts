/** The typed shape of a subcommand: its spec (flags, help) and a handler loaded only when it runs. */
import type { Context } from './context.js';

export interface OptionDef {
  flags: string;
  description: string;
  defaultValue?: string | boolean;
  choices?: readonly string[];
  /** Parses the raw string (throw on bad input); `previous` is the value so far, for repeatable flags. */
  // Method syntax on purpose: parsers declare the type of `previous` they accumulate (bivariant check).
  parse?(value: string, previous?: unknown): unknown;
}

export interface CommandDef<Options = Record<string, unknown>> {
  /** Words from the root, e.g. ['collect', 'football-data']. */
  path: readonly string[];
  description: string;
  /** commander argument syntax, e.g. '<inputs...>'. */
  args?: string;
  options?: readonly OptionDef[];
  /** Shown under "Examples:" in --help. */
  examples: readonly string[];
  run(ctx: Context, args: string[], options: Options): Promise<void>;
}

/** Groups (e.g. `db`, `matches`) get a description of their own. */
export interface GroupDef {
  name: string;
  description: string;
}

/** Identity helper that keeps the options type of a command. */
export function defineCommand<Options>(def: CommandDef<Options>): CommandDef<Options> {
  return def;
}
