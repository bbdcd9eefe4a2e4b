// Runs oracx in-process (main(argv, io)) or as a child process (bin/oracx.js), capturing its output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { main } from '../../src/main.js';
import type { Io } from '../../src/context.js';
import { tempDir } from './stores.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/oracx.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../fixtures/football-data/', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws if it is not). */
  json<T = unknown>(): T;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
}

function result(code: number, stdout: string, stderr: string): CliResult {
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string | Buffer;
  signal?: AbortSignal;
}

/** Runs main(argv) in this process with captured, non-TTY streams. */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: Io = {
    stdout,
    stderr,
    stdin: options.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(options.stdin)]),
    env: { PATH: process.env.PATH, ...options.env },
    cwd: options.cwd ?? ROOT,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
  };
  const code = await main(argv, io, options.signal);
  return result(code, stdout.text, stderr.text);
}

export interface Spawned {
  child: ReturnType<typeof spawn>;
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** What the spawned CLIs cache (pipelines/pipeline-spec-cache.ts) goes here, not to ~/.cache (removed at exit). */
let cacheDir: string | undefined;

/** Spawns bin/oracx.js (the built CLI) with captured output. */
export function spawnCli(argv: string[], options: RunOptions = {}): Spawned {
  cacheDir ??= tempDir('oracx-cache-');
  const child = spawn(process.execPath, [BIN, ...argv], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH, ORACX_CACHE_DIR: cacheDir, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const input = new PassThrough();
  input.pipe(child.stdin);
  input.end(options.stdin ?? '');
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ ...result(code ?? -1, stdout, stderr), signal }));
  });
  return { child, done };
}

/** A spawned CLI whose stdout and stderr are gathered as they come (to wait for a line). */
export interface Watched extends Spawned {
  text(): string;
  /** Resolves once the output matches; fails on timeout or when the process exits first, with the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Spawns bin/oracx.js (in a fresh temp folder unless `cwd` is given; `env` added to PATH) and gathers its output. */
export function spawnWatched(argv: string[], cwd = tempDir(), env?: RunOptions['env']): Watched {
  const spawned = spawnCli(argv, { cwd, env });
  let text = '';
  spawned.child.stderr!.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  spawned.child.stdout!.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(text)) {
      if (Date.now() > end) throw new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${text}`);
      if (spawned.child.exitCode !== null) throw new Error(`exited (${spawned.child.exitCode}) before ${pattern}; output:\n${text}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { ...spawned, text: () => text, waitFor };
}

/**
 * A fresh temporary folder whose store (oracx.db) holds the bundled fixtures `input` (default: every season of
 * fixtures/football-data/full), collected through the CLI; fails the test when collect does.
 */
export async function collectedWorkspace(input = path.join(FIXTURES, 'full')): Promise<string> {
  const dir = tempDir();
  const c = await runCli(['collect', 'football-data', input, '-q'], { cwd: dir });
  expect(c.code, c.stderr).toBe(0);
  return dir;
}
