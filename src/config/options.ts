/** Global options, declared once: flag, env var, config-file key, default and help all come from here. */
export interface GlobalOptionSpec {
  key: 'store' | 'logFormat' | 'logLevel';
  flags: string;
  env: string;
  description: string;
  defaultValue: string;
  choices?: readonly string[];
}

export const GLOBAL_OPTIONS: readonly GlobalOptionSpec[] = [
  {
    key: 'store',
    flags: '--store <path|url>',
    env: 'ORACX_STORE',
    description: 'store: a SQLite file path, sqlite:PATH, or postgres://user@host/db',
    defaultValue: 'oracx.db',
  },
  {
    key: 'logFormat',
    flags: '--log-format <format>',
    env: 'ORACX_LOG_FORMAT',
    description: 'log lines on stderr: pretty, json, or auto (json when stderr is not a TTY)',
    defaultValue: 'auto',
    choices: ['auto', 'pretty', 'json'],
  },
  {
    key: 'logLevel',
    flags: '--log-level <level>',
    env: 'ORACX_LOG_LEVEL',
    description: 'minimum log level: error, warn, info, debug',
    defaultValue: 'info',
    choices: ['error', 'warn', 'info', 'debug'],
  },
];
