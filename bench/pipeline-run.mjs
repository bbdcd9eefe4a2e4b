/**
 * run: wall time of `oracx run` with nothing changed (every stage of a collect → features → train → evaluate
 * pipeline over the 70 shared files skipped) against `oracx --help`, interleaved, median of many runs.
 * "Nothing changed" has to hash the collect inputs and the store's relevant matches (ids and row hashes) and read the
 * last stage runs: no feature is loaded and no model trained.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BenchError, DIST, ROOT, dataDir, fixed, median, msSince, table, tempDir, verdict } from './lib.mjs';

export const description = 'wall time of `oracx run` with nothing changed (70 files collected, all stages skipped) vs `oracx --help`';

const GOAL = 2;
const RUNS = Math.max(11, Number(process.env.ORACX_BENCH_RUNS ?? 15));
const WARMUP = 2;
const BIN = path.join(ROOT, 'bin', 'oracx.js');

function time(args, cwd, extraEnv = {}) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The parsed oracx.yaml is cached from the first run on, in the bench's folder (pipelines/pipeline-spec-cache.ts).
    env: { ...process.env, NO_COLOR: '1', MLFLOW_TRACKING_URI: '', ORACX_CACHE_DIR: path.join(cwd, '.cache'), ...extraEnv },
  });
  const ms = msSince(start);
  if (child.status !== 0) throw new BenchError(`oracx ${args.join(' ')} exited ${child.status}: ${child.stderr.toString().trim().slice(0, 800)}`);
  return { ms, stdout: child.stdout.toString() };
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  if (!existsSync(path.join(DIST, 'src/main.js'))) throw new BenchError('dist/src/main.js is missing: run `npm run build` first');
  const { dir: data, files } = dataDir();
  const { dir, cleanup } = await tempDir('oracx-bench-run-');
  try {
    writeFileSync(
      path.join(dir, 'oracx.yaml'),
      [
        'name: bench',
        'stages:',
        '  collect:',
        `    inputs: [${JSON.stringify(data)}]`,
        '  train:',
        '    model: logreg',
        '    competitions: [E0]',
        '    train-from: 2015-07-01',
        '    train-until: 2019-06-30',
        '    params: { l2: 0.1 }',
        '  evaluate:',
        '    seasons: [2019-2020]',
        '    gate: ["rps<=0.25"]',
        '',
      ].join('\n'),
    );
    console.log(`run: ${description}`);
    console.log(`  node     : ${process.execPath} ${process.version}`);
    console.log(`  pipeline : collect ${files.length} files → train logreg (E0) → evaluate 2019-2020, SQLite store in ${dir}`);
    const first = time(['run', '--json'], dir);
    const report = JSON.parse(first.stdout);
    console.log(`  first run: ${fixed(first.ms)} ms (${report.stages.map((s) => `${s.stage} ${s.status}`).join(', ')})`);
    const again = JSON.parse(time(['run', '--json'], dir).stdout);
    const notSkipped = again.stages.filter((s) => s.status !== 'skipped');
    if (notSkipped.length > 0) throw new BenchError(`a second run did not skip ${notSkipped.map((s) => `${s.stage} (${s.reason})`).join(', ')}`);
    console.log(`  runs     : ${RUNS} of each after ${WARMUP} warm-up runs, interleaved (ORACX_BENCH_RUNS to change, min 11)`);
    for (let i = 0; i < WARMUP; i++) {
      time(['--help'], dir);
      time(['run', '-q'], dir);
    }
    const runs = [];
    const help = [];
    // Information only: the cheapest command that opens the same store, i.e. the floor under `oracx run`; and the
    // same run with the parsed-oracx.yaml cache off (the first run after an edit, or on a machine with an empty cache).
    const status = [];
    const cold = [];
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        help.push(time(['--help'], dir).ms);
        runs.push(time(['run', '-q'], dir).ms);
        status.push(time(['db', 'status', '-q'], dir).ms);
        cold.push(time(['run', '-q'], dir, { ORACX_CACHE_DIR: 'off' }).ms);
      } else {
        cold.push(time(['run', '-q'], dir, { ORACX_CACHE_DIR: 'off' }).ms);
        status.push(time(['db', 'status', '-q'], dir).ms);
        runs.push(time(['run', '-q'], dir).ms);
        help.push(time(['--help'], dir).ms);
      }
    }
    console.log('');
    const summary = (xs) => [fixed(Math.min(...xs)), fixed(median(xs)), fixed(Math.max(...xs))];
    table(
      ['command', 'min ms', 'median ms', 'max ms'],
      [
        ['oracx run (nothing changed)', ...summary(runs)],
        ['oracx --help', ...summary(help)],
        ['oracx db status (information)', ...summary(status)],
        ['oracx run, cache off (information)', ...summary(cold)],
      ],
    );
    console.log(`  cache off: ${fixed(median(cold) / median(help))} × baseline (oracx.yaml parsed again, as after an edit)`);
    const ratio = median(runs) / median(help);
    return verdict({
      name: 'run',
      measured: `oracx run, all ${again.stages.length} stages skipped: median ${fixed(median(runs))} ms`,
      baseline: `oracx --help: median ${fixed(median(help))} ms`,
      ratio: `${fixed(ratio)} × baseline`,
      goal: `≤ ${GOAL} × baseline`,
      pass: ratio <= GOAL,
    });
  } finally {
    await cleanup();
  }
}
