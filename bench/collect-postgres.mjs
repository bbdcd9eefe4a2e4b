/**
 * collect-postgres: `collectFootballData` over the 70 shared files into a fresh PostgreSQL schema, against a baseline
 * of raw COPY (pg-copy-streams) of the same, already parsed rows into the same tables of another fresh schema.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { preParse } from './dataset.mjs';
import { BenchError, dataDir, fixed, fromDist, int, msSince, compareCollect, timedCollect } from './lib.mjs';

export const description = 'rows/s of collect football-data (70 files) into a fresh PostgreSQL schema vs raw COPY';

const GOAL = 0.5;
const REPS = Number(process.env.ORACX_BENCH_REPS ?? 5);
const PG_URL = process.env.ORACX_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The store URL for a schema (keeps any query parameters the base URL has). */
function withSchema(schema) {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** COPY text format field, as the oracx writer escapes it. */
function copyField(value) {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (ch) => (ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\\\'));
}

/** Serialises rows lazily into ~64 KB COPY text chunks (serialisation is part of the timed write). */
function* copyText(rows) {
  let buffer = '';
  for (const row of rows) {
    buffer += `${row.map(copyField).join('\t')}\n`;
    if (buffer.length >= 65536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer !== '') yield buffer;
}

async function copy(client, target, rows) {
  await pipeline(Readable.from(copyText(rows)), client.query(copyFrom(`copy ${target} from stdin`)));
}

async function adminClient() {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new BenchError(`cannot connect to PostgreSQL at ${PG_URL} (${error.message}); set ORACX_BENCH_PG_URL`);
  }
  return client;
}

async function countRows(client, schema) {
  const one = async (t) => Number((await client.query(`select count(*)::int as n from "${schema}".${t}`)).rows[0].n);
  return { matches: await one('matches'), odds: await one('odds') };
}

async function runOracx(admin, openStore, collectFootballData, dir, schema) {
  try {
    const store = await openStore(withSchema(schema));
    try {
      const { ms } = await timedCollect(store, collectFootballData, dir);
      return { ms, ...(await countRows(admin, schema)) };
    } finally {
      await store.close();
    }
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

async function runBaseline(admin, openStore, data, schema) {
  try {
    // Same tables, constraints and indexes as oracx's store: created by the real migrations.
    const store = await openStore(withSchema(schema));
    await store.migrate();
    await store.close();

    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      const { MATCH_WRITE_COLUMNS: mc, ODDS_WRITE_COLUMNS: oc } = data;
      const start = process.hrtime.bigint();
      await client.query('begin');
      await copy(
        client,
        'competitions (id, code)',
        data.competitions.map((c) => [c.id, c.code]),
      );
      await copy(
        client,
        'teams (id, name)',
        data.teams.map((t) => [t.id, t.name]),
      );
      await copy(
        client,
        'team_aliases (alias, team_id)',
        data.teams.map((t) => [t.alias, t.id]),
      );
      await copy(
        client,
        `matches (id, ${mc.join(', ')})`,
        (function* () {
          for (const m of data.matches) yield [m.id, ...m.values];
        })(),
      );
      await copy(
        client,
        `odds (match_id, ${oc.join(', ')})`,
        (function* () {
          for (const m of data.matches) for (const q of m.odds) yield [m.id, ...q];
        })(),
      );
      await client.query('commit');
      const ms = msSince(start);
      return { ms, ...(await countRows(admin, schema)) };
    } finally {
      await client.end();
    }
  } finally {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  const { dir, files } = dataDir();
  const admin = await adminClient();
  try {
    const { openStore } = await fromDist('src/store/connect.js');
    const { collectFootballData } = await fromDist('pipelines/collect.js');
    const server = (await admin.query('show server_version')).rows[0].server_version;

    console.log(`collect-postgres: ${description}`);
    console.log(`  data     : ${files.length} files in ${dir}`);
    console.log(`  database : ${PG_URL.replace(/:[^:@/]*@/, ':***@')} (PostgreSQL ${server}), schema oracx_bench_${process.pid}_* per run, dropped after`);
    const parseStart = process.hrtime.bigint();
    const data = await preParse(dir, files);
    console.log(
      `  pre-parse: ${int(data.lines)} data lines → ${int(data.matchCount)} matches + ${int(data.oddsCount)} odds quotes, ` +
        `${int(data.quarantined)} quarantined (${fixed(msSince(parseStart) / 1000)} s, not timed)`,
    );
    console.log(`  reps     : ${REPS} of each, interleaved (ORACX_BENCH_REPS to change)`);
    console.log('');

    return await compareCollect({
      name: 'collect-postgres',
      reps: REPS,
      goal: GOAL,
      baselineText: 'raw COPY of competitions, teams, aliases, matches, odds in one transaction',
      runOracx: (i) => runOracx(admin, openStore, collectFootballData, dir, `oracx_bench_${process.pid}_${i}_o`),
      runBaseline: (i) => runBaseline(admin, openStore, data, `oracx_bench_${process.pid}_${i}_b`),
    });
  } finally {
    await admin.end();
  }
}
