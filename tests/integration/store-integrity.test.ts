// A SQLite store with damaged pages (issue 10, point 8): commands that write refuse it before writing anything,
// `oracx db check` reports it (exit 1), and reading commands say the store is damaged rather than "not a store".
import { createHash } from 'node:crypto';
import { readFileSync, openSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A store of one fixture season, checkpointed so every page is in the main file. */
async function seeded(): Promise<{ dir: string; file: string }> {
  const dir = tempDir();
  const file = path.join(dir, 'store.db');
  const r = await runCli(['--store', file, 'collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2019-2020.csv'), '-q'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { dir, file };
}

/** Overwrites the start (the b-tree page header) of three pages spread over the file, as a bad disk would. */
function damage(file: string): void {
  const db = new Database(file, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.close();
  const fd = openSync(file, 'r+');
  for (const at of [0.3, 0.5, 0.7]) writeSync(fd, Buffer.alloc(512, 0xde), 0, 512, Math.floor(pages * at) * pageSize);
  closeSync(fd);
}

describe('a SQLite store with damaged pages', () => {
  it('is refused by commands that write, with nothing written; db check reports it; reads say it is damaged', async () => {
    const { dir, file } = await seeded();
    const clean = await runCli(['--store', file, 'db', 'check', '--json'], { cwd: dir });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json<{ ok: boolean; checked: string }>()).toMatchObject({ ok: true, checked: 'PRAGMA integrity_check, PRAGMA foreign_key_check' });

    damage(file);
    const before = digest(file);
    const writers = [
      ['collect', 'football-data', path.join(FIXTURES, 'upcoming', 'fixtures.csv')],
      ['train', '--competitions', 'E0', '--no-track'],
      ['auth', 'keys', 'create', '--role', 'viewer', '--name', 'ci'],
      ['db', 'migrate'],
    ];
    for (const argv of writers) {
      const r = await runCli(['--store', file, ...argv], { cwd: dir });
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr.trim()).toMatch(/failed SQLite's integrity check \(.+\); oracx will not write to it — see every problem with oracx db check/);
      expect(r.stdout).not.toMatch(/^oxk_/m);
    }
    expect(digest(file)).toBe(before);

    const check = await runCli(['--store', file, 'db', 'check'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.stdout.trim().length).toBeGreaterThan(0);
    expect(check.stderr).toMatch(/is damaged: \d+ problem\(s\) found by PRAGMA integrity_check/);
    const quick = await runCli(['--store', file, 'db', 'check', '--quick', '--json'], { cwd: dir });
    expect(quick.code).toBe(1);
    expect(quick.json<{ ok: boolean; problems: string[] }>().ok).toBe(false);

    // db status reads only the migration record: it still answers.
    expect((await runCli(['--store', file, 'db', 'status'], { cwd: dir })).code).toBe(0);
    const report = await runCli(['--store', file, 'data', 'report'], { cwd: dir });
    expect(report.code).toBe(1);
    expect(report.stderr).toMatch(/is damaged \(database disk image is malformed\)/);
    expect(digest(file)).toBe(before);
  });

  it('db check on a store that does not exist says so and creates nothing', async () => {
    const dir = tempDir();
    const r = await runCli(['--store', 'missing.db', 'db', 'check'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.db does not exist yet/);
  });
});

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;
describe.skipIf(!postgres.available)('db check on PostgreSQL', () => {
  it('answers ok: the server checks its own pages', async () => {
    const r = await runCli(['--store', postgres.newLocation(), 'db', 'check', '--json'], { cwd: tempDir() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ ok: boolean; checked: string }>()).toMatchObject({ ok: true, checked: 'connection (PostgreSQL checks its own pages)' });
  });
});
