// What a --store value can be, and what oracx does with a database that is not its own (issue 10, points 2, 3, 9).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { parseStoreLocation, redact } from '../../src/store/location.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, pgLocation, tempDir } from '../helpers/stores.js';

const postgres = DIALECTS.find((d) => d.name === 'postgres')!;

/** The one line of stderr a usage error prints. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('malformed --store values are usage errors (exit 2, one line, password redacted)', () => {
  const cases: [string, RegExp][] = [
    ['postgres://postgres@127.0.0.1:notaport/test', /port "notaport" is not a number/],
    ['postgres://postgres@127.0.0.1:99999/test', /port 99999 is out of range/],
    ['postgres://postgres@127.0.0.1:0/test', /port 0 is out of range/],
    ['postgres://[bad', /unclosed \[/],
    ['postgres://u:s3cret@[bad', /unclosed \[/],
    ['postgres://u:s3cret@127.0.0.1:x/test', /port "x"/],
    ['postgres://u:p@ss3cret@127.0.0.1:x/test', /port "x"/],
    ['postgres://postgres@127.0.0.1/test?schema=', /schema= is empty/],
    ["postgres://postgres@127.0.0.1/test?schema=a'b", /schema "a'b" is not a plain name/],
    ['postgres://postgres@127.0.0.1/test?schema=a"b', /is not a plain name/],
    ['postgres://postgres@127.0.0.1/test?schema=a&schema=b', /more than once/],
    ['postgres:/127.0.0.1/test', /starts with postgres:\/\//],
    ['mysql://127.0.0.1/test', /unknown scheme mysql/],
    ['sqlite:', /no SQLite file path/],
  ];
  for (const [value, why] of cases) {
    it(value, async () => {
      const r = await runCli(['--store', value, 'db', 'status'], { cwd: tempDir() });
      expect(r.code).toBe(2);
      const line = oneLine(r.stderr);
      expect(line).toMatch(why);
      expect(line).toContain('expected a SQLite file path');
      expect(line).not.toMatch(/s3cret|ss3cret|this is a bug|internal error/);
      expect(() => parseStoreLocation(value)).toThrow(why);
    });
  }

  it('an empty --store, or one of spaces, names the valid forms', async () => {
    for (const value of ['', '  ']) {
      const r = await runCli(['--store', value, 'db', 'status'], { cwd: tempDir() });
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/--store is empty — expected a SQLite file path, sqlite:PATH, or postgres:\/\/user@host/);
    }
  });

  it('the same from ORACX_STORE and from the config file', async () => {
    const cwd = tempDir();
    const env = await runCli(['db', 'status'], { cwd, env: { ORACX_STORE: 'postgres://u:s3cret@h:99999/d' } });
    expect(env.code).toBe(2);
    expect(oneLine(env.stderr)).toBe(
      'oracx: invalid --store "postgres://u:***@h:99999/d": port 99999 is out of range (1-65535) — expected a SQLite file path, sqlite:PATH, or postgres://user@host[:port]/database[?schema=name] (a password goes as user:password@)',
    );
  });

  it('redacts a password holding an unencoded @ whole', () => {
    expect(redact('postgres://u:p@ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redact('at postgres://u:pw@h/db and postgres://v:pw2@k/db')).toBe('at postgres://u:***@h/db and postgres://v:***@k/db');
  });
});

/** A SQLite file made by someone else, with the given statements. */
function foreignSqlite(statements: string[]): string {
  const file = path.join(tempDir(), 'theirs.db');
  const db = new Database(file);
  for (const s of statements) db.exec(s);
  db.close();
  return file;
}

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('a SQLite database that is not oracx’s is refused, untouched', () => {
  const foreign: [string, string[]][] = [
    ['a users table', ['create table users (id integer primary key, email text)', "insert into users (email) values ('a@example.com')"]],
    ['its own matches table', ['create table matches (id integer primary key, home text, away text)']],
    ['a view only', ['create view v as select 1 as x']],
    [
      'another kysely app’s migrations',
      [
        'create table kysely_migration (name varchar(255) not null primary key, timestamp varchar(255) not null)',
        "insert into kysely_migration values ('2023_01_users', '2023-01-01T00:00:00.000Z')",
        'create table users (id integer)',
      ],
    ],
  ];
  for (const [what, statements] of foreign) {
    it(what, async () => {
      const file = foreignSqlite(statements);
      const before = digest(file);
      for (const argv of [
        ['db', 'migrate'],
        ['db', 'status'],
        ['matches', 'list'],
        ['collect', 'football-data', 'nothing.csv'],
      ]) {
        const r = await runCli(['--store', file, ...argv], { cwd: path.dirname(file) });
        expect(r.code, argv.join(' ')).toBe(1);
        expect(oneLine(r.stderr)).toMatch(/is not an oracx store: .*nothing was changed — pass a new file or an oracx store to --store/);
      }
      expect(digest(file)).toBe(before);
      expect(readdirSync(path.dirname(file))).toEqual(['theirs.db']);
    });
  }

  it('a store migrated by a newer oracx is refused with that reason', async () => {
    const file = path.join(tempDir(), 'store.db');
    const store = await openStore(file);
    await store.migrate();
    await store.close();
    const db = new Database(file);
    db.exec("insert into kysely_migration values ('0099_future', '2099-01-01T00:00:00.000Z')");
    db.close();
    const r = await runCli(['--store', file, 'matches', 'list'], { cwd: path.dirname(file) });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/was migrated by a newer oracx \(migrations this version does not know: 0099_future\) — upgrade oracx/);
  });

  it('an empty SQLite file (0 bytes) is a new store', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'empty.db');
    new Database(file).close();
    const r = await runCli(['--store', file, 'db', 'migrate'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('applied 0001_initial');
  });
});

describe('read-only commands create nothing', () => {
  it('db status on a SQLite file that does not exist lists every migration as pending and creates no file', async () => {
    const dir = tempDir();
    const r = await runCli(['--store', 'new.db', 'db', 'status', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const status = r.json<{ exists: boolean; migrations: { applied: boolean }[] }>();
    expect(status.exists).toBe(false);
    expect(status.migrations.length).toBeGreaterThan(4);
    expect(status.migrations.every((m) => !m.applied)).toBe(true);
    expect(existsSync(path.join(dir, 'new.db'))).toBe(false);
    const table = await runCli(['--store', 'new.db', 'db', 'status'], { cwd: dir });
    expect(table.stdout).toContain('new.db does not exist yet: oracx db migrate (or collect) creates it');
    expect(readdirSync(dir)).toEqual([]);
  });

  describe.skipIf(!postgres.available)('on PostgreSQL', () => {
    async function schemaExists(location: string): Promise<boolean> {
      const name = /schema=([a-z0-9_]+)/i.exec(location)![1]!;
      const client = new pg.Client({ connectionString: location.replace(/[?&]schema=[^&]*/, '') });
      await client.connect();
      try {
        return (await client.query('select 1 from pg_namespace where nspname = $1', [name])).rowCount === 1;
      } finally {
        await client.end();
      }
    }

    it('db status does not create the schema; db migrate does, with every table in it', async () => {
      const location = pgLocation();
      const r = await runCli(['--store', location, 'db', 'status', '--json'], { cwd: tempDir() });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<{ migrations: { applied: boolean }[] }>().migrations.every((m) => !m.applied)).toBe(true);
      expect(await schemaExists(location)).toBe(false);
      const m = await runCli(['--store', location, 'db', 'migrate'], { cwd: tempDir() });
      expect(m.code, m.stderr).toBe(0);
      expect(await schemaExists(location)).toBe(true);
      const again = await runCli(['--store', location, 'db', 'status'], { cwd: tempDir() });
      expect(again.stdout).toContain('up to date');
    });

    it('a schema holding someone else’s tables is refused, untouched', async () => {
      const location = pgLocation();
      const name = /schema=([a-z0-9_]+)/i.exec(location)![1]!;
      const client = new pg.Client({ connectionString: location.replace(/[?&]schema=[^&]*/, '') });
      await client.connect();
      try {
        await client.query(`create schema "${name}"; create table "${name}".users (id int); create table "${name}".matches (id int)`);
        const r = await runCli(['--store', location, 'db', 'migrate'], { cwd: tempDir() });
        expect(r.code).toBe(1);
        expect(oneLine(r.stderr)).toMatch(/is not an oracx store: it holds other tables \(matches, users\)/);
        const tables = await client.query('select table_name from information_schema.tables where table_schema = $1 order by 1', [name]);
        expect(tables.rows.map((t: { table_name: string }) => t.table_name)).toEqual(['matches', 'users']);
      } finally {
        await client.end();
      }
    });
  });
});
