#!/usr/bin/env node
// Runs one named benchmark: `npm run bench -- NAME [ARGS]` (builds first) or `node bench/run.mjs NAME [ARGS]` (uses
// dist/ as is); ARGS go to the benchmark (e.g. `quality transfer`).
// Exit codes: 0 goal met, 1 goal missed, 2 usage or setup error, 70 a bug in the benchmark or in oracx.
import { BenchError } from './lib.mjs';

const BENCHMARKS = {
  'collect-sqlite': './collect-sqlite.mjs',
  'collect-postgres': './collect-postgres.mjs',
  startup: './startup.mjs',
  memory: './memory.mjs',
  quality: './quality.mjs',
  penaltyblog: './penaltyblog.mjs',
  'mlflow-log': './mlflow-log.mjs',
  'onnx-score': './onnx-score.mjs',
  serve: './serve.mjs',
  'predict-10k': './predict-10k.mjs',
  'serve-soak': './serve-soak.mjs',
  backfill: './backfill.mjs',
  feed: './feed.mjs',
  run: './pipeline-run.mjs',
};

async function usage(stream) {
  stream.write('usage: npm run bench -- NAME [ARGS]   (or: node bench/run.mjs NAME [ARGS] after npm run build)\n\nbenchmarks:\n');
  for (const [name, file] of Object.entries(BENCHMARKS)) {
    const { description } = await import(file);
    stream.write(`  ${name.padEnd(18)} ${description}\n`);
  }
}

const name = process.argv[2];
if (name === undefined || name === '--help' || name === '-h') {
  await usage(name === undefined ? process.stderr : process.stdout);
  process.exitCode = name === undefined ? 2 : 0;
} else if (!Object.hasOwn(BENCHMARKS, name)) {
  process.stderr.write(`unknown benchmark "${name}"\n\n`);
  await usage(process.stderr);
  process.exitCode = 2;
} else {
  try {
    const bench = await import(BENCHMARKS[name]);
    const pass = await bench.run(process.argv.slice(3));
    process.exitCode = pass ? 0 : 1;
  } catch (error) {
    if (error instanceof BenchError) {
      process.stderr.write(`bench ${name}: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench ${name}: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 70;
    }
  }
}
