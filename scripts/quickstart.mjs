#!/usr/bin/env node
// `npm run quickstart`: the main job end to end on embedded SQLite (./oracx.db) with the bundled fixtures.
// Each step is a plain oracx command, echoed first, so it can be copied and re-run by hand.
import { spawn, spawnSync } from 'node:child_process';
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
  ['features', 'build', '--set', 'core@2'],
  ['train', '--model', 'dixon-coles', '--competitions', 'E0', '--train-until', '2019-06-30', '--seed', '7', '--json'],
  ['evaluate', '--model', 'dixon-coles', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '28d', '--report', 'quickstart-eval.html'],
  // Local registry by default; MLflow's when MLFLOW_TRACKING_URI is set (the run is then logged there by train too).
  ['register', '--run', '{run}', '--name', 'oracx-e0', '--alias', 'challenger'],
  ['models', 'promote', 'oracx-e0', '--alias', 'champion', '--require', 'rps<=champion', '--seasons', '2019-2020'],
  ['models', 'show', 'oracx-e0'],
  // Coming matches (football-data's fixtures.csv shape: results empty, pre-match odds), then forecasts for them.
  ['collect', 'football-data', 'fixtures/football-data/upcoming/fixtures.csv'],
  ['predict', '--model', 'oracx-e0@champion', '--competitions', 'E0'],
  ['auth', 'keys', 'create', '--role', 'predictor', '--name', 'quickstart', '--json'],
];

let run = null;
let key = null;
for (const template of steps) {
  const args = template.map((a) => (a === '{run}' ? String(run) : a));
  console.log(`\n$ oracx ${args.join(' ')}`);
  const json = args.includes('--json');
  const result = spawnSync(process.execPath, ['bin/oracx.js', ...args], { stdio: ['inherit', json ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (json && result.status === 0) {
    const doc = JSON.parse(result.stdout);
    if (args[0] === 'auth') {
      key = doc.key;
      console.log(`(API key ${doc.name}, role ${doc.role}: oxk_${doc.prefix}_… — printed once; kept in this script only)`);
    } else {
      process.stdout.write(result.stdout);
      run = doc.runId;
    }
  }
  if (result.status !== 0) {
    console.error(`quickstart: "oracx ${args.join(' ')}" exited ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

// The service: started on a free port, one authenticated forecast, then a graceful stop (SIGTERM, exit 0).
console.log('\n$ oracx serve --model oracx-e0@champion --port 0');
const server = spawn(process.execPath, ['bin/oracx.js', 'serve', '--model', 'oracx-e0@champion', '--port', '0', '--log-format', 'pretty'], {
  stdio: ['ignore', 'inherit', 'pipe'],
});
const url = await new Promise((resolve, reject) => {
  let text = '';
  server.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    text += chunk.toString('utf8');
    const m = /listening on (http:\/\/\S+?) /.exec(text);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`oracx serve exited ${code} before listening`)));
}).catch((error) => {
  console.error(`quickstart: ${error.message}`);
  process.exit(1);
});
const body = { competition: 'E0', home: 'Arsenal', away: 'Liverpool', date: '2020-09-28' };
console.log(`\n$ curl -H "Authorization: Bearer $KEY" -H 'content-type: application/json' -d '${JSON.stringify(body)}' ${url}/v1/predict`);
const response = await fetch(`${url}/v1/predict`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const forecast = await response.json();
console.log(JSON.stringify(forecast, null, 2));
const stopped = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
server.kill('SIGTERM');
const code = await stopped;
if (response.status !== 200 || code !== 0) {
  console.error(`quickstart: the service answered ${response.status} and exited ${code}`);
  process.exit(1);
}
console.log(
  `\nquickstart: the service answered and stopped cleanly; docs of every route at ${url}/docs while it runs (oracx serve --model oracx-e0@champion).`,
);
const registry = process.env.MLFLOW_TRACKING_URI
  ? `MLflow's registry at ${process.env.MLFLOW_TRACKING_URI.replace(/\/\/[^@/]*@/, '//***@')}`
  : 'the local registry (.oracx/registry)';
console.log(`\nquickstart: done. The store is ./oracx.db and oracx-e0 is in ${registry}; try \`npx oracx models pull oracx-e0@champion\`.`);
