/** startup: wall time of `node bin/oracx.js --help` against a bare `node -e ""`, interleaved, median of many runs. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BenchError, DIST, ROOT, fixed, median, msSince, table, verdict } from './lib.mjs';

export const description = 'wall time of `node bin/oracx.js --help` vs `node -e ""`';

const GOAL = 1.5;
const RUNS = Math.max(15, Number(process.env.ORACX_BENCH_RUNS ?? 21));
const WARMUP = 2;

function time(args) {
  const start = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const ms = msSince(start);
  if (child.status !== 0) {
    throw new BenchError(`node ${args.join(' ')} exited ${child.status}: ${child.stderr.toString().trim().slice(0, 500)}`);
  }
  return { ms, stdout: child.stdout.toString() };
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  if (!existsSync(path.join(DIST, 'src/main.js'))) throw new BenchError('dist/src/main.js is missing: run `npm run build` first');
  const oracxArgs = [path.join('bin', 'oracx.js'), '--help'];
  const nodeArgs = ['-e', ''];
  console.log(`startup: ${description}`);
  console.log(`  node     : ${process.execPath} ${process.version}`);
  console.log(`  runs     : ${RUNS} of each after ${WARMUP} warm-up runs, interleaved (ORACX_BENCH_RUNS to change, min 15)`);

  const help = time(oracxArgs);
  if (!help.stdout.includes('Usage: oracx')) throw new BenchError('`oracx --help` did not print its usage text');
  for (let i = 0; i < WARMUP; i++) {
    time(nodeArgs);
    time(oracxArgs);
  }
  const oracx = [];
  const bare = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternating which goes first keeps a slow moment of the machine from landing on one side only.
    if (i % 2 === 0) {
      bare.push(time(nodeArgs).ms);
      oracx.push(time(oracxArgs).ms);
    } else {
      oracx.push(time(oracxArgs).ms);
      bare.push(time(nodeArgs).ms);
    }
  }
  console.log('');
  const summary = (xs) => [fixed(Math.min(...xs)), fixed(median(xs)), fixed(Math.max(...xs))];
  table(
    ['command', 'min ms', 'median ms', 'max ms'],
    [
      ['node bin/oracx.js --help', ...summary(oracx)],
      ['node -e ""', ...summary(bare)],
    ],
  );
  const ratio = median(oracx) / median(bare);
  return verdict({
    name: 'startup',
    measured: `node bin/oracx.js --help: median ${fixed(median(oracx))} ms`,
    baseline: `node -e "": median ${fixed(median(bare))} ms`,
    ratio: `${fixed(ratio)} × baseline`,
    goal: `≤ ${GOAL} × baseline`,
    pass: ratio <= GOAL,
  });
}
