#!/usr/bin/env node
// `npm run quickstart`: the main job end to end on embedded SQLite (./oracx.db) with the bundled fixtures.
// Each step is a plain oracx command, echoed first, so it can be copied and re-run by hand.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.chdir(root);

if (!existsSync('dist/src/main.js')) {
  console.error('quickstart: building first (npm run build)');
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The run id of `train` feeds `register`: {run} in a later step is replaced by it.
const steps = [
  ['db', 'migrate'],
  ['collect', 'football-data', 'fixtures/football-data/full/'],
  ['collect', 'football-data', 'fixtures/football-data/full/'],
  ['data', 'report', '--examples', '5'],
  ['matches', 'list', '--competition', 'E0', '--season', '2019-2020', '--team', 'Arsenal', '--sort', 'date', '--limit', '5'],
  ['features', 'build', '--set', 'core@1'],
  ['train', '--model', 'dixon-coles', '--competitions', 'E0', '--train-until', '2019-06-30', '--seed', '7', '--json'],
  ['evaluate', '--model', 'dixon-coles', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '28d', '--report', 'quickstart-eval.html'],
  // Local registry by default; MLflow's when MLFLOW_TRACKING_URI is set (the run is then logged there by train too).
  ['register', '--run', '{run}', '--name', 'oracx-e0', '--alias', 'challenger'],
  ['models', 'promote', 'oracx-e0', '--alias', 'champion', '--require', 'rps<=champion', '--seasons', '2019-2020'],
  ['models', 'show', 'oracx-e0'],
];

let run = null;
for (const template of steps) {
  const args = template.map((a) => (a === '{run}' ? String(run) : a));
  console.log(`\n$ oracx ${args.join(' ')}`);
  const json = args.includes('--json');
  const result = spawnSync(process.execPath, ['bin/oracx.js', ...args], { stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (json) {
    process.stdout.write(result.stdout);
    if (result.status === 0) run = JSON.parse(result.stdout).runId;
  }
  if (result.status !== 0) {
    console.error(`quickstart: "oracx ${args.join(' ')}" exited ${result.status}`);
    process.exit(result.status ?? 1);
  }
}
const registry = process.env.MLFLOW_TRACKING_URI ? `MLflow's registry at ${process.env.MLFLOW_TRACKING_URI.replace(/\/\/[^@/]*@/, '//***@')}` : 'the local registry (.oracx/registry)';
console.log(`\nquickstart: done. The store is ./oracx.db and oracx-e0 is in ${registry}; try \`npx oracx models pull oracx-e0@champion\`.`);
