/**
 * What the serve benchmarks share: a servable store built through the CLI (collect, train, register, API keys), the
 * pairings requests cycle through with their feature vectors, server processes started and stopped gracefully, the
 * load generator (bench/serve-load.mjs, a process of its own) and the checks on stored predictions.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { BenchError, ROOT, fromDist } from './lib.mjs';

export { freePort } from './mlflow-server.mjs';

const BIN = path.join(ROOT, 'bin', 'oracx.js');
const LOAD = path.join(ROOT, 'bench', 'serve-load.mjs');
export const FULL_FIXTURES = path.join(ROOT, 'fixtures', 'football-data', 'full');

/** The load generator's settings, shared by every contender (ORACX_BENCH_* to change them). */
export const LOAD_SETTINGS = {
  connections: Number(process.env.ORACX_BENCH_CONNECTIONS ?? 50),
  pipelining: Number(process.env.ORACX_BENCH_PIPELINING ?? 1),
  warmupSeconds: Number(process.env.ORACX_BENCH_WARMUP ?? 5),
};

/** "1-min load 2.31" (for the lines printed as a benchmark goes). */
export const load1 = () => `load ${loadavg()[0].toFixed(2)}`;

/** Runs a command to completion; resolves with its stdout; stderr is kept for the error message. */
export function exec(cmd, args, { cwd = ROOT, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', (e) => reject(new BenchError(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-8).join('\n');
      reject(new BenchError(`${path.basename(cmd)} ${args.join(' ')} exited with ${code}:\n${tail}`));
    });
  });
}

/** `oracx ARGS --store STORE` through bin/oracx.js, as a user runs it. */
export const oracx = (store, args, options) => exec(process.execPath, [BIN, '--store', store, '--log-format', 'json', ...args], options);

/**
 * A servable store: the bundled E0 fixtures (2017-18 to 2019-20) collected, logreg on core@1 trained and registered
 * as oracx-e0@champion (in MLflow when env has MLFLOW_TRACKING_URI), a predictor and an admin API key, and the
 * registered package pulled to `<dir>/package` (model.onnx is what the Python baseline serves).
 */
export async function buildServableStore(dir, env = process.env) {
  const store = path.join(dir, 'base.db');
  const options = { cwd: dir, env: { ...env, ORACX_ACTOR: 'bench' } };
  await oracx(store, ['collect', 'football-data', FULL_FIXTURES, '-q'], options);
  const { runId } = JSON.parse(
    await oracx(store, ['train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--param', 'l2=10', '--json'], options),
  );
  await oracx(store, ['register', '--run', String(runId), '--name', 'oracx-e0', '--alias', 'champion', '-q'], options);
  const predictorKey = (await oracx(store, ['auth', 'keys', 'create', '--role', 'predictor', '--name', 'bench'], options)).trim();
  const adminKey = (await oracx(store, ['auth', 'keys', 'create', '--role', 'admin', '--name', 'bench-admin'], options)).trim();
  const pkg = path.join(dir, 'package');
  await oracx(store, ['models', 'pull', 'oracx-e0@champion', '--out', pkg, '-q'], options);
  return { store, runId, predictorKey, adminKey, onnx: path.join(pkg, 'model.onnx') };
}

/** A copy of a SQLite store (VACUUM INTO: consistent, no WAL to carry along). */
export async function copyStore(from, to) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(from, { readonly: true });
  try {
    db.prepare('VACUUM INTO ?').run(to);
  } finally {
    db.close();
  }
}

/** Rows of the predictions table of a SQLite store. */
export async function countPredictions(file) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('select count(*) as n from predictions').get().n;
  } finally {
    db.close();
  }
}

const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * The fixed list requests cycle through: every ordered pairing of the latest season's teams (380 for E0), ten a day
 * from a week after the latest result, as a fixture list would have them; with each one's feature vector as oracx
 * computes it (columns in the order of the model's features input) for the baselines that read precomputed vectors.
 */
export async function pairingList(storeFile, onnxFile) {
  const { openStore } = await fromDist('src/store/connect.js');
  const { openPredictor } = await fromDist('pipelines/predict-run.js');
  const { parseFeatureSetRef } = await fromDist('src/ml/features/registry.js');
  const { readOnnxMetadata } = await fromDist('src/onnx/metadata.js');
  const { mulberry32 } = await fromDist('src/ml/random.js');
  const metadata = readOnnxMetadata(new Uint8Array(readFileSync(onnxFile)));
  const store = await openStore(storeFile);
  try {
    const predictor = await openPredictor(store, { definition: parseFeatureSetRef(metadata.featureSet) });
    const frontier = predictor.features.frontier;
    const latest = await store.db
      .selectFrom('matches as m')
      .innerJoin('competitions as c', 'c.id', 'm.competition_id')
      .innerJoin('teams as t', 't.id', 'm.home_team_id')
      .select(['c.code', 'm.season', 't.name'])
      .distinct()
      .where('c.code', '=', 'E0')
      .orderBy('m.season', 'desc')
      .execute();
    const season = latest[0].season;
    const teams = latest
      .filter((r) => r.season === season)
      .map((r) => r.name)
      .sort();
    const names = [...predictor.features.names];
    const columns = metadata.featureNames.map((n) => {
      const i = names.indexOf(n);
      if (i < 0) throw new BenchError(`the model reads ${n}, which the feature state does not have`);
      return i;
    });
    const pairings = [];
    for (const home of teams) for (const away of teams) if (home !== away) pairings.push({ competition: 'E0', home, away });
    // A seeded shuffle, so that consecutive requests (and the ones a server batches together) name different teams.
    const rng = mulberry32(9);
    for (let i = pairings.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [pairings[i], pairings[j]] = [pairings[j], pairings[i]];
    }
    return {
      frontier,
      season,
      teams,
      featureNames: metadata.featureNames,
      pairings: pairings.map((p, i) => {
        const request = { ...p, date: addDays(frontier, 7 + Math.floor(i / 10)) };
        const vector = predictor.prepare(request).vector;
        return {
          request,
          body: JSON.stringify(request),
          key: `${request.competition}|${request.home}|${request.away}|${request.date}`,
          features: columns.map((c) => vector[c]),
        };
      }),
    };
  } finally {
    await store.close();
  }
}

/**
 * Spawns a server in a process group of its own (so uvicorn's workers go with it), its output to `log`. Resolves
 * once `ready()` answers true; stop() sends SIGTERM to the group, waits (SIGKILL after `graceMs`) and resolves with
 * the exit code.
 */
export async function startServer({ name, cmd, args, env = process.env, cwd = ROOT, log, ready, timeoutMs = 120_000 }) {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exit = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (error) => {
      exit = { code: null, signal: null, error };
      resolve(exit);
    });
  });
  const signalGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  const tail = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-12).join('\n') : '(no log)');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit) throw new BenchError(`${name} exited (${exit.code ?? exit.signal ?? exit.error?.message}) before it was ready; log ${log}:\n${tail()}`);
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      signalGroup('SIGKILL');
      throw new BenchError(`${name} was not ready within ${timeoutMs / 1000} s; log ${log}:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pid: child.pid,
    log,
    tail,
    async stop(graceMs = 60_000) {
      if (!exit) {
        signalGroup('SIGTERM');
        const timer = new Promise((r) => setTimeout(r, graceMs, 'timeout'));
        if ((await Promise.race([exited, timer])) === 'timeout') signalGroup('SIGKILL');
      }
      const result = await exited;
      signalGroup('SIGKILL');
      return result;
    },
  };
}

/** POSTs a JSON body; resolves with { status, body } (body parsed when JSON). */
export async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/** GETs a JSON document; null unless 200. */
export async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) {
    await res.arrayBuffer();
    return null;
  }
  return res.json();
}

/**
 * One autocannon run in its own process (bench/serve-load.mjs). `bodies` are the JSON bodies sent in turn.
 * Resolves with its counts, latencies and req/s = 2xx responses / run time.
 */
export async function runLoad(
  tmpDir,
  { url, duration, headers, bodies, overallRate, connections = LOAD_SETTINGS.connections, pipelining = LOAD_SETTINGS.pipelining },
) {
  const config = path.join(tmpDir, `load-${process.pid}-${Date.now()}.json`);
  await writeFile(
    config,
    JSON.stringify({ url, duration, headers: { 'content-type': 'application/json', ...headers }, bodies, overallRate, connections, pipelining }),
  );
  const out = await exec(process.execPath, [LOAD, config]);
  const r = JSON.parse(out.trim().split('\n').at(-1));
  const seconds = (Date.parse(r.finish) - Date.parse(r.start)) / 1000;
  return { ...r, seconds, rps: r.ok / seconds };
}

/** Resident set size of a process in bytes (VmRSS), or null when it is gone. */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) used so far by the live processes of a process group (clock ticks of 10 ms). */
export function groupCpuMs(pgid) {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks * 10;
}

/** A Python venv under bench/ created from a pinned requirements file when missing or incomplete; resolves with its python. */
export async function ensureVenv(name, requirements, probe) {
  const venv = path.join(ROOT, 'bench', name);
  const python = path.join(venv, 'bin', 'python');
  const ok =
    existsSync(python) &&
    (await exec(python, ['-c', probe]).then(
      () => true,
      () => false,
    ));
  if (ok) return python;
  process.stderr.write(`setting up bench/${name} from ${path.relative(ROOT, requirements)}\n`);
  if (!existsSync(python)) await exec(process.env.ORACX_PYTHON ?? 'python3', ['-m', 'venv', venv]);
  await exec(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements]);
  return python;
}
