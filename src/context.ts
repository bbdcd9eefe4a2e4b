/** What every command handler receives: config, logger, output, interrupt signal and a lazily opened store. */
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { resolveConfig, type Config } from './config/config.js';
// Static: the logger module is small; winston itself loads on the first line written (see logger.ts).
import { createLogger, type Logger, type LogLevel } from './logger.js';
import { Output } from './output/output.js';
import type { Store } from './store/connect.js';

/** The process surroundings; tests pass their own. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  stdinIsTTY: boolean;
}

/** Options common to every command (commander's optsWithGlobals). */
export interface GlobalFlags {
  store?: string;
  logFormat?: string;
  logLevel?: string;
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  readonly output: Output;
  readonly correlationId: string;
  readonly io: Io;
  /** True when a person can answer prompts (stdin and stderr are TTYs, not CI). */
  readonly isInteractive: boolean;
  /** Aborted on Ctrl-C / SIGTERM: long commands stop at the next consistent point. */
  readonly signal: AbortSignal;
  /**
   * Opens the configured store once, applying pending migrations (logged) unless migrate is false. Unless readOnly,
   * a SQLite store must pass PRAGMA quick_check first: nothing is written to a damaged file.
   */
  store(options?: { migrate?: boolean; create?: boolean; readOnly?: boolean }): Promise<Store>;
  /** Closes what the run opened. */
  close(): Promise<void>;
}

/** Builds the context for one command run. */
export async function createContext(flags: GlobalFlags, io: Io, signal: AbortSignal): Promise<Context> {
  const config = resolveConfig({
    flags: { store: flags.store, logFormat: flags.logFormat, logLevel: flags.logLevel },
    env: io.env,
    configFile: flags.config,
    cwd: io.cwd,
  });
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false' && io.env.CI !== '0';
  const color = flags.color !== false && io.env.NO_COLOR === undefined && (io.env.FORCE_COLOR !== undefined ? io.env.FORCE_COLOR !== '0' : io.stderrIsTTY);
  const level: LogLevel = flags.verbose ? 'debug' : flags.quiet ? 'error' : (config.logLevel as LogLevel);
  const json = config.logFormat === 'json' || (config.logFormat === 'auto' && !io.stderrIsTTY);
  const correlationId = randomUUID();
  const output = new Output({
    stdout: io.stdout,
    stderr: io.stderr,
    json: flags.json === true,
    quiet: flags.quiet === true,
    color: color && io.stdoutIsTTY,
    // A terminal reporting 0 columns (some PTYs) would make ora clear lines forever.
    spinners: io.stderrIsTTY && !ci && !flags.json && !flags.quiet && ((io.stderr as { columns?: number }).columns ?? 0) > 0,
  });
  const logger = createLogger({ level, json, color, correlationId, stream: io.stderr as NodeJS.WritableStream });
  let opened: Promise<Store> | undefined;
  return {
    config,
    logger,
    output,
    correlationId,
    io,
    isInteractive: io.stdinIsTTY && io.stderrIsTTY && !ci,
    signal,
    store(options) {
      opened ??= (async () => {
        const { assertIntact, openStore } = await import('./store/connect.js');
        const store = await openStore(config.store, { cwd: io.cwd, create: options?.create });
        try {
          // A command that may write first checks the file (SQLite); reading commands stay as cheap as their query.
          const readOnly = options?.readOnly === true;
          if (!readOnly) await assertIntact(store);
          if (options?.migrate === false) return store;
          if (readOnly) {
            // Pending migrations are writes too, whatever the command. None pending: nothing to migrate, and no write
            // lock taken just to find that out again (the no-change `oracx run` stays a read).
            if (!(await store.migrationStatus()).some((m) => !m.applied)) return store;
            await assertIntact(store);
          }
          const { applied } = await store.migrate();
          if (applied.length > 0) logger.info(`applied migrations to ${store.location}: ${applied.join(', ')}`);
        } catch (error) {
          await store.close();
          throw error;
        }
        return store;
      })();
      return opened;
    },
    async close() {
      if (opened) await (await opened.catch(() => undefined))?.close();
    },
  };
}
