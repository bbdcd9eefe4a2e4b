/**
 * Quality protocols of the modelling issues (walk-forward RPS on the same matches as the bookmaker, naive and Elo):
 *   all-league     last 3 seasons of E0 E1 D1 SP1 I1 F1, trained on every earlier match of all six (the default)
 *   transfer       E0 E1 D1 and SP1 I1 F1 evaluated apart with the same defaults; anything the bench selects is
 *                  selected on one half and reported on the other, both ways
 *   short-history  each test season with only the 2 (and 3) seasons before it per league, as a new user's archive
 * `npm run bench -- quality [protocol]` or ORACX_QUALITY_PROTOCOL=…; see bench/RESULTS.md for the env knobs.
 */
import path from 'node:path';
import { BenchError, dataDir, tempDir, verdict } from './lib.mjs';
import {
  ALL_LEAGUE_REFERENCE,
  atDefaults,
  best,
  DEFAULT_FEATURES,
  buildStore,
  ensembleGoal,
  evaluateRuns,
  label,
  LEAGUES,
  loadOracx,
  noOdds,
  poolRows,
  printTable,
  protocolRuns,
  signed,
  storeFile,
} from './quality-lib.mjs';

export const description = 'models vs bookmaker/naive/Elo, walk-forward; protocols all-league (default), transfer, short-history';

const PROTOCOLS = { 'all-league': allLeague, transfer, 'short-history': shortHistory };

export async function run(args = []) {
  const name = args[0] ?? process.env.ORACX_QUALITY_PROTOCOL ?? 'all-league';
  const protocol = PROTOCOLS[name];
  if (!protocol) throw new BenchError(`unknown quality protocol "${name}": expected ${Object.keys(PROTOCOLS).join(', ')}`);
  const started = Date.now();
  console.log(`quality protocol ${name}`);
  const oracx = await loadOracx();
  const tmp = await tempDir();
  try {
    const verdicts = await protocol(oracx, tmp.dir);
    console.log(`\nprotocol ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
    return verdicts.filter((v) => v !== null).every(Boolean);
  } finally {
    await tmp.cleanup();
  }
}

/** The all-league protocol, as recorded since HEAD 9df9bbb, with the Elo baseline and the goals of issue 11. */
async function allLeague(oracx, dir) {
  const store = await buildStore(oracx, storeFile(dir, 'all'), [dataDir().dir]);
  try {
    const market = await oracx.buildFeatures(store, 'market@1');
    console.log(`features build market@1: ${market.matches} matches in ${market.ms} ms = ${market.matchesPerSecond} matches/s`);
    const rows = await evaluateRuns(oracx, store, protocolRuns({ withOdds: true }), { competitions: LEAGUES, lastSeasons: 3 });
    printTable('all-league: last 3 seasons of each league, trained on all six', rows, LEAGUES);
    const bookmaker = rows[0].baselines.bookmaker;
    const verdicts = [];
    const plain = atDefaults(rows);
    if (plain.length > 0) {
      const top = best(plain);
      verdicts.push(
        verdict({
          name: 'quality (no odds)',
          measured: `best model without odds at its defaults: ${label(top)} RPS ${top.overall.rps.toFixed(4)}`,
          baseline: `bookmaker RPS ${bookmaker.rps.toFixed(4)} on the same ${bookmaker.n} matches`,
          ratio: `${signed(top.overall.rps - bookmaker.rps)} vs bookmaker`,
          goal: `≤ bookmaker + 0.005 = ${(bookmaker.rps + 0.005).toFixed(4)} (required); stretch ≤ ${(bookmaker.rps + 0.003).toFixed(4)}: ${top.overall.rps <= bookmaker.rps + 0.003 ? 'met' : 'not met'}`,
          pass: top.overall.rps <= bookmaker.rps + 0.005,
        }),
        verdict({
          name: 'all-league no regression',
          measured: `best model without odds at its defaults: ${label(top)} RPS ${top.overall.rps.toFixed(4)}`,
          baseline: `logreg core@2 ${ALL_LEAGUE_REFERENCE} at HEAD 9df9bbb (bench/RESULTS.md)`,
          ratio: signed(top.overall.rps - ALL_LEAGUE_REFERENCE),
          goal: `≤ ${ALL_LEAGUE_REFERENCE} (at 4 decimals)`,
          pass: Number(top.overall.rps.toFixed(4)) <= ALL_LEAGUE_REFERENCE,
        }),
      );
    }
    const odds = rows.filter((r) => r.odds);
    if (odds.length > 0) {
      const top = best(odds);
      verdicts.push(
        verdict({
          name: 'quality (with odds)',
          measured: `best model using odds (pre-match snapshot or closing prices): ${label(top)} RPS ${top.overall.rps.toFixed(4)}`,
          baseline: `bookmaker RPS ${bookmaker.rps.toFixed(4)}`,
          ratio: `${signed(top.overall.rps - bookmaker.rps)} vs bookmaker`,
          goal: '≤ bookmaker',
          pass: top.overall.rps <= bookmaker.rps,
        }),
      );
    }
    verdicts.push(ensembleGoal(oracx, rows, 'all-league'));
    return verdicts;
  } finally {
    await store.close();
  }
}

const HALVES = [
  ['E0', 'E1', 'D1'],
  ['SP1', 'I1', 'F1'],
];

/** Dixon–Coles in-season update cadences (days) the transfer protocol selects among; the default (3) is its own row. */
function cadences() {
  const spec = process.env.ORACX_QUALITY_CADENCES ?? '7,28';
  return spec === '' ? [] : spec.split(',').map(Number);
}

/**
 * transfer: the same defaults on each half. The default best model without odds is the single model at its defaults a
 * bench would pick on the choosing half; the goal is that it beats every other single model at its defaults and the
 * Elo baseline on the other half. The ensemble is judged by its own goal (no worse than its best member).
 */
async function transfer(oracx, dir) {
  const store = await buildStore(oracx, storeFile(dir, 'all'), [dataDir().dir]);
  try {
    const runs = protocolRuns({ withOdds: false });
    const dc = runs.some((r) => r.model === 'dixon-coles');
    const halves = [];
    for (const competitions of HALVES) {
      process.stderr.write(`half ${competitions.join(' ')}\n`);
      const rows = await evaluateRuns(oracx, store, runs, { competitions, lastSeasons: 3 });
      const extra = dc ? cadences().map((d) => ({ model: 'dixon-coles', features: DEFAULT_FEATURES, walk: `season+${d}d` })) : [];
      const cadenceRows = await evaluateRuns(oracx, store, extra, { competitions, lastSeasons: 3 });
      printTable(`transfer, half ${competitions.join(' ')}: last 3 seasons each, trained on these three leagues only`, [...rows, ...cadenceRows], competitions);
      halves.push({ competitions, rows, cadenceRows: [...rows.filter((r) => r.model === 'dixon-coles'), ...cadenceRows] });
    }
    const verdicts = [];
    const margins = [];
    for (const [choose, report] of [halves, [...halves].reverse()]) {
      const where = `choose on ${choose.competitions.join(' ')}, report on ${report.competitions.join(' ')}`;
      console.log(`\n${where}`);
      if (choose.cadenceRows.length > 1) {
        const picked = best(choose.cadenceRows);
        const there = report.cadenceRows.find((r) => r.walk === picked.walk);
        const deflt = report.cadenceRows.find((r) => r.walk === choose.rows.find((x) => x.model === 'dixon-coles').walk);
        console.log(
          `  dixon-coles update cadence picked: ${picked.walk} (RPS ${picked.overall.rps.toFixed(4)} there); on the other half ${there.overall.rps.toFixed(4)}, ` +
            `the default ${deflt.walk} ${deflt.overall.rps.toFixed(4)} (${signed(there.overall.rps - deflt.overall.rps)})`,
        );
      }
      // The default best model: the best single model at its defaults on the choosing half (ties: the earlier row).
      // The ensemble has its own goal (no worse than its best member); its margins are printed for information.
      const picked = best(atDefaults(choose.rows).filter((r) => r.model !== 'ensemble'));
      const reported = report.rows.find((r) => label(r) === label(picked));
      const rivals = [
        ...atDefaults(report.rows)
          .filter((r) => r !== reported && r.model !== 'ensemble')
          .map((r) => ({ name: label(r), rps: r.overall.rps })),
        { name: 'Elo baseline', rps: report.rows[0].baselines.elo.rps },
      ];
      for (const alt of noOdds(report.rows).filter((r) => r.alt || r.model === 'ensemble')) {
        console.log(
          `  information: ${label(alt)} ${alt.overall.rps.toFixed(4)} on the other half (${signed(alt.overall.rps - reported.overall.rps)} vs the picked default)`,
        );
      }
      const closest = rivals.reduce((a, b) => (b.rps < a.rps ? b : a));
      const margin = closest.rps - reported.overall.rps;
      margins.push(margin);
      console.log(
        `  default best model without odds picked: ${label(picked)} (RPS ${picked.overall.rps.toFixed(4)}); on the other half ${reported.overall.rps.toFixed(4)}, ` +
          `closest rival ${closest.name} ${closest.rps.toFixed(4)}: margin ${signed(margin)}`,
      );
      verdicts.push(ensembleGoal(oracx, choose.rows, choose.competitions.join(' ')));
    }
    const mean = margins.reduce((s, m) => s + m, 0) / margins.length;
    verdicts.push(
      verdict({
        name: 'transfer',
        measured: `margin of the picked default over its closest rival on the reporting half: ${margins.map(signed).join(' and ')}`,
        baseline: 'every other single model at its defaults and the Elo baseline, same matches',
        ratio: `mean margin ${signed(mean)}`,
        goal: 'beats them on both halves (margin > 0 each) by ≥ 0.0005 RPS on average',
        pass: margins.every((m) => m > 0) && mean >= 0.0005,
      }),
    );
    return verdicts;
  } finally {
    await store.close();
  }
}

/** The shared CSVs by league, oldest season first. */
function filesByLeague() {
  const { dir, files } = dataDir();
  const by = new Map();
  for (const name of files) {
    const m = /^([A-Z0-9]+)_(\d{4}-\d{4})\.csv$/i.exec(name);
    if (m && LEAGUES.includes(m[1])) by.set(m[1], [...(by.get(m[1]) ?? []), path.join(dir, name)]);
  }
  return by;
}

/**
 * short-history: for each of the last 3 seasons of each league, a store holding only that season and the N before it
 * (features start from scratch there too), evaluated with --train-seasons N; figures pooled over the three stores.
 * ORACX_QUALITY_SHORT=window instead caps training on the full store (features keep the whole history);
 * ORACX_QUALITY_SHORT=per-league fits each league on its own seasons only (a user with one league's archive).
 */
async function shortHistory(oracx, dir) {
  const counts = (process.env.ORACX_QUALITY_SHORT_SEASONS ?? '2,3').split(',').map(Number);
  const window = process.env.ORACX_QUALITY_SHORT === 'window';
  const perLeague = process.env.ORACX_QUALITY_SHORT === 'per-league';
  const runs = protocolRuns({ withOdds: false });
  const verdicts = [];
  const full = window ? await buildStore(oracx, storeFile(dir, 'all'), [dataDir().dir]) : null;
  try {
    for (const n of counts) {
      let rows;
      if (full) {
        rows = await evaluateRuns(oracx, full, runs, { competitions: LEAGUES, lastSeasons: 3, trainSeasons: n });
      } else {
        const groups = [];
        for (let k = 0; k < 3; k++) {
          const inputs = [...filesByLeague().values()].flatMap((list) => {
            const test = list.length - 3 + k;
            return list.slice(Math.max(0, test - n), test + 1);
          });
          process.stderr.write(`archive ${k + 1}/3 with ${n} season(s) before the test season: ${inputs.map((f) => path.basename(f, '.csv')).join(' ')}\n`);
          const store = await buildStore(oracx, storeFile(dir, `short-${n}-${k}`), inputs, { quiet: true });
          try {
            // One model for all six leagues (default), or one per league, fitted on that league's seasons only.
            const fits = perLeague ? LEAGUES.map((c) => [c]) : [LEAGUES];
            for (const competitions of fits) groups.push(await evaluateRuns(oracx, store, runs, { competitions, lastSeasons: 1, trainSeasons: n }));
          } finally {
            await store.close();
          }
        }
        rows = poolRows(groups);
      }
      const how = window ? 'full store, training capped' : perLeague ? 'archive of those seasons only, one fit per league' : 'archive of those seasons only';
      printTable(`short-history, ${n} season(s) before each test season (${how}): last 3 seasons of each league`, rows, LEAGUES);
      verdicts.push(eloOrderedGoal(rows, n), ensembleGoal(oracx, rows, `short-history ${n}`));
    }
    return verdicts;
  } finally {
    await full?.close();
  }
}

/** short-history goal: no model at its defaults scores worse than elo-ordered (overall; leagues where one does are listed). */
function eloOrderedGoal(rows, n) {
  const elo = rows.find((r) => r.model === 'elo-ordered');
  if (!elo) return null;
  const others = atDefaults(rows).filter((r) => r !== elo);
  const worst = others.reduce((a, b) => (b.overall.rps > a.overall.rps ? b : a));
  const leagues = others.flatMap((r) =>
    Object.entries(r.by)
      .filter(([c, m]) => m.rps > elo.by[c].rps)
      .map(([c, m]) => `${label(r)} in ${c} (${signed(m.rps - elo.by[c].rps)})`),
  );
  if (leagues.length > 0) console.log(`\n  worse than elo-ordered in a league (information): ${leagues.join('; ')}`);
  return verdict({
    name: `short-history ${n}: defaults vs elo-ordered`,
    measured: `worst model at its defaults: ${label(worst)} RPS ${worst.overall.rps.toFixed(4)}`,
    baseline: `${label(elo)} RPS ${elo.overall.rps.toFixed(4)} on the same ${elo.overall.n} matches`,
    ratio: signed(worst.overall.rps - elo.overall.rps),
    goal: '≤ elo-ordered for every model',
    pass: worst.overall.rps <= elo.overall.rps,
  });
}
