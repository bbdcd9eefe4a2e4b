/**
 * serve: `oracx serve` answering POST /v1/predict by pairing against three baselines on the same machine, under the
 * same load, in one run. Every contender is a process of its own, started, warmed up, loaded for a fixed time by
 * autocannon (bench/serve-load.mjs, another process) and stopped; the contenders take turns in rotating order over
 * several rounds, and the medians are compared.
 *
 * - oracx (headline): store on SQLite, cache off (every request is a feature lookup, an ORT run in a micro-batch and a
 *   queued store write), access log off; also with the cache on, and with the access log on (to a file).
 * - bare Fastify 5: a constant forecast with oracx's body parsing and schemas (goal: oracx ≥ 0.85× its req/s).
 * - FastAPI + uvicorn + onnxruntime: the same ONNX file, precomputed vectors by pairing, one session.run per request;
 *   the better of 1 and 2 uvicorn workers (goal: oracx ≥ 10×).
 * - `mlflow models serve` of the same registered version, sent the pairing's feature row as a tensor (goal ≥ 25×).
 *
 * Requests cycle through the 380 pairings of the latest season. After each oracx run (stopped with SIGTERM, which
 * writes every queued prediction) the stored rows are counted against the 2xx answers: none may be missing.
 */
import { writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { ensurePythonEnv } from '../scripts/setup-python.mjs';
import { BenchError, ROOT, fixed, fromDist, int, median, msSince, table, tempDir, verdict } from './lib.mjs';
import { startMlflowServer } from './mlflow-server.mjs';
import {
  LOAD_SETTINGS,
  buildServableStore,
  copyStore,
  countPredictions,
  ensureVenv,
  freePort,
  getJson,
  groupCpuMs,
  load1,
  pairingList,
  post,
  runLoad,
  startServer,
} from './serve-lib.mjs';

/** Limits far above any load the bench sends: the limiters run on every request (their cost is measured) but never refuse. */
const UNLIMITED = ['--rate-limit', '100000000/min', '--ip-rate-limit', '100000000/min'];

export const description = 'oracx serve /v1/predict vs bare Fastify (≥ 0.85×), FastAPI + ORT (≥ 10×) and mlflow models serve (≥ 25×); every 2xx stored';

const ROUNDS = Math.max(1, Number(process.env.ORACX_BENCH_ROUNDS ?? 3));
const SECONDS = Math.max(1, Number(process.env.ORACX_BENCH_SECONDS ?? 20));
const GOALS = { fastify: 0.85, fastapi: 10, mlflow: 25 };
const PROB_TOLERANCE = 1e-5;
const PYTHON_ENV = { MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1', PYTHONUNBUFFERED: '1' };

/** The model's probabilities for one feature row, computed here with OnnxScorer: what every contender must answer. */
async function referenceProbs(onnxFile, features) {
  const { OnnxScorer } = await fromDist('src/onnx/index.js');
  const { Tensor } = await import('onnxruntime-node');
  const scorer = await OnnxScorer.create(onnxFile);
  try {
    const p = await scorer.score({ features: new Tensor('float32', Float32Array.from(features), [1, features.length]) });
    return [p[0], p[1], p[2]];
  } finally {
    await scorer.release();
  }
}

function sameProbs(got, want) {
  return got.length === 3 && got.every((v, i) => Number.isFinite(v) && Math.abs(v - want[i]) <= PROB_TOLERANCE);
}

/** The contenders: how each is started, what it is sent and how its answer to the probe is checked. */
function contenders(ctx) {
  const { base, list, mlflowEnv, servePython, vectorsFile, constantFile } = ctx;
  const pairingBodies = list.pairings.map((p) => p.body);
  const probe = list.pairings[0];
  const auth = { authorization: `Bearer ${base.predictorKey}` };
  const oracxProbs = (b) => [b?.probabilities?.home, b?.probabilities?.draw, b?.probabilities?.away];
  const oracxServer = (id, label, flags) => ({
    id,
    label,
    oracx: true,
    path: '/v1/predict',
    headers: auth,
    bodies: pairingBodies,
    probeBody: probe.body,
    probs: oracxProbs,
    start: ({ port, log, store }) => ({
      cmd: process.execPath,
      args: [
        path.join(ROOT, 'bin', 'oracx.js'),
        '--store',
        store,
        '--log-format',
        'json',
        'serve',
        '--model',
        'oracx-e0@champion',
        '--port',
        String(port),
        ...UNLIMITED,
        ...flags,
      ],
      env: mlflowEnv,
      cwd: ctx.dir,
      log,
    }),
  });
  // The goal's baseline runs uvicorn's fastest stack (uvloop, httptools: what uvicorn[standard] installs) and a
  // coroutine endpoint; `plain` is FastAPI's tutorial style on uvicorn's pure-Python h11/asyncio, for information.
  const fastapi = (workers, plain = false) => ({
    id: plain ? 'fastapi-plain' : `fastapi-${workers}`,
    label: plain ? 'FastAPI, def endpoint, uvicorn h11/asyncio, 1 worker' : `FastAPI + uvicorn, ${workers} worker${workers > 1 ? 's' : ''}`,
    path: '/v1/predict',
    headers: auth,
    bodies: pairingBodies,
    probeBody: probe.body,
    probs: oracxProbs,
    start: ({ port, log }) => ({
      cmd: servePython,
      args: [
        '-m',
        'uvicorn',
        'serve_fastapi:app',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--workers',
        String(workers),
        '--loop',
        plain ? 'asyncio' : 'uvloop',
        '--http',
        plain ? 'h11' : 'httptools',
        '--no-access-log',
        '--log-level',
        'warning',
      ],
      env: { ...process.env, ...PYTHON_ENV, ORACX_BENCH_ONNX: base.onnx, ORACX_BENCH_VECTORS: vectorsFile, ORACX_BENCH_SYNC: plain ? '1' : '0' },
      cwd: path.join(ROOT, 'bench'),
      log,
    }),
  });
  const mlflowBin = path.join(path.dirname(ctx.mlflowPython), 'mlflow');
  return [
    oracxServer('oracx', 'oracx, cache off, access log off', ['--cache-ttl', '0', '--no-access-log']),
    oracxServer('oracx-cache', 'oracx, cache on (5m), access log off', ['--no-access-log']),
    oracxServer('oracx-log', 'oracx, cache off, access log on (to a file)', ['--cache-ttl', '0']),
    oracxServer('oracx-2', 'oracx, cache off, access log off, --workers 2', ['--cache-ttl', '0', '--no-access-log', '--workers', '2']),
    {
      id: 'fastify',
      label: 'bare Fastify 5, constant forecast',
      path: '/v1/predict',
      headers: auth,
      bodies: pairingBodies,
      probeBody: probe.body,
      probs: null,
      start: ({ port, log }) => ({ cmd: process.execPath, args: [path.join(ROOT, 'bench', 'serve-fastify.mjs'), String(port), constantFile], log }),
    },
    fastapi(1),
    fastapi(2),
    fastapi(1, true),
    {
      id: 'mlflow',
      label: 'mlflow models serve (--env-manager local)',
      path: '/invocations',
      headers: {},
      bodies: list.pairings.map((p) => JSON.stringify({ inputs: [p.features] })),
      probeBody: JSON.stringify({ inputs: [probe.features] }),
      probs: (b) => {
        const rows = Array.isArray(b?.predictions) ? b.predictions : b?.predictions?.probs;
        return Array.isArray(rows?.[0]) ? rows[0] : [];
      },
      start: ({ port, log }) => ({
        cmd: mlflowBin,
        args: ['models', 'serve', '-m', 'models:/oracx-e0@champion', '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(port)],
        // As in an activated venv: the scoring server starts uvicorn from PATH.
        env: { ...mlflowEnv, ...PYTHON_ENV, PATH: `${path.dirname(mlflowBin)}${path.delimiter}${process.env.PATH ?? ''}` },
        cwd: ctx.dir,
        log,
      }),
    },
  ];
}

/** Samples oracx's sink (GET /health/detailed) every second while a load runs. */
function sinkSampler(url, adminKey) {
  const samples = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      const d = await getJson(`${url}/health/detailed`, { authorization: `Bearer ${adminKey}` }).catch(() => null);
      if (d) samples.push({ t, queued: d.predictionsQueued, written: d.predictionsWritten });
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    if (samples.length < 2) return null;
    const first = samples[0];
    const last = samples.at(-1);
    return {
      maxQueued: Math.max(...samples.map((s) => s.queued)),
      meanQueued: samples.reduce((a, s) => a + s.queued, 0) / samples.length,
      writtenPerSec: (last.written - first.written) / ((last.t - first.t) / 1000),
    };
  };
}

/** One contender: started, probed, warmed up, measured, stopped; for oracx, its stored predictions counted. */
async function measure(ctx, c, round) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(ctx.dir, `${c.id}-${round}.log`);
  const store = c.oracx ? path.join(ctx.dir, `${c.id}-${round}.db`) : null;
  if (store) await copyStore(ctx.base.store, store);
  let answer = null;
  const started = process.hrtime.bigint();
  const server = await startServer({
    name: c.label,
    ...c.start({ port, log, store }),
    ready: async () => {
      answer = await post(url + c.path, c.probeBody, c.headers);
      return true;
    },
  });
  const startupMs = msSince(started);
  let ok2xx = answer.status === 200 ? 1 : 0;
  let inFlightBound = 0;
  try {
    if (answer.status !== 200) throw new BenchError(`${c.label} answered the probe with ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    if (c.probs && !sameProbs(c.probs(answer.body), ctx.want)) {
      throw new BenchError(
        `${c.label} answered the probe with ${JSON.stringify(c.probs(answer.body))}, expected ${JSON.stringify(ctx.want)} (±${PROB_TOLERANCE})`,
      );
    }
    const target = { url: url + c.path, headers: c.headers, bodies: c.bodies };
    const warm = await runLoad(ctx.dir, { ...target, duration: LOAD_SETTINGS.warmupSeconds });
    const stopSampler = c.oracx ? sinkSampler(url, ctx.base.adminKey) : null;
    const cpu0 = groupCpuMs(server.pid);
    const r = await runLoad(ctx.dir, { ...target, duration: SECONDS });
    const cpuUsPerRequest = ((groupCpuMs(server.pid) - cpu0) * 1000) / r.ok;
    const sink = stopSampler ? await stopSampler() : null;
    ok2xx += warm.ok + r.ok;
    inFlightBound = (warm.connections + r.connections) * LOAD_SETTINGS.pipelining;
    const problems = warm.non2xx + warm.errors + r.non2xx + r.errors;
    const exit = await server.stop();
    const result = { ...r, startupMs, sink, problems, exit, cpuUsPerRequest, load: loadavg()[0] };
    if (store) {
      const rows = await countPredictions(store);
      result.stored = { rows, ok2xx, inFlightBound, ok: exit.code === 0 && rows >= ok2xx && rows <= ok2xx + inFlightBound };
      if (c.id !== 'oracx' || round !== ROUNDS - 1) rmSync(store, { force: true });
      else ctx.lastHeadlineStore = store;
    }
    process.stderr.write(
      `  [round ${round + 1}] ${c.label}: ${int(r.rps)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, server CPU ${fixed(cpuUsPerRequest)} µs/request, ${problems} non-2xx/errors${result.stored ? `, stored ${int(result.stored.rows)} / 2xx ${int(ok2xx)}` : ''} (${load1()})\n`,
    );
    return result;
  } catch (error) {
    await server.stop(5_000);
    throw error;
  }
}

/**
 * The sink's capacity: the rows of the last headline run queued at once into a PredictionSink (the service's, with
 * its settings: 500 rows per write) on a copy of the store, and drained; nothing else runs meanwhile.
 */
async function sinkCapacity(ctx) {
  const { openStore } = await fromDist('src/store/connect.js');
  const { PredictionSink } = await fromDist('src/server/runtime/sink.js');
  const { silentLogger } = await fromDist('src/logger.js');
  const { default: Database } = await import('better-sqlite3');
  const source = new Database(ctx.lastHeadlineStore, { readonly: true });
  const rows = source
    .prepare(
      'select match_id, competition, season, date, home_team_id, away_team_id, model_name, model_version, model_alias, model_run, model_uri, variant, feature_set, inputs_hash, p_home, p_draw, p_away, source, principal, request_id from predictions order by id limit 100000',
    )
    .all();
  source.close();
  const file = path.join(ctx.dir, 'sink-capacity.db');
  await copyStore(ctx.base.store, file);
  const store = await openStore(file);
  try {
    const sink = new PredictionSink(store, { batchRows: 500, intervalMs: 100, maxQueued: rows.length, logger: silentLogger });
    const start = process.hrtime.bigint();
    sink.push(rows);
    await sink.close();
    const ms = msSince(start);
    if (sink.written !== rows.length) throw new BenchError(`the sink wrote ${sink.written} of ${rows.length} rows`);
    return { rows: rows.length, perSec: rows.length / (ms / 1000) };
  } finally {
    await store.close();
  }
}

export async function run() {
  let mlflowPython;
  try {
    mlflowPython = ensurePythonEnv({ quiet: true });
  } catch (error) {
    throw new BenchError(`the Python venv with MLflow is needed (npm run setup:python): ${error.message}`);
  }
  const servePython = await ensureVenv(
    '.venv-serve',
    path.join(ROOT, 'bench', 'requirements-serve.txt'),
    'import fastapi, uvicorn, uvloop, httptools, onnxruntime, numpy',
  );
  const tmp = await tempDir('oracx-bench-serve-');
  const mlflow = await startMlflowServer({ python: mlflowPython });
  try {
    console.log(`serve: ${description}`);
    console.log(`  machine  : ${availableParallelism()} CPUs, 1-min load average at start ${loadavg()[0].toFixed(2)}`);
    const mlflowEnv = { ...process.env, ...PYTHON_ENV, MLFLOW_TRACKING_URI: mlflow.url };
    const setupStart = process.hrtime.bigint();
    const base = await buildServableStore(tmp.dir, mlflowEnv);
    const list = await pairingList(base.store, base.onnx);
    const probe = list.pairings[0];
    const want = await referenceProbs(base.onnx, probe.features);
    const vectorsFile = path.join(tmp.dir, 'vectors.json');
    await writeFile(vectorsFile, JSON.stringify(Object.fromEntries(list.pairings.map((p) => [p.key, p.features]))));
    console.log(
      `  store    : bundled E0 fixtures ${path.basename(path.dirname(base.store))}, logreg on core@1 (run ${base.runId}) registered in MLflow as oracx-e0@champion (${fixed(msSince(setupStart) / 1000)} s to set up)`,
    );
    console.log(
      `  requests : ${list.pairings.length} pairings of E0 ${list.season}'s ${list.teams.length} teams, dated ${list.pairings[0].request.date}…${list.pairings.at(-1).request.date} (latest result ${list.frontier}), sent in turn; ${list.featureNames.length} features`,
    );
    console.log(
      `  load     : autocannon 8, ${LOAD_SETTINGS.connections} connections, pipelining ${LOAD_SETTINGS.pipelining}, ${LOAD_SETTINGS.warmupSeconds} s warm-up then ${SECONDS} s measured, in its own process; ${ROUNDS} round(s), order rotating\n`,
    );

    const ctx = { dir: tmp.dir, base, list, want, mlflowEnv, mlflowPython, servePython, vectorsFile, constantFile: path.join(tmp.dir, 'constant.json') };
    // The constant the Fastify baseline returns: oracx's own answer to the probe.
    const all = contenders(ctx);
    const results = Object.fromEntries(all.map((c) => [c.id, []]));
    {
      const first = await measureConstant(ctx, all[0]);
      await writeFile(ctx.constantFile, JSON.stringify(first));
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < all.length; k++) {
        const c = all[(round + k) % all.length];
        results[c.id].push(await measure(ctx, c, round));
      }
    }

    const rows = [];
    const med = {};
    for (const c of all) {
      const rs = results[c.id];
      med[c.id] = {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.latency.p50)),
        p99: median(rs.map((r) => r.latency.p99)),
        cpu: median(rs.map((r) => r.cpuUsPerRequest)),
      };
      rows.push([
        c.label,
        rs.map((r) => int(r.rps)).join(' / '),
        int(med[c.id].rps),
        fixed(med[c.id].p50),
        fixed(med[c.id].p99),
        fixed(med[c.id].cpu),
        String(rs.reduce((a, r) => a + r.problems, 0)),
        fixed(median(rs.map((r) => r.startupMs)) / 1000),
      ]);
    }
    console.log('');
    table(['contender', 'req/s per round', 'median req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'non-2xx + errors', 'start s'], rows);
    console.log("  (server CPU: user + system time of the server's process group during the measured run, per 2xx answer; median of the rounds)");

    // Stored predictions against 2xx answers, and the sink while it worked.
    console.log('\n  stored predictions (counted after a SIGTERM stop) against 2xx answers (warm-up + measured + probe):');
    const storeRows = [];
    let storedOk = true;
    for (const c of all.filter((x) => x.oracx)) {
      results[c.id].forEach((r, i) => {
        storedOk &&= r.stored.ok && r.problems === 0;
        storeRows.push([
          `${c.label}, round ${i + 1}`,
          int(r.stored.rows),
          int(r.stored.ok2xx),
          String(r.stored.rows - r.stored.ok2xx),
          String(r.exit.code ?? r.exit.signal),
          r.sink ? int(r.sink.writtenPerSec) : '—',
          r.sink ? int(r.sink.maxQueued) : '—',
          r.stored.ok ? 'ok' : 'MISMATCH',
        ]);
      });
    }
    table(
      [
        'run',
        'rows stored',
        '2xx',
        `rows − 2xx (≤ ${LOAD_SETTINGS.connections * 2 * LOAD_SETTINGS.pipelining} in flight at stops)`,
        'exit',
        'sink rows/s',
        'max queued',
        '',
      ],
      storeRows,
    );
    const capacity = await sinkCapacity(ctx);
    const peak = Math.max(...all.filter((x) => x.oracx).flatMap((c) => results[c.id].map((r) => r.rps)));
    console.log(
      `\n  sink capacity: ${int(capacity.perSec)} rows/s (${int(capacity.rows)} stored rows queued at once into a PredictionSink on a copy of the store and drained, 500 per write; nothing else running) = ${fixed(capacity.perSec / peak)} × the highest oracx rate served (${int(peak)} req/s)`,
    );

    const fastapiBest = med['fastapi-1'].rps >= med['fastapi-2'].rps ? 'fastapi-1' : 'fastapi-2';
    const o = med.oracx;
    const line = (id) => `${int(med[id].rps)} req/s (p50 ${fixed(med[id].p50)} ms, p99 ${fixed(med[id].p99)} ms)`;
    console.log(
      `\n  information: oracx with the cache on ${line('oracx-cache')} = ${fixed(med['oracx-cache'].rps / o.rps)} × cache off; with the access log on ${line('oracx-log')} = ${fixed(med['oracx-log'].rps / o.rps)} × without`,
    );
    console.log(
      `  information: oracx --workers 2 (node:cluster, as FastAPI gets its better of 1 and 2 workers) ${line('oracx-2')} = ${fixed(med['oracx-2'].rps / o.rps)} × one process; ${fixed(med['oracx-2'].rps / med[fastapiBest].rps)} × the FastAPI baseline, ${fixed(med['oracx-2'].rps / med.mlflow.rps)} × mlflow models serve`,
    );
    console.log(
      `  information: FastAPI in its tutorial style (def endpoint, uvicorn's pure-Python h11/asyncio, 1 worker) ${line('fastapi-plain')}: oracx = ${fixed(o.rps / med['fastapi-plain'].rps)} × that`,
    );
    const verdicts = [
      verdict({
        name: 'serve vs bare Fastify',
        measured: `oracx /v1/predict, cache off: median ${line('oracx')}`,
        baseline: `bare Fastify 5 constant route: ${line('fastify')}`,
        ratio: `${fixed(o.rps / med.fastify.rps)} × its req/s`,
        goal: `≥ ${GOALS.fastify} ×`,
        pass: o.rps / med.fastify.rps >= GOALS.fastify,
      }),
      verdict({
        name: 'serve vs FastAPI + ORT',
        measured: `oracx: ${line('oracx')}`,
        baseline: `FastAPI + uvicorn + onnxruntime, the better of 1 and 2 workers (${fastapiBest.slice(-1)}; 1: ${int(med['fastapi-1'].rps)}, 2: ${int(med['fastapi-2'].rps)} req/s): ${line(fastapiBest)}`,
        ratio: `${fixed(o.rps / med[fastapiBest].rps)} ×`,
        goal: `≥ ${GOALS.fastapi} ×`,
        pass: o.rps / med[fastapiBest].rps >= GOALS.fastapi,
      }),
      verdict({
        name: 'serve vs mlflow models serve',
        measured: `oracx: ${line('oracx')}`,
        baseline: `mlflow models serve: ${line('mlflow')}`,
        ratio: `${fixed(o.rps / med.mlflow.rps)} ×`,
        goal: `≥ ${GOALS.mlflow} ×`,
        pass: o.rps / med.mlflow.rps >= GOALS.mlflow,
      }),
      verdict({
        name: 'serve: every prediction stored',
        measured: `${storeRows.length} oracx runs: stored rows between 2xx and 2xx + requests in flight when the generator stopped; no non-2xx, no socket errors; exit 0 after SIGTERM`,
        ratio: `sink capacity ${fixed(capacity.perSec / peak)} × the peak served rate`,
        goal: 'no 2xx answer without its stored row',
        pass: storedOk,
      }),
    ];
    return verdicts.every(Boolean);
  } finally {
    await mlflow.stop();
    await tmp.cleanup();
  }
}

/** oracx's answer to the probe (the bare Fastify baseline sends it back as its constant). */
async function measureConstant(ctx, oracxContender) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const store = path.join(ctx.dir, 'constant.db');
  await copyStore(ctx.base.store, store);
  let answer = null;
  const server = await startServer({
    name: oracxContender.label,
    ...oracxContender.start({ port, log: path.join(ctx.dir, 'constant.log'), store }),
    ready: async () => {
      answer = await post(url + oracxContender.path, oracxContender.probeBody, oracxContender.headers);
      return true;
    },
  });
  await server.stop();
  if (answer.status !== 200) throw new BenchError(`oracx answered the probe with ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
  if (!sameProbs(oracxContender.probs(answer.body), ctx.want))
    throw new BenchError(`oracx's forecast ${JSON.stringify(answer.body.probabilities)} differs from the model on the same vector ${JSON.stringify(ctx.want)}`);
  return answer.body;
}
