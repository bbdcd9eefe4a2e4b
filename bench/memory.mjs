/**
 * memory: peak RSS of `oracx collect football-data` on a ~100 MB file built from real E0 2019-20 rows
 * (every copy gets its own team-name suffix or dates, so every row is a distinct match), with rows/s alongside.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BenchError, ROOT, dataDir, fixed, int, median, msSince, table, tempDir, verdict } from './lib.mjs';

export const description = 'peak RSS of `oracx collect football-data` on a generated ~100 MB CSV (goal < 250 MB)';

const GOAL_MB = 250;
const TARGET_BYTES = Number(process.env.ORACX_BENCH_MEMORY_BYTES ?? 100 * 1024 * 1024);
const REPS = Number(process.env.ORACX_BENCH_REPS ?? 3);
const TEMPLATE = 'E0_2019-2020.csv';
// Copies share a team suffix in groups of this many; each group shifts its dates by 4 years (keeps 29 Feb valid).
const SUFFIXES = 40;
const MB = 1024 * 1024;

/** Writes the big CSV: the template's header, then its data rows over and over with distinct keys. */
export async function generate(file) {
  const { dir } = dataDir();
  const text = readFileSync(path.join(dir, TEMPLATE), 'utf8').replace(/\r/g, '');
  const [header, ...data] = text.split('\n').filter((l) => l !== '');
  const names = header.split(',');
  const col = (n) => {
    const i = names.indexOf(n);
    if (i < 0) throw new BenchError(`${TEMPLATE} has no ${n} column`);
    return i;
  };
  const [date, home, away] = [col('Date'), col('HomeTeam'), col('AwayTeam')];
  const rows = data.map((l) => l.split(','));
  const out = createWriteStream(file);
  let bytes = 0;
  const write = async (s) => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`${header}\r\n`);
  let copy = 0;
  let lines = 0;
  while (bytes < TARGET_BYTES) {
    const suffix = ` ${copy % SUFFIXES}`;
    const shift = 4 * Math.floor(copy / SUFFIXES);
    let chunk = '';
    for (const r of rows) {
      const f = [...r];
      const [d, m, y] = f[date].split('/');
      f[date] = `${d}/${m}/${Number(y) + shift}`;
      f[home] += suffix;
      f[away] += suffix;
      chunk += `${f.join(',')}\r\n`;
      lines++;
    }
    await write(chunk);
    copy++;
  }
  out.end();
  await once(out, 'finish');
  return { bytes: statSync(file).size, lines, copies: copy };
}

/** Reads VmHWM/VmRSS (kB) of a live process; undefined once it is gone. */
async function memoryOf(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/** Runs `node bin/oracx.js ARGS`, sampling its memory every 50 ms; returns wall time and the highest VmHWM seen. */
async function measure(args) {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'oracx.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let peakKb = 0;
  let samples = 0;
  const sample = async () => {
    const m = await memoryOf(child.pid);
    if (m) {
      samples++;
      peakKb = Math.max(peakKb, m.hwm, m.rss);
    }
  };
  const timer = setInterval(sample, 50);
  await sample();
  const [code] = await once(child, 'exit');
  clearInterval(timer);
  const ms = msSince(start);
  if (code !== 0) throw new BenchError(`oracx ${args.join(' ')} exited ${code}:\n${stderr.trim()}`);
  return { ms, peakMb: (peakKb * 1024) / MB, samples };
}

function countRows(dbFile) {
  const db = new Database(dbFile, { readonly: true });
  try {
    const n = (t) => db.prepare(`select count(*) from ${t}`).pluck().get();
    return { matches: n('matches'), odds: n('odds'), quarantined: n('quarantine') };
  } finally {
    db.close();
  }
}

/** Runs the benchmark; returns true when the goal is met. */
export async function run() {
  const { dir } = dataDir();
  const tmp = await tempDir();
  try {
    console.log(`memory: ${description}`);
    const file = path.join(tmp.dir, TEMPLATE);
    const genStart = process.hrtime.bigint();
    const gen = await generate(file);
    console.log(
      `  input    : ${file}: ${fixed(gen.bytes / MB)} MB, ${int(gen.lines)} data lines ` +
        `(${gen.copies} copies of ${TEMPLATE}'s rows, ${SUFFIXES} team suffixes × date shifts; ${fixed(msSince(genStart) / 1000)} s to write)`,
    );
    console.log(`  reps     : ${REPS}, fresh store each time, memory sampled every 50 ms from /proc/<pid>/status (ORACX_BENCH_REPS to change)`);

    // Reference in the same run: the same command on the real 175 KB file, i.e. the CLI's floor for a collect.
    const small = [];
    for (let i = 0; i < REPS; i++) {
      const db = path.join(tmp.dir, `small${i}.db`);
      small.push((await measure(['--store', db, 'collect', 'football-data', path.join(dir, TEMPLATE)])).peakMb);
    }

    const rows = [];
    const peaks = [];
    const rates = [];
    for (let i = 0; i < REPS; i++) {
      const db = path.join(tmp.dir, `m${i}.db`);
      const r = await measure(['--store', db, 'collect', 'football-data', file]);
      const c = countRows(db);
      if (c.matches + c.quarantined !== gen.lines) {
        throw new BenchError(`store holds ${c.matches} matches + ${c.quarantined} quarantined, expected ${gen.lines} lines accounted for`);
      }
      const n = c.matches + c.odds;
      peaks.push(r.peakMb);
      rates.push(n / (r.ms / 1000));
      rows.push([String(i + 1), int(c.matches), int(c.odds), fixed(r.ms / 1000), int(rates.at(-1)), fixed(r.peakMb), String(r.samples)]);
    }
    console.log('');
    table(['rep', 'matches', 'odds', 'wall s', 'rows/s', 'peak RSS MB', 'samples'], rows);

    const peak = median(peaks);
    console.log(`\n  rows/s   : median ${int(median(rates))} (matches + odds written, wall time of the whole command)`);
    return verdict({
      name: 'memory',
      measured: `peak RSS (VmHWM) of oracx collect on ${fixed(gen.bytes / MB)} MB: median ${fixed(peak)} MB`,
      baseline: `same command on the real ${TEMPLATE} (${fixed(statSync(path.join(dir, TEMPLATE)).size / 1024)} KB): median ${fixed(median(small))} MB`,
      ratio: `${fixed(peak / GOAL_MB)} × goal (${fixed(peak / median(small))} × the small-file peak)`,
      goal: `< ${GOAL_MB} MB`,
      pass: peak < GOAL_MB,
    });
  } finally {
    await tmp.cleanup();
  }
}
