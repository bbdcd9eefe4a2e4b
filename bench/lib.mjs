/** Shared helpers for the benchmarks: data location, dist imports, statistics and the verdict printout. */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DIST = path.join(ROOT, 'dist');

/** The 70 real football-data.co.uk files shared next to the repository. */
export function dataDir() {
  const dir = fileURLToPath(new URL('../../shared/data/football-data/', import.meta.url));
  if (!existsSync(dir)) {
    throw new BenchError(`data folder ${dir} not found: these benchmarks need the shared football-data CSVs next to the repo`);
  }
  const files = readdirSync(dir)
    .filter((n) => n.toLowerCase().endsWith('.csv'))
    .sort();
  if (files.length === 0) throw new BenchError(`data folder ${dir} has no .csv files`);
  return { dir, files };
}

/** A setup problem (missing data, no database): printed without a stack, exit 2. */
export class BenchError extends Error {}

/** Imports a compiled module from dist/, with a clear message when the build is missing. */
export async function fromDist(relative) {
  const file = path.join(DIST, relative);
  if (!existsSync(file)) throw new BenchError(`${file} is missing: run \`npm run build\` first (or use \`npm run bench -- NAME\`)`);
  return import(pathToFileURL(file).href);
}

export async function tempDir(prefix = 'oracx-bench-') {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds since `start` (a process.hrtime.bigint() value). */
export const msSince = (start) => Number(process.hrtime.bigint() - start) / 1e6;

const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const nf2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
export const int = (n) => nf.format(n);
export const fixed = (n) => nf2.format(n);

/** Prints a left-aligned text table. */
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map(String));
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`;
  console.log(line(all[0]));
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of all.slice(1)) console.log(line(r));
}

/**
 * Prints the verdict block every benchmark ends with and returns whether the goal was met.
 * `pass` is computed by the caller so the comparison direction (>= or <=) stays next to the goal text.
 */
export function verdict({ name, measured, baseline, ratio, goal, pass }) {
  console.log('');
  console.log(`  measured : ${measured}`);
  if (baseline) console.log(`  baseline : ${baseline}`);
  console.log(`  ratio    : ${ratio}`);
  console.log(`  goal     : ${goal}`);
  // Other work on the machine skews both sides unevenly; the load average says how quiet the run was.
  console.log(`  load     : 1-min load average ${loadavg()[0].toFixed(2)} on ${availableParallelism()} CPUs at the end of the run`);
  console.log(`  result   : ${name} ${pass ? 'PASS' : 'FAIL'}`);
  return pass;
}

/**
 * Runs oracx and its baseline `reps` times, interleaved, checks both wrote the same rows, prints every repetition
 * and the verdict on median rows/s. `runOracx(i)` / `runBaseline(i)` resolve to { matches, odds, ms }.
 */
export async function compareCollect({ name, reps, goal, baselineText, runOracx, runBaseline }) {
  const rows = [];
  const oracxRates = [];
  const baseRates = [];
  for (let i = 0; i < reps; i++) {
    const o = await runOracx(i);
    const b = await runBaseline(i);
    if (o.matches !== b.matches || o.odds !== b.odds) {
      throw new BenchError(
        `row counts differ: oracx wrote ${o.matches} matches + ${o.odds} odds, baseline ${b.matches} + ${b.odds}; the comparison would be meaningless`,
      );
    }
    const n = o.matches + o.odds;
    oracxRates.push(n / (o.ms / 1000));
    baseRates.push(n / (b.ms / 1000));
    rows.push([String(i + 1), int(n), fixed(o.ms / 1000), int(oracxRates.at(-1)), fixed(b.ms / 1000), int(baseRates.at(-1)), fixed(o.ms / b.ms)]);
  }
  table(['rep', 'rows', 'oracx s', 'oracx rows/s', 'baseline s', 'baseline rows/s', 'time ×'], rows);
  const oracx = median(oracxRates);
  const base = median(baseRates);
  const ratio = oracx / base;
  return verdict({
    name,
    measured: `oracx collectFootballData: median ${int(oracx)} rows/s (rows = matches + odds quotes written)`,
    baseline: `${baselineText}: median ${int(base)} rows/s`,
    ratio: `${fixed(ratio)} × baseline`,
    goal: `≥ ${goal} × baseline`,
    pass: ratio >= goal,
  });
}

/** Times one collect of `dir` into a migrated store; throws when any file did not complete. */
export async function timedCollect(store, collectFootballData, dir) {
  await store.migrate();
  const start = process.hrtime.bigint();
  const result = await collectFootballData(store, { inputs: [dir], cwd: ROOT, stdin: process.stdin });
  const ms = msSince(start);
  const failed = result.files.filter((f) => f.status !== 'completed');
  if (failed.length > 0) throw new BenchError(`collect failed on ${failed.length} file(s): ${failed[0].error}`);
  return { ms, result };
}
