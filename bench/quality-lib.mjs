/** Shared parts of the quality protocols: the runs, evaluating them, tables on the same matches, and the goal verdicts. */
import path from 'node:path';
import { BenchError, fromDist, table, verdict } from './lib.mjs';

export const LEAGUES = ['E0', 'E1', 'D1', 'SP1', 'I1', 'F1'];

// The CLI's default feature set (`--features`), which every run below uses unless it says otherwise.
export const DEFAULT_FEATURES = 'core@2';

// Single models at their defaults (no odds), then the ensemble. `season` applies each model's own in-season update
// cadence (dixon-coles, and the ensemble through it, every 3 days). `alt` rows are not a model's defaults (logreg on
// the previous default feature set), shown for information; no goal counts them. mlp is opt-in: ~15 s a fit on three leagues.
const NO_ODDS_RUNS = [
  { model: 'elo-ordered', features: DEFAULT_FEATURES, walk: 'season' },
  { model: 'logreg', features: DEFAULT_FEATURES, walk: 'season' },
  { model: 'logreg', features: 'core@1', walk: 'season', alt: true },
  { model: 'dixon-coles', features: DEFAULT_FEATURES, walk: 'season' },
  { model: 'ensemble', features: DEFAULT_FEATURES, walk: 'season' },
];
const MLP_RUN = { model: 'mlp', features: DEFAULT_FEATURES, walk: 'season' };
// market@2 reads the pre-match snapshot (Friday/Tuesday), closing@1 the closing prices (last before kick-off).
const ODDS_RUNS = [
  { model: 'logreg', features: 'market@2', walk: 'season' },
  { model: 'logreg', features: 'closing@1', walk: 'season' },
];
/** The all-league figure the issue asks not to regress from (logreg core@2, HEAD 9df9bbb). */
export const ALL_LEAGUE_REFERENCE = 0.2026;

/**
 * The runs of a protocol: ORACX_QUALITY_MODELS="model:features:walk,…" replaces them; ORACX_QUALITY_MLP=1 adds mlp.
 * `withOdds` adds the models that read prices (all-league only: the other goals are about models without odds).
 */
export function protocolRuns({ withOdds }) {
  const spec = process.env.ORACX_QUALITY_MODELS;
  if (spec) {
    return spec.split(',').map((s) => {
      const [model, features = DEFAULT_FEATURES, walk = 'season'] = s.split(':');
      return { model, features, walk, alt: features !== DEFAULT_FEATURES };
    });
  }
  const mlp = process.env.ORACX_QUALITY_MLP === '1' ? [MLP_RUN] : [];
  return [...NO_ODDS_RUNS, ...mlp, ...(withOdds ? ODDS_RUNS : [])];
}

/** dist modules every protocol needs. */
export async function loadOracx() {
  const { openStore } = await fromDist('src/store/connect.js');
  const { collectFootballData } = await fromDist('pipelines/collect.js');
  const { buildFeatures } = await fromDist('pipelines/features.js');
  const { evaluate } = await fromDist('pipelines/evaluate.js');
  const { parseWalkForward } = await fromDist('commands/walk-forward.js');
  const { parseFeatureSetRef } = await fromDist('src/ml/features/registry.js');
  const { getModel } = await fromDist('src/ml/models/index.js');
  const membersDefault = getModel('ensemble').params.find((p) => p.name === 'members').default;
  const { FEATURES_OPTION } = await fromDist('commands/model-options.js');
  if (FEATURES_OPTION.defaultValue !== DEFAULT_FEATURES) {
    throw new BenchError(
      `bench/quality-lib.mjs runs the defaults on ${DEFAULT_FEATURES}, but --features defaults to ${FEATURES_OPTION.defaultValue}: update DEFAULT_FEATURES`,
    );
  }
  return {
    openStore,
    collectFootballData,
    buildFeatures,
    evaluate,
    parseWalkForward,
    usesOdds: (features) => parseFeatureSetRef(features).groups.market !== undefined,
    ensembleMembers: membersDefault.split(',').map((s) => s.trim()),
  };
}

/** A migrated store at `file` holding the given CSV files (or folders), with core@1 built; prints the build speed. */
export async function buildStore(oracx, file, inputs, { quiet = false } = {}) {
  const store = await oracx.openStore(file);
  await store.migrate();
  const collected = await oracx.collectFootballData(store, { inputs, cwd: process.cwd(), stdin: process.stdin });
  const failed = collected.files.filter((f) => f.status !== 'completed');
  if (failed.length > 0) throw new BenchError(`collect failed on ${failed.length} file(s): ${failed[0].error}`);
  const build = await oracx.buildFeatures(store, 'core@1');
  if (!quiet) console.log(`features build core@1: ${build.matches} matches in ${build.ms} ms = ${build.matchesPerSecond} matches/s`);
  return store;
}

/** What a table needs from an EvaluationResult: overall and per-competition {n, rps}, for the model and baselines. */
function summary(result) {
  const pick = (m) => (m ? { n: m.n, rps: m.rps } : undefined);
  const baselines = (b) => ({ bookmaker: pick(b.bookmaker), naive: pick(b.naive), elo: pick(b.elo) });
  return {
    walk: result.walkForward,
    overall: pick(result.overall),
    by: Object.fromEntries(Object.entries(result.byCompetition).map(([c, m]) => [c, pick(m)])),
    baselines: baselines(result.baselines),
    baselinesBy: Object.fromEntries(Object.entries(result.baselinesByCompetition).map(([c, b]) => [c, baselines(b)])),
    fits: result.folds.filter((f) => !f.update).length,
    updates: result.folds.filter((f) => f.update).length,
  };
}

/** Evaluates each run on `window` ({ competitions, lastSeasons, trainSeasons? }), printing one progress line per run. */
export async function evaluateRuns(oracx, store, runs, window) {
  const out = [];
  for (const r of runs) {
    const started = Date.now();
    const result = await oracx.evaluate(store, {
      model: r.model,
      featureSet: r.features,
      competitions: window.competitions,
      seasons: [],
      lastSeasons: window.lastSeasons,
      trainSeasons: window.trainSeasons,
      walkForward: oracx.parseWalkForward(r.walk),
      seed: 0,
      params: {},
      bookmaker: true,
      margin: 'multiplicative',
      gates: [],
    });
    const ms = Date.now() - started;
    const s = summary(result);
    process.stderr.write(
      `  ${r.model} ${r.features} ${s.walk}: RPS ${s.overall.rps.toFixed(4)} on ${s.overall.n} matches, ${s.fits} fits + ${s.updates} updates, ${(ms / 1000).toFixed(1)} s\n`,
    );
    out.push({ ...r, ...s, ms, odds: oracx.usesOdds(r.features) });
  }
  return out;
}

/** n-weighted mean of {n, rps} parts (RPS is a mean over matches, so this is the RPS of the union). */
function pool(parts) {
  const present = parts.filter(Boolean);
  if (present.length === 0) return undefined;
  const n = present.reduce((s, p) => s + p.n, 0);
  return { n, rps: present.reduce((s, p) => s + p.n * p.rps, 0) / n };
}

/** Rows evaluated on disjoint match sets (e.g. one store per test season), pooled run by run. */
export function poolRows(groups) {
  return groups[0].map((first, i) => {
    const rows = groups.map((g) => g[i]);
    const comps = [...new Set(rows.flatMap((r) => Object.keys(r.by)))].sort();
    const baselines = (pick) => ({
      bookmaker: pool(rows.map((r) => pick(r).bookmaker)),
      naive: pool(rows.map((r) => pick(r).naive)),
      elo: pool(rows.map((r) => pick(r).elo)),
    });
    return {
      ...first,
      overall: pool(rows.map((r) => r.overall)),
      by: Object.fromEntries(comps.map((c) => [c, pool(rows.map((r) => r.by[c]))])),
      baselines: baselines((r) => r.baselines),
      baselinesBy: Object.fromEntries(comps.map((c) => [c, baselines((r) => r.baselinesBy[c] ?? {})])),
      fits: rows.reduce((s, r) => s + r.fits, 0),
      updates: rows.reduce((s, r) => s + r.updates, 0),
      ms: rows.reduce((s, r) => s + r.ms, 0),
    };
  });
}

/** The rows' matches must be the same (same n overall and per competition, same bookmaker RPS), or nothing compares. */
function checkSameMatches(rows, title) {
  const key = (r) => JSON.stringify([r.overall.n, r.baselines.bookmaker?.rps.toFixed(8), Object.entries(r.by).map(([c, m]) => [c, m.n])]);
  const differ = rows.filter((r) => key(r) !== key(rows[0]));
  if (differ.length > 0)
    throw new BenchError(`${title}: ${differ[0].model} ${differ[0].features} was scored on other matches than ${rows[0].model} ${rows[0].features}`);
}

const f4 = (m) => (m ? m.rps.toFixed(4) : '');
export const label = (r) => `${r.model} ${r.features}${r.alt ? ' (not its default)' : ''}`;

/** Prints one protocol table: every run, then bookmaker, naive and the Elo baseline, on the same matches. */
export function printTable(title, rows, competitions) {
  checkSameMatches(rows, title);
  console.log(`\n${title}`);
  const body = rows.map((r) => [
    label(r),
    r.walk,
    `${r.fits}+${r.updates}`,
    r.overall.n,
    f4(r.overall),
    ...competitions.map((c) => f4(r.by[c])),
    `${(r.ms / 1000).toFixed(0)} s`,
  ]);
  const first = rows[0];
  const baseline = (name, key) => [
    name,
    '',
    '',
    first.baselines[key]?.n ?? '',
    f4(first.baselines[key]),
    ...competitions.map((c) => f4(first.baselinesBy[c]?.[key])),
    '',
  ];
  body.push(
    baseline('bookmaker (closing where present, multiplicative)', 'bookmaker'),
    baseline('naive (training class frequencies)', 'naive'),
    baseline('Elo baseline (elo-ordered, refit each season)', 'elo'),
  );
  table(['model', 'walk-forward', 'fits+updates', 'n', 'RPS', ...competitions, 'time'], body);
}

/** Goal: the ensemble is no worse than its best member (members at their defaults, same features, same matches). */
export function ensembleGoal(oracx, rows, where) {
  const ensemble = rows.find((r) => r.model === 'ensemble');
  const members = rows.filter((r) => oracx.ensembleMembers.includes(r.model) && r.features === ensemble?.features);
  if (!ensemble || members.length !== oracx.ensembleMembers.length) return null;
  const best = members.reduce((a, b) => (b.overall.rps < a.overall.rps ? b : a));
  const diff = ensemble.overall.rps - best.overall.rps;
  return verdict({
    name: `ensemble vs its best member (${where})`,
    measured: `ensemble (${oracx.ensembleMembers.join(' + ')}) ${ensemble.features}: RPS ${ensemble.overall.rps.toFixed(4)}`,
    baseline: `best member ${label(best)}: RPS ${best.overall.rps.toFixed(4)}`,
    ratio: `${signed(diff)} vs best member`,
    goal: '≤ best member',
    pass: diff <= 0,
  });
}

/** ±0.0000 with the sign of the rounded value (no "-0.0000"). */
export const signed = (x) => {
  const r = Number(x.toFixed(4));
  return r === 0 ? '±0.0000' : `${r > 0 ? '+' : ''}${r.toFixed(4)}`;
};
export const noOdds = (rows) => rows.filter((r) => !r.odds);
/** Rows of models at their defaults (no odds): what the goals count. */
export const atDefaults = (rows) => noOdds(rows).filter((r) => !r.alt);
export const best = (rows) => rows.reduce((a, b) => (b.overall.rps < a.overall.rps ? b : a));

/** Where the stores of a protocol live: a temp folder per run. */
export const storeFile = (dir, name) => path.join(dir, `${name}.db`);
