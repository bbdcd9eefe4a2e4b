/** Resolves configuration: flags > env ORACX_* > config file > defaults; validated with zod, frozen. */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { GLOBAL_OPTIONS } from './options.js';
import { parseStoreLocation } from '../store/location.js';

// zod compiles a validator per object schema (new Function) on its first parse: worth it for a server parsing the
// same shape many times, pure cost for a command that parses each shape once (config, oracx.yaml). This is the first
// module with a schema in every command run, so it decides for the process; results and messages are the same.
z.config({ jitless: true });

const ConfigSchema = z
  .object({
    store: z.string(),
    logFormat: z.enum(['auto', 'pretty', 'json']),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

const FileSchema = ConfigSchema.partial().strict();

export const DEFAULT_CONFIG_FILE = 'oracx.config.json';

export interface ConfigSources {
  /** Values given as flags (undefined when not given). */
  flags: Partial<Record<keyof Config, string>>;
  env: NodeJS.ProcessEnv;
  /** Explicit --config path; else ./oracx.config.json if it exists. */
  configFile?: string;
  cwd: string;
}

function readConfigFile(file: string, explicit: boolean): Partial<Config> {
  if (!existsSync(file)) {
    if (explicit) throw new UserError(`config file ${file} does not exist`, { hint: 'fix the --config path' });
    return {};
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = FileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new UserError(`config file ${file}: ${where}: ${issue.message}`, {
      hint: `valid keys: ${GLOBAL_OPTIONS.map((o) => o.key).join(', ')}`,
    });
  }
  return parsed.data;
}

/** Merges every source into one validated, frozen Config. */
export function resolveConfig(sources: ConfigSources): Config {
  const file = sources.configFile
    ? readConfigFile(path.resolve(sources.cwd, sources.configFile), true)
    : readConfigFile(path.resolve(sources.cwd, DEFAULT_CONFIG_FILE), false);
  const merged: Record<string, string> = {};
  for (const option of GLOBAL_OPTIONS) {
    const fromEnv = sources.env[option.env];
    merged[option.key] =
      sources.flags[option.key] ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? file[option.key] ?? option.defaultValue;
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    const spec = GLOBAL_OPTIONS.find((o) => o.key === key);
    throw new UserError(`invalid ${key} "${merged[key]}": ${issue.message}`, {
      hint: spec ? `set ${spec.flags.split(' ')[0]} or ${spec.env}` : undefined,
    });
  }
  // A malformed store value is a usage error before anything runs (parseStoreLocation says what is wrong).
  parseStoreLocation(parsed.data.store, sources.cwd);
  return Object.freeze(parsed.data);
}
