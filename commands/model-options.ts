/** Flags shared by train, evaluate and tune: one definition each, so help and parsing never drift apart. */
import type { OptionDef } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import type { WalkForward } from '../pipelines/walk-forward.js';
import { parseWalkForward } from './walk-forward.js';
import { collectParam } from './params.js';
import { integer, list, seasons } from './parse.js';

export const MODEL_OPTION: OptionDef = { flags: '--model <name>', description: 'logreg, mlp, dixon-coles, elo-ordered or ensemble', defaultValue: 'logreg' };
export const FEATURES_OPTION: OptionDef = { flags: '--features <name@version>', description: 'feature set (see oracx features list)', defaultValue: 'core@2' };
export const SEED_OPTION: OptionDef = {
  flags: '--seed <n>',
  description: 'random seed (same data, params and seed ⇒ same model)',
  defaultValue: '0',
  parse: integer(0),
};
export const PARAM_OPTION: OptionDef = { flags: '--param <key=value>', description: 'model hyperparameter, repeatable', parse: collectParam };

/** Parsed values of MODEL/FEATURES/SEED options and windowOptions(). */
export interface WindowFlags {
  model: string;
  features: string;
  competitions?: string[];
  seasons?: string[];
  lastSeasons?: number;
  walkForward: WalkForward;
  trainSeasons?: number;
  seed: number;
}

/** --competitions, --seasons / --last-seasons, --walk-forward and --train-seasons: which matches are tested, how often to refit, on what. */
export function windowOptions(seasonsWhat: string): OptionDef[] {
  return [
    { flags: '--competitions <codes>', description: 'division codes, comma-separated (required)', parse: list },
    { flags: '--seasons <seasons>', description: `${seasonsWhat} seasons, comma-separated`, parse: seasons },
    { flags: '--last-seasons <n>', description: 'instead of --seasons: the last N seasons of each competition', parse: integer(1) },
    {
      flags: '--walk-forward <mode>',
      description:
        'season (refit each season; models with static ratings, e.g. dixon-coles, also updated in-season as results arrive), season+<N>d (updated every N days), season+none (never updated), or <N>d / matchdays:<N> (every model refitted every N days)',
      defaultValue: 'season',
      parse: parseWalkForward,
    },
    {
      flags: '--train-seasons <n>',
      description: 'train each fold on only the N seasons each competition has before the test season (default: all earlier matches)',
      parse: integer(1),
    },
  ];
}

/**
 * Usage errors for a window without competitions or seasons. Only absence is checked here: list() already refuses an
 * empty --competitions or --seasons, with the same message for every command.
 */
export function requireWindow(options: { competitions?: string[]; seasons?: string[]; lastSeasons?: number }, competitionsOptional = false): void {
  if (options.competitions === undefined && !competitionsOptional) throw new UsageError('--competitions is required', { hint: 'e.g. --competitions E0' });
  if (options.seasons === undefined && options.lastSeasons === undefined) {
    throw new UsageError('--seasons or --last-seasons is required', { hint: 'e.g. --seasons 2018-2019,2019-2020 or --last-seasons 3' });
  }
}
