// MLflow for tests: the run's shared server (started by global-setup), servers of a test's own (to stop and restart),
// and clients for them. Without the Python venv the tests skip with a printed reason; under CI=true global-setup has
// already failed the run instead.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { MlflowClient, type MlflowClientOptions } from '../../src/mlflow/client.js';
import type { MlflowSettings } from '../../src/mlflow/settings.js';
// Shared with bench/mlflow-log.mjs (plain .mjs so the bench needs no vitest).
import { startMlflowServer as startServer } from '../../bench/mlflow-server.mjs';

export interface MlflowServer {
  url: string;
  dir: string;
  /** Milliseconds from spawn to the first healthy /health. */
  startupMs: number;
  stop(): Promise<void>;
  /** Stops and starts again on the same port and database; resolves with the new start-up time. */
  restart(): Promise<number>;
  /** Stops, keeping port and database for resume(). */
  pause(): Promise<void>;
  resume(): Promise<number>;
}

const python = inject('python');
const sharedUrl = inject('mlflowUrl');
const sharedLog = inject('mlflowLog');

/** Whether MLflow tests can run, and why not. */
export const MLFLOW = {
  available: python !== '' && sharedUrl !== '',
  python,
  reason: python === '' ? 'the Python test venv is unavailable (npm run setup:python)' : sharedUrl === '' ? 'no shared MLflow server was started' : '',
};

const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

let warned = false;
/**
 * Whether MLflow tests can run (for describe.skipIf); prints once per file why not. Under CI=true a missing MLflow
 * fails the file instead (global-setup normally fails the run before that).
 */
export function mlflowOrSkip(): boolean {
  if (!MLFLOW.available && ci) throw new Error(`MLflow tests are required under CI=true: ${MLFLOW.reason}`);
  if (!MLFLOW.available && !warned) {
    warned = true;
    console.warn(`[oracx tests] skipping MLflow tests: ${MLFLOW.reason}`);
  }
  return MLFLOW.available;
}

/** The shared server's URL once it answers /health (it starts in the background); throws with its log tail if it never does. */
export async function mlflowServer(timeoutMs = 50_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${sharedUrl}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return sharedUrl;
    } catch {
      // still starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let log = '(no log)';
  try {
    log = readFileSync(sharedLog, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    // keep the placeholder
  }
  throw new Error(`the shared MLflow server at ${sharedUrl} did not become healthy in ${timeoutMs / 1000} s; its log ends with:\n${log}`);
}

/** A server of the test's own (e.g. to stop mid-run); call stop() in afterAll. */
export function startMlflowServer(options: { python?: string; port?: number } = {}): Promise<MlflowServer> {
  return startServer({ python: options.python ?? python, port: options.port }) as Promise<MlflowServer>;
}

/** Settings for a local test server: quick retries so failures show fast, fields overridable. */
export function testSettings(url: string, overrides: Partial<MlflowSettings> = {}): MlflowSettings {
  return { trackingUri: url, insecureTls: false, timeoutMs: 30_000, maxRetries: 3, backoffMs: 100, maxBackoffMs: 2000, ...overrides };
}

/** A client for `url`. */
export function testClient(url: string, overrides: Partial<MlflowSettings> = {}, options: MlflowClientOptions = {}): MlflowClient {
  return new MlflowClient(testSettings(url, overrides), options);
}

/** A name no other test (or earlier run on a reused server) has used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Runs a Python snippet with MLflow's own client against `url` (MLFLOW_TRACKING_URI) and returns the JSON it prints on
 * its last stdout line: how an MLflow user (MlflowClient, mlflow.pyfunc, the UI's API) sees what oracx logged.
 * `args` reach the script as sys.argv[1:]. Throws with Python's stderr when the script fails.
 */
export async function pythonMlflow<T = unknown>(url: string, script: string, args: readonly string[] = []): Promise<T> {
  try {
    const { stdout } = await promisify(execFile)(python, ['-c', script, ...args], {
      env: { ...process.env, MLFLOW_TRACKING_URI: url, PYTHONWARNINGS: 'ignore' },
      maxBuffer: 1 << 26,
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as T;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`python MLflow script failed: ${e.message}\n${(e.stderr ?? '').split('\n').slice(-25).join('\n')}`);
  }
}

/** A running `mlflow models serve --env-manager local` of one model URI; stop() in a finally block. */
export interface ModelsServe {
  /** POSTs a JSON body to /invocations. */
  invoke(body: unknown): Promise<Response>;
  /** The last 4,000 characters the server wrote on stderr, for failure messages. */
  log(): string;
  stop(): void;
}

/**
 * Starts `mlflow models serve -m MODEL_URI --env-manager local` against the tracking server `url` on a free port and
 * waits until /ping answers (throws with the server's log when it never does).
 */
export async function mlflowModelsServe(url: string, modelUri: string, timeoutMs = 120_000): Promise<ModelsServe> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const mlflowBin = path.join(path.dirname(python), 'mlflow');
  // As in an activated venv: the scoring server starts `uvicorn` from PATH.
  const server = spawn(mlflowBin, ['models', 'serve', '-m', modelUri, '-p', String(port), '-h', '127.0.0.1', '--env-manager', 'local'], {
    env: { ...process.env, MLFLOW_TRACKING_URI: url, PATH: `${path.dirname(mlflowBin)}${path.delimiter}${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const stop = () => {
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) break;
    } catch {
      // still starting
    }
    if (Date.now() > deadline || server.exitCode !== null) {
      stop();
      throw new Error(`mlflow models serve ${modelUri} never answered /ping; its log ends with:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    invoke: (body) =>
      fetch(`http://127.0.0.1:${port}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    log: () => log,
    stop,
  };
}
