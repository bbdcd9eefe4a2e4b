/**
 * backfill: the 70 shared files through `oracx backfill --distributed` with 2 `oracx worker` processes (spawned CLIs,
 * a private Redis key prefix) against `oracx backfill` in-process (the same ingest, two files at a time on
 * PostgreSQL), each into a fresh PostgreSQL schema; wall time of the backfill command, workers started beforehand.
 * Also reports the per-job overhead: a job's time in the worker minus the ingest's own time, and queue latency.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BenchError, dataDir, fixed, int, median, msSince, ROOT, table, verdict } from './lib.mjs';

export const description = 'the 70 files through 2 workers (backfill --distributed) vs in-process backfill, on PostgreSQL';

const GOAL = 1.5;
const REPS = Number(process.env.ORACX_BENCH_REPS ?? 3);
const PG_URL = process.env.ORACX_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.ORACX_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = Number(process.env.ORACX_BENCH_WORKER_CONCURRENCY ?? 2);
const BIN = path.join(ROOT, 'bin', 'oracx.js');

function withSchema(schema) {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Runs the CLI to the end; rejects with its output when it fails. */
function cli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new BenchError(`oracx ${args.join(' ')} exited ${code}:\n${err.slice(-2000)}`))));
  });
}

/** Starts a worker; resolves once it takes jobs. */
function startWorker(store, prefix) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, 'worker', '--store', store, '--redis', REDIS_URL, '--queue-prefix', prefix, '--concurrency', String(CONCURRENCY), '--log-format', 'json'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    child.stderr.on('data', (d) => {
      text += d;
      if (/processing collect/.test(text)) resolve(child);
    });
    child.on('exit', (code) => reject(new BenchError(`worker exited ${code}:\n${text.slice(-2000)}`)));
  });
}

async function counts(admin, schema) {
  const one = async (t) => Number((await admin.query(`select count(*)::int as n from "${schema}".${t}`)).rows[0].n);
  return { matches: await one('matches'), odds: await one('odds') };
}

async function inProcess(admin, dir, schema) {
  try {
    const store = withSchema(schema);
    await cli(['db', 'migrate', '--store', store, '-q']);
    const start = process.hrtime.bigint();
    await cli(['backfill', 'football-data', dir, '--store', store, '-q']);
    return { ms: msSince(start), ...(await counts(admin, schema)) };
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

async function distributed(admin, dir, schema, prefix) {
  const store = withSchema(schema);
  await cli(['db', 'migrate', '--store', store, '-q']);
  const workers = await Promise.all([startWorker(store, prefix), startWorker(store, prefix)]);
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('collect', { connection, prefix });
  try {
    const start = process.hrtime.bigint();
    const out = await cli(['backfill', 'football-data', dir, '--distributed', '--store', store, '--redis', REDIS_URL, '--queue-prefix', prefix, '--json']);
    const ms = msSince(start);
    const report = JSON.parse(out);
    const overhead = [];
    const latency = [];
    for (const j of report.jobs) {
      const job = await queue.getJob(j.jobId);
      overhead.push(job.finishedOn - job.processedOn - job.returnvalue.durationMs);
      latency.push(job.processedOn - job.timestamp);
    }
    return { ms, overheadMs: median(overhead), latencyMs: median(latency), ...(await counts(admin, schema)) };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  const { dir, files } = dataDir();
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new BenchError(`cannot connect to PostgreSQL at ${PG_URL} (${error.message}); set ORACX_BENCH_PG_URL`);
  }
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
  } catch (error) {
    throw new BenchError(`cannot connect to Redis at ${REDIS_URL} (${error.message}); set ORACX_BENCH_REDIS_URL`);
  } finally {
    probe.disconnect();
  }
  try {
    console.log(`backfill: ${description}`);
    console.log(`  data     : ${files.length} files in ${dir}`);
    console.log(`  services : PostgreSQL ${PG_URL.replace(/:[^:@/]*@/, ':***@')}, Redis ${REDIS_URL} (queue prefix oracx-bench-${process.pid}-*)`);
    console.log(`  reps     : ${REPS} of each, interleaved (ORACX_BENCH_REPS to change)`);
    console.log('');
    const rows = [];
    const ratios = [];
    const overheads = [];
    for (let i = 0; i < REPS; i++) {
      const d = await distributed(admin, dir, `oracx_bench_${process.pid}_${i}_d`, `oracx-bench-${process.pid}-${i}`);
      const p = await inProcess(admin, dir, `oracx_bench_${process.pid}_${i}_p`);
      if (d.matches !== p.matches || d.odds !== p.odds)
        throw new BenchError(`row counts differ: distributed ${d.matches}+${d.odds}, in-process ${p.matches}+${p.odds}`);
      ratios.push(p.ms / d.ms);
      overheads.push(d.overheadMs);
      rows.push([String(i + 1), int(d.matches + d.odds), fixed(d.ms / 1000), fixed(p.ms / 1000), fixed(p.ms / d.ms), int(d.overheadMs), int(d.latencyMs)]);
    }
    table(['rep', 'rows', '2 workers s', 'in-process s', 'speed-up ×', 'job overhead ms (median)', 'queue wait ms (median)'], rows);
    const ratio = median(ratios);
    return verdict({
      name: 'backfill',
      measured: `backfill --distributed with 2 workers; per-job overhead median ${int(median(overheads))} ms (time in the worker beyond the ingest)`,
      baseline: 'backfill in-process (two files at a time on PostgreSQL)',
      ratio: `${fixed(ratio)} × faster (median)`,
      goal: `≥ ${GOAL} ×`,
      pass: ratio >= GOAL,
    });
  } finally {
    await admin.end();
  }
}
