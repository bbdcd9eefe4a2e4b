/** Entry point: parse argv, run the command, map errors to exit codes. The only process.exit lives here. */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import type { Context, GlobalFlags, Io } from './context.js';
import { describeError, exitCodeOf, ExitCode, Interrupted } from './errors.js';
import { storeError } from './store/errors.js';
import { redact } from './store/location.js';
import { heldWorkSettled, holdingExit } from './shutdown.js';
import { buildProgram } from './program.js';

/** Reads the version from package.json, found from both src/ (tests) and dist/src/ (built). */
function version(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'oracx') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}

/** The real process's streams and environment. */
export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
  };
}

/** Runs oracx with argv (without node and script) and returns the exit code; never exits the process. */
export async function main(argv: string[], io: Io = processIo(), signal: AbortSignal = new AbortController().signal): Promise<number> {
  let context: Context | undefined;
  const program = buildProgram({
    version: version(),
    write: { out: (t) => void io.stdout.write(t), err: (t) => void io.stderr.write(t) },
    async invoke(flags: GlobalFlags, run) {
      // Loaded here, not at start-up: config validation (zod), logging and output are not needed for --help.
      const { createContext } = await import('./context.js');
      context = await createContext(flags, io, signal);
      await run(context);
    },
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      if (thrown.exitCode === 0) return ExitCode.ok;
      return ExitCode.usage; // commander already printed the message and the help hint
    }
    const error = storeError(thrown, redact(context?.config.store ?? ''));
    const code = signal.aborted && !(error instanceof Interrupted) && exitCodeOf(error) === ExitCode.internal ? ExitCode.interrupted : exitCodeOf(error);
    const message = redact(describeError(error));
    if (code === ExitCode.internal) {
      context?.logger.error('internal error', { stack: error instanceof Error ? error.stack : undefined });
      io.stderr.write(`oracx: internal error: ${message}\n(this is a bug; please report it with the command you ran)\n`);
    } else {
      io.stderr.write(`oracx: ${message}\n`);
    }
    return code;
  } finally {
    await context?.close().catch(() => undefined);
  }
}

/** Process entry used by bin/oracx.js: wires signals, runs, exits. */
export function run(): void {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (name: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 2 && holdingExit()) {
      // E.g. an MLflow run being ended KILLED: a few seconds at most, so it is not left RUNNING; a third press exits now.
      process.stderr.write(`\noracx: ${name} received, exiting once the interrupted run is recorded (press Ctrl-C again to exit now)\n`);
      void heldWorkSettled(5000).then(() => process.exit(ExitCode.interrupted));
      return;
    }
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    process.stderr.write(`\noracx: ${name} received, stopping at the next safe point (press Ctrl-C again to force)\n`);
    controller.abort(new Interrupted(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(process.argv.slice(2), processIo(), controller.signal).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`oracx: internal error: ${String(error)}\n`);
      process.exit(ExitCode.internal);
    },
  );
}
