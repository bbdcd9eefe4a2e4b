/** winston logger on stderr: pretty on a TTY, JSON lines (with a correlation id) otherwise. */
import { createRequire } from 'node:module';
import type winstonModule from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  color: boolean;
  correlationId: string;
  stream: NodeJS.WritableStream;
}

// winston's npm priorities (lower is more severe), for the four levels oracx writes.
const PRIORITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 5 };

/**
 * Creates the logger a command run uses. winston (about a hundred CommonJS files, ~30 ms to load) is required on the
 * first line the level lets through, not before: a run under -q, or one that logs nothing, never loads it
 * (bench/pipeline-run). The lines themselves are winston's, unchanged.
 */
export function createLogger(options: LoggerOptions): Logger {
  let winston: winstonModule.Logger | undefined;
  // The caller's arguments go through as given: winston builds the line differently with and without meta.
  const write = (level: LogLevel, args: [message: string, meta?: Record<string, unknown>]) => {
    if (PRIORITY[level] > PRIORITY[options.level]) return;
    winston ??= createWinston(options);
    (winston[level] as (...a: unknown[]) => void)(...args);
  };
  return {
    error: (...args) => write('error', args),
    warn: (...args) => write('warn', args),
    info: (...args) => write('info', args),
    debug: (...args) => write('debug', args),
  };
}

function createWinston(options: LoggerOptions): winstonModule.Logger {
  // A synchronous require keeps the Logger methods synchronous; winston is CommonJS, so this is what import does.
  const winston = createRequire(import.meta.url)('winston') as typeof winstonModule;
  const { format } = winston;
  const pretty = format.printf((info) => {
    const { level, message, correlationId: _id, timestamp: _ts, ...rest } = info;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${level}: ${String(message)}${extra}`;
  });
  return winston.createLogger({
    level: options.level,
    defaultMeta: { correlationId: options.correlationId },
    format: options.json ? format.combine(format.timestamp(), format.json()) : format.combine(...(options.color ? [format.colorize()] : []), pretty),
    transports: [new winston.transports.Stream({ stream: options.stream })],
  });
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};
