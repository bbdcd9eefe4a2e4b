// Shared by the observability and rate-limit tests: a servable store (fixtures collected, a Dixon–Coles model
// registered as oracx-e0@champion, API keys), `oracx serve` spawned from the built CLI with its JSON log lines
// captured, free ports, and a private redis-server that a test may kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { BIN, ROOT, runCli } from './cli.js';
import { registerChampion } from './servable.js';
import { tempDir } from './stores.js';

export interface ServableStore {
  dir: string;
  /** The --store value. */
  store: string;
  keys: { predictor: string; predictor2: string; admin: string };
  cli(args: string[]): ReturnType<typeof runCli>;
}

/** A SQLite store with E0 2017-2020 collected, Dixon–Coles trained up to 2019-06-30 and registered as oracx-e0@champion. */
export async function servableStore(): Promise<ServableStore> {
  const dir = tempDir('oracx-obs-');
  const store = path.join(dir, 'store.db');
  const cli = (args: string[]) => runCli([...args, '--store', store], { cwd: dir, env: { ORACX_ACTOR: 'obs-test' } });
  const ok = async (args: string[]) => {
    const r = await cli(args);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  await registerChampion(cli);
  const key = async (role: string, name: string) =>
    (await ok(['auth', 'keys', 'create', '--role', role, '--name', name, '--json'])).json<{ key: string }>().key;
  return { dir, store, cli, keys: { predictor: await key('predictor', 'p1'), predictor2: await key('predictor', 'p2'), admin: await key('admin', 'a1') } };
}

/** A port nothing listens on (it was free a moment ago). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything written to stderr and stdout so far. */
  output(): string;
  /** The JSON log lines so far. */
  logs(): LogLine[];
  /** Resolves with the first log line (already written or coming) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Spawns `oracx serve --model oracx-e0@champion --port 0 …` on the store; resolves once it listens. */
export async function spawnServe(fixture: ServableStore, args: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const argv = [BIN, 'serve', '--model', 'oracx-e0@champion', '--port', '0', '--store', fixture.store, '--log-format', 'json', ...args];
  const child = spawn(process.execPath, argv, { cwd: fixture.dir, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  const lines: LogLine[] = [];
  const watchers = new Set<(line: LogLine) => void>();
  let partial = '';
  const onData = (d: Buffer) => {
    const chunk = d.toString('utf8');
    text += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      try {
        const line = JSON.parse(p) as LogLine;
        lines.push(line);
        for (const w of watchers) w(line);
      } catch {
        // not a log line
      }
    }
  };
  child.stderr!.on('data', onData);
  child.stdout!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 30_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const found = lines.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${text}`));
      }, timeoutMs);
      const w = (line: LogLine) => {
        if (!match(line)) return;
        clearTimeout(timer);
        watchers.delete(w);
        resolve(line);
      };
      watchers.add(w);
      void exited.then(() => {
        if (!watchers.has(w)) return;
        clearTimeout(timer);
        watchers.delete(w);
        reject(new Error(`oracx serve exited; output:\n${text}`));
      });
    });
  const listening = await waitForLog((l) => l.message.startsWith('oracx serve: listening on'), 60_000);
  const url = /listening on (https?:\/\/[^\s]+)/.exec(listening.message)![1]!;
  return {
    url,
    child,
    output: () => text,
    logs: () => lines,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL (no shutdown, no save). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

/** A redis-server of the test's own on a free port, nothing persisted; killed at process exit. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      cwd: tempDir('oracx-redis-'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(c);
    c.on('exit', () => running.delete(c));
    child = c;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${out}`)), 10_000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/i.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited:\n${out}`));
      });
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
    restart: start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
  };
}

/** fetch with a bearer key. */
export function call(url: string, key: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(url, { ...init, headers });
}

/** A pairing the served model can forecast (after the store's latest result, 2020-07-26). */
export const PAIRING = { competition: 'E0', home: 'Arsenal', away: 'Chelsea', date: '2020-09-12' };

/** Parses Prometheus text exposition into series → value ("name{a="x",b="y"}" with labels sorted). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = m[3] ? [...m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort() : [];
    out.set(`${m[1]}${labels.length ? `{${labels.join(',')}}` : ''}`, Number(m[4]));
  }
  return out;
}

export { ROOT };
