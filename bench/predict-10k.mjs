/**
 * predict-10k: `oracx predict` of 10,000 scheduled matches in process (openPredictor, then predictRun: the scheduled
 * matches picked from the online state, each one's feature vector, the scoring and the one-transaction store write)
 * against the sum of its two irreducible parts done raw: one onnxruntime-node InferenceSession.run on the same
 * prebuilt [10,000, F] tensor, and one better-sqlite3 transaction of a prepared INSERT per row of the same rows.
 *
 * The store: the bundled E0 fixtures (2017-18 to 2019-20) and 10,000 fixtures generated from the 2019-20 teams, a
 * double round robin one round a day from the day after the latest result (three season files), collected through
 * the CLI; logreg on core@1 trained and registered, its package pulled. Each repetition starts from a fresh copy of
 * that store, on both sides; the order alternates.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BenchError, fixed, fromDist, int, median, msSince, table, tempDir, verdict } from './lib.mjs';
import { FULL_FIXTURES, copyStore, load1, oracx } from './serve-lib.mjs';

export const description = 'oracx predict of 10,000 scheduled matches in process vs raw ORT run + raw SQLite insert of the same rows (goal ≥ 0.5×)';

const MATCHES = Number(process.env.ORACX_BENCH_PREDICT_MATCHES ?? 10_000);
const REPS = Math.max(1, Number(process.env.ORACX_BENCH_REPS ?? 5));
const GOAL = 0.5;

const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const ddmmyyyy = (iso) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
/** The season a date falls in (July onward starts one), as football-data file names spell it. */
const seasonOf = (iso) => {
  const y = Number(iso.slice(0, 4));
  const start = Number(iso.slice(5, 7)) >= 7 ? y : y - 1;
  return `${start}-${start + 1}`;
};

/** Rounds of a double round robin (circle method): every ordered pairing once, each team once a round. */
function doubleRoundRobin(teams) {
  const n = teams.length;
  const ring = [...teams];
  const rounds = [];
  for (let r = 0; r < n - 1; r++) {
    const round = [];
    for (let i = 0; i < n / 2; i++) {
      const a = ring[i];
      const b = ring[n - 1 - i];
      round.push(r % 2 === 0 ? [a, b] : [b, a]);
    }
    rounds.push(round);
    ring.splice(1, 0, ring.pop());
  }
  return [...rounds, ...rounds.map((round) => round.map(([a, b]) => [b, a]))];
}

/** Fixture files (one per season) of `count` scheduled matches from the day after `frontier`, one round a day. */
async function writeFixtures(dir, teams, frontier, count) {
  const rounds = doubleRoundRobin(teams);
  const bySeason = new Map();
  let written = 0;
  for (let day = 1; written < count; day++) {
    const date = addDays(frontier, day);
    for (const [home, away] of rounds[(day - 1) % rounds.length]) {
      if (written === count) break;
      const season = seasonOf(date);
      if (!bySeason.has(season)) bySeason.set(season, ['Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR']);
      bySeason.get(season).push(`E0,${ddmmyyyy(date)},15:00,${home},${away},,,`);
      written++;
    }
  }
  await mkdir(dir, { recursive: true });
  for (const [season, lines] of bySeason) await writeFile(path.join(dir, `E0_${season}.csv`), `${lines.join('\r\n')}\r\n`);
  return [...bySeason.keys()];
}

/** The base store: fixtures collected, 10,000 coming matches, a registered model pulled to `<dir>/package`. */
export async function buildStore(dir) {
  const store = path.join(dir, 'base.db');
  const env = { ...process.env, ORACX_ACTOR: 'bench' };
  delete env.MLFLOW_TRACKING_URI;
  const options = { cwd: dir, env };
  await oracx(store, ['collect', 'football-data', FULL_FIXTURES, '-q'], options);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(store, { readonly: true });
  const frontier = db.prepare("select max(date) as d from matches where status = 'finished'").get().d;
  const season = db.prepare('select max(season) as s from matches').get().s;
  const teams = db
    .prepare('select distinct t.name from matches m join teams t on t.id = m.home_team_id where m.season = ? order by t.name')
    .all(season)
    .map((r) => r.name);
  db.close();
  const seasons = await writeFixtures(path.join(dir, 'fixtures'), teams, frontier, MATCHES);
  await oracx(store, ['collect', 'football-data', path.join(dir, 'fixtures'), '-q'], options);
  const { runId } = JSON.parse(
    await oracx(store, ['train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--param', 'l2=10', '--json', '--no-track'], options),
  );
  await oracx(store, ['register', '--run', String(runId), '--name', 'oracx-e0', '--alias', 'champion', '--registry', 'local', '-q'], options);
  await oracx(store, ['models', 'pull', 'oracx-e0@champion', '--registry', 'local', '--out', path.join(dir, 'package'), '-q'], options);
  return { store, frontier, teams, seasons, onnx: path.join(dir, 'package', 'model.onnx') };
}

export async function run() {
  const { openStore } = await fromDist('src/store/connect.js');
  const { loadFileModel } = await fromDist('src/predict/model.js');
  const { openPredictor, predictRun } = await fromDist('pipelines/predict-run.js');
  // The baseline writes the same columns oracx writes.
  const { PREDICTION_COLUMNS: COLUMNS } = await fromDist('src/predict/predictions.js');
  const { InferenceSession, Tensor } = await import('onnxruntime-node');
  const { default: Database } = await import('better-sqlite3');
  const tmp = await tempDir('oracx-bench-predict-');
  try {
    const setup = process.hrtime.bigint();
    const base = await buildStore(tmp.dir);
    const bytes = new Uint8Array(readFileSync(base.onnx));
    console.log(`predict-10k: ${description}`);
    console.log(
      `  store    : bundled E0 fixtures (latest result ${base.frontier}) + ${int(MATCHES)} scheduled matches of its ${base.teams.length} teams (files ${base.seasons.join(', ')}), logreg on core@1 registered and pulled (${fixed(msSince(setup) / 1000)} s to set up)`,
    );
    console.log(`  reps     : ${REPS}, oracx first in each (the baseline reuses its vectors and rows), each side on a fresh copy of the store (${load1()})\n`);

    const sides = { oracx: [], ort: [], insert: [], open: [] };
    const rows = [];
    for (let rep = 0; rep < REPS; rep++) {
      const oracxFile = path.join(tmp.dir, `oracx-${rep}.db`);
      const rawFile = path.join(tmp.dir, `raw-${rep}.db`);
      await copyStore(base.store, oracxFile);
      await copyStore(base.store, rawFile);

      // oracx: the model and the online state are opened first (not timed: a CLI run pays them once, as start-up).
      const runOracx = async () => {
        const store = await openStore(oracxFile);
        try {
          const model = await loadFileModel(store, base.onnx);
          try {
            const opened = process.hrtime.bigint();
            const predictor = await openPredictor(store, model);
            const openMs = msSince(opened);
            const start = process.hrtime.bigint();
            const result = await predictRun(store, predictor, model, { requests: [], principal: 'bench' });
            const ms = msSince(start);
            if (result.forecasts.length !== MATCHES) throw new BenchError(`predictRun forecast ${result.forecasts.length} matches, expected ${MATCHES}`);
            if (result.replayedDates.length > 0)
              throw new BenchError(`predictRun replayed ${result.replayedDates.length} date(s): the generated fixtures should all be coming matches`);
            // The same vectors, in the model's column order, for the baseline's tensor (built outside any timing).
            const names = [...predictor.features.names];
            const cols = model.metadata.featureNames.map((n) => names.indexOf(n));
            const byId = new Map(result.forecasts.map((f, i) => [f.matchId, i]));
            const flat = new Float32Array(MATCHES * cols.length);
            for (const m of predictor.features.upcoming()) {
              const i = byId.get(m.id);
              const v = predictor.prepareMatch(m).vector;
              cols.forEach((c, k) => {
                flat[i * cols.length + k] = v[c];
              });
            }
            return { ms, openMs, forecasts: result.forecasts, flat, width: cols.length };
          } finally {
            await model.release();
          }
        } finally {
          await store.close();
        }
      };

      let o;
      let ortMs;
      let insertMs;
      const runBaseline = async () => {
        // Raw ORT, one run on the prebuilt tensor, with OnnxScorer's session options.
        const session = await InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
        try {
          const tensor = new Tensor('float32', o.flat, [MATCHES, o.width]);
          // One untimed run first: the timed one finds ORT's buffers allocated (oracx's single run does not: stricter).
          await session.run({ features: tensor });
          const start = process.hrtime.bigint();
          const out = await session.run({ features: tensor });
          ortMs = msSince(start);
          const probs = out.probs.data;
          let worst = 0;
          o.forecasts.forEach((f, i) => {
            worst = Math.max(
              worst,
              Math.abs(f.probabilities.home - probs[i * 3]),
              Math.abs(f.probabilities.draw - probs[i * 3 + 1]),
              Math.abs(f.probabilities.away - probs[i * 3 + 2]),
            );
          });
          if (worst > 1e-6) throw new BenchError(`raw ORT on the same tensor differs from oracx's forecasts by ${worst}`);
        } finally {
          await session.release();
        }
        // Raw insert of the rows oracx stored, one prepared statement, one transaction, the store's pragmas.
        const stored = new Database(oracxFile, { readonly: true });
        const want = stored.prepare(`select ${COLUMNS.join(', ')} from predictions order by id`).all();
        stored.close();
        if (want.length !== MATCHES) throw new BenchError(`oracx stored ${want.length} predictions, expected ${MATCHES}`);
        const db = new Database(rawFile);
        try {
          db.pragma('journal_mode = WAL');
          db.pragma('foreign_keys = ON');
          db.pragma('synchronous = NORMAL');
          const insert = db.prepare(`insert into predictions (${COLUMNS.join(', ')}) values (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
          const all = db.transaction((list) => {
            for (const r of list) insert.run(r);
          });
          const start = process.hrtime.bigint();
          all(want);
          insertMs = msSince(start);
          const n = db.prepare('select count(*) as n from predictions').get().n;
          if (n !== MATCHES) throw new BenchError(`the raw insert left ${n} rows, expected ${MATCHES}`);
        } finally {
          db.close();
        }
      };

      // The baseline needs oracx's vectors and rows, so oracx runs first; the copies are fresh either way.
      o = await runOracx();
      await runBaseline();
      sides.oracx.push(o.ms);
      sides.open.push(o.openMs);
      sides.ort.push(ortMs);
      sides.insert.push(insertMs);
      rows.push([String(rep + 1), fixed(o.openMs), fixed(o.ms), fixed(ortMs), fixed(insertMs), fixed(ortMs + insertMs), fixed((ortMs + insertMs) / o.ms)]);
    }
    table(['rep', 'openPredictor ms (untimed)', 'predictRun ms', 'raw ORT ms', 'raw insert ms', 'baseline ms', 'ratio'], rows);
    const oMs = median(sides.oracx);
    const bMs = median(sides.ort) + median(sides.insert);
    const rate = (ms) => `${int(MATCHES / (ms / 1000))} matches/s`;
    console.log(
      `\n  information: openPredictor (online state replayed from the store, team directory) median ${fixed(median(sides.open))} ms, paid once per run before predictRun; with it the ratio would be ${fixed(bMs / (oMs + median(sides.open)))}`,
    );
    return verdict({
      name: 'predict-10k',
      measured: `oracx predictRun of ${int(MATCHES)} scheduled matches (features, scoring, one-transaction store write): median ${fixed(oMs)} ms = ${rate(oMs)}`,
      baseline: `raw ORT run on the prebuilt tensor (median ${fixed(median(sides.ort))} ms) + raw prepared-statement insert of the same rows in one transaction (median ${fixed(median(sides.insert))} ms) = ${fixed(bMs)} ms = ${rate(bMs)}`,
      ratio: `${fixed(bMs / oMs)} × the baseline's throughput`,
      goal: `≥ ${GOAL} ×`,
      pass: bMs / oMs >= GOAL,
    });
  } finally {
    await tmp.cleanup();
  }
}
