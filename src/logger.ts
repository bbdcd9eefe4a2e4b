/** winston logger on stderr: pretty on a TTY, JSON lines (with a correlation id) otherwise. */
import winston from 'winston';

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

/** Creates the logger a command run uses. */
export function createLogger(options: LoggerOptions): Logger {
  const { format } = winston;
  const pretty = format.printf((info) => {
    const { level, message, correlationId: _id, timestamp: _ts, ...rest } = info;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${level}: ${String(message)}${extra}`;
  });
  const logger = winston.createLogger({
    level: options.level,
    defaultMeta: { correlationId: options.correlationId },
    format: options.json ? format.combine(format.timestamp(), format.json()) : format.combine(...(options.color ? [format.colorize()] : []), pretty),
    transports: [new winston.transports.Stream({ stream: options.stream })],
  });
  return logger;
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};
