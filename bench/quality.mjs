/** Quality protocol of the modelling issue: walk-forward RPS on the last three seasons of E0 E1 D1 SP1 I1 F1. */
import path from 'node:path';
import { dataDir, fromDist, table, tempDir, verdict } from './lib.mjs';

export const description = 'models vs bookmaker/naive on the last 3 seasons of E0 E1 D1 SP1 I1 F1 (walk-forward); features matches/s';

const COMPETITIONS = ['E0', 'E1', 'D1', 'SP1', 'I1', 'F1'];
// Models that never see odds, then ones that may: market@2 reads the pre-match snapshot (Friday/Tuesday), closing@1
// the closing prices (last before kick-off). Override with ORACX_QUALITY_MODELS="logreg:core@1:season,…".
const DEFAULT_RUNS = [
  { model: 'elo-ordered', features: 'core@1', walk: 'season' },
  { model: 'logreg', features: 'core@1', walk: 'season' },
  { model: 'logreg', features: 'core@2', walk: 'season' },
  { model: 'dixon-coles', features: 'core@1', walk: '28d' },
  { model: 'ensemble', features: 'core@1', walk: 'season' },
  { model: 'logreg', features: 'market@2', walk: 'season' },
  { model: 'logreg', features: 'closing@1', walk: 'season' },
];

function runs() {
  const spec = process.env.ORACX_QUALITY_MODELS;
  if (!spec) return DEFAULT_RUNS;
  return spec.split(',').map((s) => {
    const [model, features = 'core@1', walk = 'season'] = s.split(':');
    return { model, features, walk };
  });
}

export async function run() {
  const { dir } = dataDir();
  const { openStore } = await fromDist('src/store/connect.js');
  const { collectFootballData } = await fromDist('pipelines/collect.js');
  const { buildFeatures } = await fromDist('pipelines/features.js');
  const { evaluate } = await fromDist('pipelines/evaluate.js');
  const { parseWalkForward } = await fromDist('commands/walk-forward.js');
  const { parseFeatureSetRef } = await fromDist('src/ml/features/registry.js');
  // A run "uses odds" when its feature set has the market group, whatever the set is called.
  const usesOdds = (features) => parseFeatureSetRef(features).groups.market !== undefined;
  const tmp = await tempDir();
  const store = await openStore(path.join(tmp.dir, 'quality.db'));
  try {
    await store.migrate();
    await collectFootballData(store, { inputs: [dir], cwd: process.cwd(), stdin: process.stdin });
    const build = await buildFeatures(store, 'core@1');
    console.log(`features build core@1: ${build.matches} matches in ${build.ms} ms = ${build.matchesPerSecond} matches/s`);
    const market = await buildFeatures(store, 'market@1');
    console.log(`features build market@1: ${market.matches} matches in ${market.ms} ms = ${market.matchesPerSecond} matches/s\n`);

    const rows = [];
    let bookmaker = null;
    let naive = null;
    let bestNoOdds = Infinity;
    let bestOdds = Infinity;
    for (const r of runs()) {
      const started = Date.now();
      const result = await evaluate(store, {
        model: r.model,
        featureSet: r.features,
        competitions: COMPETITIONS,
        seasons: [],
        lastSeasons: 3,
        walkForward: parseWalkForward(r.walk),
        seed: 0,
        params: {},
        bookmaker: true,
        margin: 'multiplicative',
        gates: [],
      });
      bookmaker = result.baselines.bookmaker;
      naive = result.baselines.naive;
      const by = COMPETITIONS.map((c) => result.byCompetition[c]?.rps.toFixed(4) ?? '');
      rows.push([`${r.model} ${r.features} ${r.walk}`, result.overall.n, result.overall.rps.toFixed(4), ...by, `${Math.round((Date.now() - started) / 1000)} s`]);
      if (usesOdds(r.features)) bestOdds = Math.min(bestOdds, result.overall.rps);
      else bestNoOdds = Math.min(bestNoOdds, result.overall.rps);
    }
    const baseBy = (name, res) => [name, res.n, res.rps.toFixed(4), ...COMPETITIONS.map(() => ''), ''];
    rows.push(baseBy('bookmaker (closing, multiplicative)', bookmaker), baseBy('naive (training frequencies)', naive));
    table(['model', 'n', 'RPS', ...COMPETITIONS, 'time'], rows);

    const required = bookmaker.rps + 0.005;
    const stretch = bookmaker.rps + 0.003;
    const ok = verdict({
      name: 'quality (no odds)',
      measured: `best model without odds: RPS ${bestNoOdds.toFixed(4)}`,
      baseline: `bookmaker RPS ${bookmaker.rps.toFixed(4)} on the same ${bookmaker.n} matches`,
      ratio: `${(bestNoOdds - bookmaker.rps >= 0 ? '+' : '') + (bestNoOdds - bookmaker.rps).toFixed(4)} vs bookmaker`,
      goal: `≤ bookmaker + 0.005 = ${required.toFixed(4)} (required); stretch ≤ ${stretch.toFixed(4)}: ${bestNoOdds <= stretch ? 'met' : 'not met'}`,
      pass: bestNoOdds <= required,
    });
    let oddsOk = true;
    if (Number.isFinite(bestOdds)) {
      oddsOk = verdict({
        name: 'quality (with odds)',
        measured: `best model using odds (pre-match snapshot or closing prices): RPS ${bestOdds.toFixed(4)}`,
        baseline: `bookmaker RPS ${bookmaker.rps.toFixed(4)}`,
        ratio: `${(bestOdds - bookmaker.rps >= 0 ? '+' : '') + (bestOdds - bookmaker.rps).toFixed(4)} vs bookmaker`,
        goal: '≤ bookmaker',
        pass: bestOdds <= bookmaker.rps,
      });
    }
    return ok && oddsOk;
  } finally {
    await store.close();
    await tmp.cleanup();
  }
}
