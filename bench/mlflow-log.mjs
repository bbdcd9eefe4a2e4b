/**
 * mlflow-log: 10,000 metric points (10 keys × 1,000 steps) and 200 params logged to one MLflow server by oracx's
 * MlflowClient.logBatch and by MLflow's Python client (MlflowClient.log_batch, synchronous and asynchronous), on fresh
 * runs, interleaved in rotating order. Only the logging call is timed on both sides; every run is then checked to hold
 * all its data. The baseline is the faster of the two Python modes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensurePythonEnv } from '../scripts/setup-python.mjs';
import { BenchError, ROOT, fixed, fromDist, median, msSince, table, verdict } from './lib.mjs';
import { startMlflowServer } from './mlflow-server.mjs';

export const description = 'oracx logBatch vs MLflow Python log_batch: 10,000 metric points + 200 params (ratio ≥ 1.0)';

const GOAL = 1.0;
const REPS = Math.max(3, Number(process.env.ORACX_BENCH_RUNS ?? 5));
const T0 = 1_700_000_000_000;
const KEYS = 10;
const STEPS = 1000;
const PARAMS = 200;
const SCRIPT = path.join(ROOT, 'bench', 'mlflow_log.py');
const PYTHON_ENV = { ...process.env, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1' };

/** The same points the Python script builds. */
function data() {
  const metrics = [];
  for (let k = 0; k < KEYS; k++) {
    for (let s = 0; s < STEPS; s++) metrics.push({ key: `m${k}`, value: Math.sin(k * STEPS + s), timestamp: T0 + s, step: s });
  }
  const params = Array.from({ length: PARAMS }, (_, i) => ({ key: `p${i}`, value: `value-${i}` }));
  return { metrics, params };
}

function runPython(python, url, experimentId, mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [SCRIPT, url, experimentId, mode], { cwd: ROOT, env: PYTHON_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', (e) => reject(new BenchError(`cannot run ${python}: ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new BenchError(`mlflow_log.py ${mode} exited ${code}: ${Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n')}`));
      const line = Buffer.concat(out).toString().trim().split('\n').at(-1) ?? '';
      try {
        const { ms, run_id: runId } = JSON.parse(line);
        resolve({ ms, runId });
      } catch {
        reject(new BenchError(`mlflow_log.py ${mode} printed no result: ${line.slice(0, 200)}`));
      }
    });
  });
}

async function runOracx(MlflowClient, settings, experimentId, batch) {
  const client = new MlflowClient(settings);
  const { runId } = await client.createRun({ experimentId, runName: 'oracx' });
  // Warm, like the Python side: connection open, code paths compiled.
  await client.logBatch(runId, { params: [{ key: 'warmup', value: '1' }] });
  const start = process.hrtime.bigint();
  await client.logBatch(runId, batch);
  const ms = msSince(start);
  await client.updateRun(runId, { status: 'FINISHED' });
  return { ms, runId };
}

/** Throws unless the run holds every point and param the benchmark logged. */
async function verify(client, runId, who) {
  const run = await client.getRun(runId);
  const params = run.data.params.filter((p) => p.key !== 'warmup').length;
  if (params !== PARAMS) throw new BenchError(`${who} run ${runId} has ${params} params, expected ${PARAMS}`);
  for (let k = 0; k < KEYS; k++) {
    const n = (await client.getMetricHistory(runId, `m${k}`)).length;
    if (n !== STEPS) throw new BenchError(`${who} run ${runId} has ${n} points of m${k}, expected ${STEPS}`);
  }
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  let python;
  try {
    python = ensurePythonEnv({ quiet: true });
  } catch (error) {
    throw new BenchError(`the Python venv with MLflow is needed (npm run setup:python): ${error.message}`);
  }
  const { MlflowClient } = await fromDist('src/mlflow/client.js');
  const server = await startMlflowServer({ python });
  try {
    const settings = { trackingUri: server.url, insecureTls: false, timeoutMs: 120_000, maxRetries: 0 };
    const admin = new MlflowClient(settings);
    const version = await admin.checkServerVersion();
    const experimentId = await admin.getOrCreateExperiment('bench-mlflow-log');
    console.log(`mlflow-log: ${description}`);
    console.log(`  server   : MLflow ${version}, SQLite backend, 1 worker, on 127.0.0.1 (started in ${fixed(server.startupMs / 1000)} s)`);
    console.log(
      `  data     : ${KEYS * STEPS} metric points (${KEYS} keys × ${STEPS} steps) + ${PARAMS} params per run, sent as 11 log-batch requests by oracx and by python sync`,
    );
    console.log(`  runs     : ${REPS} per side, order rotating (ORACX_BENCH_RUNS to change, min 3)\n`);

    const batch = data();
    const sides = {
      oracx: () => runOracx(MlflowClient, settings, experimentId, batch),
      'python sync': () => runPython(python, server.url, experimentId, 'sync'),
      'python async': () => runPython(python, server.url, experimentId, 'async'),
    };
    const names = Object.keys(sides);
    const times = Object.fromEntries(names.map((n) => [n, []]));
    const rows = [];
    for (let i = 0; i < REPS; i++) {
      // Rotating the order keeps a slow moment of the machine (or a warmer server) from landing on one side only.
      const order = names.map((_, j) => names[(i + j) % names.length]);
      const rep = {};
      for (const name of order) {
        const { ms, runId } = await sides[name]();
        await verify(admin, runId, name);
        times[name].push(ms);
        rep[name] = ms;
      }
      rows.push([String(i + 1), order.join(' → '), ...names.map((n) => fixed(rep[n]))]);
    }
    table(['rep', 'order', ...names.map((n) => `${n} ms`)], rows);

    const med = Object.fromEntries(names.map((n) => [n, median(times[n])]));
    const baselineName = med['python sync'] <= med['python async'] ? 'python sync' : 'python async';
    const api = baselineName === 'python sync' ? 'MlflowClient().log_batch(...)' : 'MlflowClient().log_batch(..., synchronous=False).wait()';
    const ratio = med[baselineName] / med.oracx;
    console.log(
      `\n  python sync ${fixed(med['python sync'])} ms, python async ${fixed(med['python async'])} ms (median): the baseline is the faster, ${baselineName}`,
    );
    return verdict({
      name: 'mlflow-log',
      measured: `oracx MlflowClient.logBatch: median ${fixed(med.oracx)} ms (${fixed((KEYS * STEPS + PARAMS) / (med.oracx / 1000))} entities/s)`,
      baseline: `MLflow ${version} Python ${api}: median ${fixed(med[baselineName])} ms`,
      ratio: `${fixed(ratio)} (python time / oracx time)`,
      goal: `≥ ${fixed(GOAL)}`,
      pass: ratio >= GOAL,
    });
  } finally {
    await server.stop();
  }
}
