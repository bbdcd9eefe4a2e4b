/**
 * collect-sqlite: `collectFootballData` over the 70 shared files into a fresh SQLite store, against a baseline of
 * one prepared better-sqlite3 INSERT per table in one transaction over the same, already parsed rows.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { preParse } from './dataset.mjs';
import { dataDir, fixed, fromDist, int, msSince, tempDir, compareCollect, timedCollect } from './lib.mjs';

export const description = 'rows/s of collect football-data (70 files) into a fresh SQLite store vs raw prepared inserts';

const GOAL = 0.5;
const REPS = Number(process.env.ORACX_BENCH_REPS ?? 5);

async function countRows(store) {
  const count = async (table) =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { matches: await count('matches'), odds: await count('odds') };
}

async function runOracx(openStore, collectFootballData, dir) {
  const tmp = await tempDir();
  try {
    const store = await openStore(path.join(tmp.dir, 'oracx.db'));
    try {
      const { ms, result } = await timedCollect(store, collectFootballData, dir);
      return { ms, ...(await countRows(store)), quarantined: result.totals.quarantined };
    } finally {
      await store.close();
    }
  } finally {
    await tmp.cleanup();
  }
}

async function runBaseline(openStore, data) {
  const tmp = await tempDir();
  const file = path.join(tmp.dir, 'baseline.db');
  try {
    // Same schema as oracx's store: created by the real migrations, then closed.
    const store = await openStore(file);
    await store.migrate();
    await store.close();

    const db = new Database(file);
    try {
      // The pragmas openStore sets.
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      const { MATCH_WRITE_COLUMNS: mc, ODDS_WRITE_COLUMNS: oc } = data;
      const marks = (n) => Array.from({ length: n }, () => '?').join(', ');
      const insertCompetition = db.prepare('insert into competitions (id, code) values (?, ?)');
      const insertTeam = db.prepare('insert into teams (id, name) values (?, ?)');
      const insertAlias = db.prepare('insert into team_aliases (alias, team_id) values (?, ?)');
      const insertMatch = db.prepare(`insert into matches (${mc.join(', ')}) values (${marks(mc.length)})`);
      const insertOdds = db.prepare(`insert into odds (match_id, ${oc.join(', ')}) values (?, ${marks(oc.length)})`);
      const write = db.transaction(() => {
        for (const c of data.competitions) insertCompetition.run(c.id, c.code);
        for (const t of data.teams) {
          insertTeam.run(t.id, t.name);
          insertAlias.run(t.alias, t.id);
        }
        for (const m of data.matches) {
          const id = insertMatch.run(m.values).lastInsertRowid;
          for (const q of m.odds) insertOdds.run(id, ...q);
        }
      });
      const start = process.hrtime.bigint();
      write();
      const ms = msSince(start);
      const matches = db.prepare('select count(*) from matches').pluck().get();
      const odds = db.prepare('select count(*) from odds').pluck().get();
      return { ms, matches, odds };
    } finally {
      db.close();
    }
  } finally {
    await tmp.cleanup();
  }
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  const { dir, files } = dataDir();
  const { openStore } = await fromDist('src/store/connect.js');
  const { collectFootballData } = await fromDist('pipelines/collect.js');

  console.log(`collect-sqlite: ${description}`);
  console.log(`  data     : ${files.length} files in ${dir}`);
  const parseStart = process.hrtime.bigint();
  const data = await preParse(dir, files);
  console.log(
    `  pre-parse: ${int(data.lines)} data lines → ${int(data.matchCount)} matches + ${int(data.oddsCount)} odds quotes, ` +
      `${int(data.quarantined)} quarantined (${fixed(msSince(parseStart) / 1000)} s, not timed)`,
  );
  console.log(`  reps     : ${REPS} of each, interleaved, fresh database file each time (ORACX_BENCH_REPS to change)`);
  console.log('');

  return compareCollect({
    name: 'collect-sqlite',
    reps: REPS,
    goal: GOAL,
    baselineText: 'one prepared INSERT per table, one transaction, WAL + synchronous=NORMAL',
    runOracx: () => runOracx(openStore, collectFootballData, dir),
    runBaseline: () => runBaseline(openStore, data),
  });
}
