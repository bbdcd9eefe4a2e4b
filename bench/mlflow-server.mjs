/**
 * Starts a throwaway MLflow tracking server (SQLite backend, proxied artifacts in a temp folder) from a venv's python,
 * for the tests and the mlflow-log benchmark. Plain .mjs so both can import it without vitest.
 *
 * Start-up costs: the `mlflow` CLI imports mlflow (~1 s), creates the SQLite schema (~3 s with its migrations) and
 * starts uvicorn, which imports the app again (~3 s). The schema step is skipped by copying an empty, migrated database
 * cached per MLflow version next to the venv, and the job runner (huey workers we never use) is switched off.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const HEALTH_TIMEOUT_MS = 120_000;

/** A free TCP port on 127.0.0.1 (released right away; MLflow binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The MLflow version installed in the venv of `python` (from its dist-info folder), or 'unknown'. */
export function mlflowVersion(python) {
  const venv = path.dirname(path.dirname(python));
  const lib = path.join(venv, 'lib');
  if (!existsSync(lib)) return 'unknown';
  for (const py of readdirSync(lib)) {
    const site = path.join(lib, py, 'site-packages');
    if (!existsSync(site)) continue;
    const info = readdirSync(site).find((n) => /^mlflow-\d.*\.dist-info$/.test(n));
    if (info) return info.slice('mlflow-'.length, -'.dist-info'.length);
  }
  return 'unknown';
}

function templatePath(python) {
  return path.join(path.dirname(path.dirname(python)), '.oracx-cache', `mlflow-${mlflowVersion(python)}-empty.db`);
}

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resolves when GET /health answers 200; rejects when `exited()` says the process died, or after the timeout. */
async function waitHealthy(url, { exited, log, timeoutMs = HEALTH_TIMEOUT_MS }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const code = exited();
    if (code !== undefined) throw new Error(`mlflow server exited (${code}) before answering /health; log tail:\n${tail(log)}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mlflow server at ${url} did not answer /health within ${timeoutMs / 1000} s; log tail:\n${tail(log)}`);
}

const live = new Set();
// A test runner or bench that dies must not leave servers behind.
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function launch({ python, port, dir }) {
  const log = path.join(dir, 'server.log');
  const fd = openSync(log, 'a');
  const env = {
    ...process.env,
    MLFLOW_DISABLE_TELEMETRY: 'true',
    DO_NOT_TRACK: '1',
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
    PYTHONUNBUFFERED: '1',
  };
  delete env.MLFLOW_TRACKING_URI;
  const args = [
    '-m',
    'mlflow',
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--workers',
    '1',
    '--backend-store-uri',
    `sqlite:///${path.join(dir, 'mlflow.db')}`,
    '--serve-artifacts',
    '--artifacts-destination',
    path.join(dir, 'artifacts'),
  ];
  // detached: its own process group, so stop() also reaches uvicorn, which the CLI starts as a child.
  const child = spawn(python, args, { cwd: dir, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  let exitCode;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      live.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exitCode = error.message;
      live.delete(child);
      resolve();
    });
  });
  return { child, log, exited, exitCode: () => exitCode };
}

async function kill(proc, graceMs = 5000) {
  if (proc.exitCode() !== undefined) return;
  const signal = (sig) => {
    try {
      process.kill(-proc.child.pid, sig);
    } catch {
      // group already gone
    }
  };
  signal('SIGTERM');
  const timer = new Promise((r) => setTimeout(r, graceMs, 'timeout'));
  if ((await Promise.race([proc.exited, timer])) === 'timeout') signal('SIGKILL');
  await proc.exited;
  // uvicorn may outlive the CLI by a moment: make sure the whole group is gone.
  signal('SIGKILL');
}

/**
 * Spawns the server and returns at once; `ready` resolves once /health answers. `stop()` kills the whole process group;
 * `restart()` starts it again on the same port and database. Logs go to `<dir>/server.log`.
 */
export async function launchMlflowServer({ python, port, dir } = {}) {
  if (!python) throw new Error('launchMlflowServer needs the venv python (npm run setup:python)');
  const home = dir ?? (await mkdtemp(path.join(tmpdir(), 'oracx-mlflow-')));
  const ownsDir = dir === undefined;
  const db = path.join(home, 'mlflow.db');
  const template = templatePath(python);
  const fresh = !existsSync(db);
  if (fresh && existsSync(template)) copyFileSync(template, db);
  const boundPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${boundPort}`;
  let proc;
  let started;
  const start = () => {
    started = process.hrtime.bigint();
    proc = launch({ python, port: boundPort, dir: home });
    return waitHealthy(url, { exited: proc.exitCode, log: proc.log }).then(() => Number(process.hrtime.bigint() - started) / 1e6);
  };
  const ready = start().then((ms) => {
    // First server with this MLflow version: keep its freshly migrated, still empty database as the template.
    if (fresh && !existsSync(template)) {
      mkdirSync(path.dirname(template), { recursive: true });
      const tmp = `${template}.${process.pid}.tmp`;
      copyFileSync(db, tmp);
      renameSync(tmp, template);
    }
    return ms;
  });
  ready.catch(() => undefined);
  return {
    url,
    port: boundPort,
    dir: home,
    log: path.join(home, 'server.log'),
    /** Milliseconds from spawn to the first healthy answer. */
    ready,
    async stop({ cleanup = ownsDir } = {}) {
      await kill(proc);
      if (cleanup) rmSync(home, { recursive: true, force: true });
    },
    /** Stops, then starts on the same port and database; resolves with the new start-up time in ms. */
    async restart() {
      await kill(proc);
      return start();
    },
    /** Stops without removing the folder; `resume()` starts it again on the same port and database. */
    async pause() {
      await kill(proc);
    },
    /** Starts a paused server again; resolves when healthy, with the start-up time in ms. */
    resume() {
      return start();
    },
  };
}

/** Starts a server and waits until it is healthy; `startupMs` says how long that took. */
export async function startMlflowServer(options) {
  const server = await launchMlflowServer(options);
  try {
    const startupMs = await server.ready;
    return { ...server, startupMs };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
