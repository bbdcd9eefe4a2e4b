// db backup | restore | verify on SQLite and PostgreSQL stores (real databases): round trips equal to the source,
// tampering and corruption reported naming what is wrong, nothing restored over data without --force, and backups
// that cross dialects through the logical format.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { dumpStore } from '../helpers/dump.js';
import { DIALECTS, tempDir, type DialectCase } from '../helpers/stores.js';

const SEASON = path.join(FIXTURES, 'full', 'E0_2019-2020.csv');

async function seeded(dialect: DialectCase): Promise<string> {
  const store = dialect.newLocation();
  const r = await runCli(['--store', store, 'collect', 'football-data', SEASON, '-q'], { cwd: tempDir() });
  expect(r.code, r.stderr).toBe(0);
  // A few rows with timestamps written by the application (ms) besides those from now() (µs on PostgreSQL).
  const s = await openStore(store);
  try {
    await s.db
      .insertInto('security_audit')
      .values({ actor: 'test', action: 'backup.test', outcome: 'ok', details: '{"a":1}', created_at: '2025-01-31T12:00:00.123Z' })
      .execute();
  } finally {
    await s.close();
  }
  return store;
}

async function dump(store: string) {
  const s = await openStore(store);
  try {
    return await dumpStore(s);
  } finally {
    await s.close();
  }
}

/** Drops a test store's PostgreSQL schema (the store is lost). */
async function dropSchema(store: string): Promise<void> {
  const url = new URL(store);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`drop schema "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

const cli = (store: string, ...args: string[]) => runCli(['--store', store, ...args], { cwd: tempDir() });

/** Edits a backup's manifest in place (payload untouched). */
function rewriteManifest(file: string, edit: (manifest: { tables: { name: string; checksum: string }[] }) => void): void {
  const bytes = readFileSync(file);
  const first = bytes.indexOf(10);
  const second = bytes.indexOf(10, first + 1);
  const manifest = JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as { tables: { name: string; checksum: string }[] };
  edit(manifest);
  writeFileSync(file, Buffer.concat([bytes.subarray(0, first + 1), Buffer.from(`${JSON.stringify(manifest)}\n`), bytes.subarray(second + 1)]));
}

/** Rewrites a backup's payload and its sha256/size in the manifest (a consistent file whose data was changed). */
function rewriteLogical(file: string, edit: (lines: string[]) => string[]): void {
  const bytes = readFileSync(file);
  const first = bytes.indexOf(10);
  const second = bytes.indexOf(10, first + 1);
  const manifest = JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as { payloadBytes: number; payloadSha256: string };
  const lines = gunzipSync(bytes.subarray(second + 1))
    .toString('utf8')
    .split('\n');
  const payload = gzipSync(edit(lines).join('\n'));
  manifest.payloadBytes = payload.length;
  manifest.payloadSha256 = createHash('sha256').update(payload).digest('hex');
  writeFileSync(file, Buffer.concat([bytes.subarray(0, first + 1), Buffer.from(`${JSON.stringify(manifest)}\n`), payload]));
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`db backup and restore on ${dialect.name}`, () => {
    it('backs up, restores into a new store with --verify, equal to the source; refuses a store with data unless --force', async () => {
      const source = await seeded(dialect);
      const file = path.join(tempDir(), 'b.oracx');
      const b = await cli(source, 'db', 'backup', '--to', file, '--verify', '--json');
      expect(b.code, b.stderr).toBe(0);
      const doc = b.json<{
        verified: boolean;
        manifest: { dialect: string; payload: string; tables: { name: string; rows: number }[]; migrations: { name: string }[] };
      }>();
      expect(doc.verified).toBe(true);
      expect(doc.manifest.dialect).toBe(dialect.name);
      expect(doc.manifest.payload).toBe(dialect.name === 'sqlite' ? 'sqlite' : 'pg_dump');
      expect(doc.manifest.tables.find((t) => t.name === 'matches')!.rows).toBe(380);
      expect(doc.manifest.migrations.length).toBeGreaterThan(0);
      const before = await dump(source);

      let target = dialect.newLocation();
      if (dialect.name === 'postgres') {
        // pg_restore recreates the schema it dumped: another schema is refused, with the way out.
        const elsewhere = await cli(target, 'db', 'restore', '--from', file);
        expect(elsewhere.code).toBe(1);
        expect(elsewhere.stderr).toMatch(/pg_dump archive of schema "oracx_t_\w+".*--format logical/);
        // The disaster: the schema is gone; the backup brings it back under its name.
        await dropSchema(source);
        target = source;
      }
      const r = await cli(target, 'db', 'restore', '--from', file, '--verify', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<{ verified: boolean; rows: number }>().verified).toBe(true);
      expect(await dump(target)).toEqual(before);
      expect((await cli(target, 'db', 'verify', '--against', file)).code).toBe(0);
      // The restored store works: ids keep counting after the restored ones.
      const again = await cli(target, 'collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2018-2019.csv'), '-q');
      expect(again.code, again.stderr).toBe(0);
      expect((await dump(target)).matches).toHaveLength(760);

      const refused = await cli(target, 'db', 'restore', '--from', file);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/already holds data .*nothing was restored.*--force/);
      const forced = await cli(target, 'db', 'restore', '--from', file, '--force', '--verify');
      expect(forced.code, forced.stderr).toBe(0);
      expect(await dump(target)).toEqual(before);

      // A restore that fails verification leaves the store it would have replaced as it was.
      expect((await cli(target, 'collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2018-2019.csv'), '-q')).code).toBe(0);
      const grown = await dump(target);
      const lying = path.join(path.dirname(file), 'lying.oracx');
      writeFileSync(lying, readFileSync(file));
      rewriteManifest(lying, (m) => {
        m.tables.find((t) => t.name === 'teams')!.checksum = '0'.repeat(32);
      });
      const failed = await cli(target, 'db', 'restore', '--from', lying, '--force', '--verify');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/1 table\(s\) differ: teams: same \d+ rows but different contents/);
      expect(await dump(target)).toEqual(grown);
    });

    it('db verify names the table a changed row is in; a restore whose data differs from its manifest changes nothing', async () => {
      const source = await seeded(dialect);
      const dir = tempDir();
      const file = path.join(dir, 'b.oracx');
      expect((await cli(source, 'db', 'backup', '--to', file, '--format', 'logical')).code).toBe(0);
      const target = dialect.newLocation();
      expect((await cli(target, 'db', 'restore', '--from', file, '--verify')).code).toBe(0);
      const s = await openStore(target);
      try {
        await s.db.updateTable('odds').set({ home: 9.99 }).where('match_id', '=', 5).where('bookmaker', '=', 'B365').execute();
      } finally {
        await s.close();
      }
      const v = await cli(target, 'db', 'verify', '--against', file);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/1 table\(s\) differ: odds: same \d+ rows but different contents/);

      // A file whose payload was edited consistently (sha256 updated): only --verify can tell.
      const tampered = path.join(dir, 't.oracx');
      writeFileSync(tampered, readFileSync(file));
      rewriteLogical(tampered, (lines) => {
        const at = lines.findIndex((l) => l.startsWith('{"table":"teams"'));
        lines[at + 1] = lines[at + 1]!.replace(/"[^"]+"\]$/, '"Not A Team"]');
        return lines;
      });
      expect((await cli(source, 'db', 'backup', '--to', file, '--verify')).code).toBe(0);
      const fresh = dialect.newLocation();
      const bad = await cli(fresh, 'db', 'restore', '--from', tampered, '--verify');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/teams: same \d+ rows but different contents/);
      expect(bad.stderr).toMatch(/was left as it was/);
      // Rows that break a foreign key (a match dropped, its odds kept): refused, nothing restored.
      const orphaned = path.join(dir, 'o.oracx');
      writeFileSync(orphaned, readFileSync(tampered));
      rewriteLogical(orphaned, (lines) => {
        const at = lines.findIndex((l) => l.startsWith('{"table":"matches"'));
        return lines.filter((_, i) => i !== at + 1);
      });
      const broken = await cli(fresh, 'db', 'restore', '--from', orphaned);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/foreign key/i);
      expect(broken.stderr).toMatch(/nothing was restored|not a usable oracx backup/);
      if (dialect.name === 'sqlite') expect(existsSync(fresh)).toBe(false);

      const status = await cli(fresh, 'db', 'verify', '--against', file);
      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/matches: missing|matches: 0 rows|does not exist/);
    });

    it('refuses corrupt, truncated and foreign files with a clear error, writing nothing', async () => {
      const source = await seeded(dialect);
      const dir = tempDir();
      const file = path.join(dir, 'b.oracx');
      expect((await cli(source, 'db', 'backup', '--to', file)).code).toBe(0);
      const bytes = readFileSync(file);
      const cases: [string, Buffer, RegExp][] = [
        ['truncated', bytes.subarray(0, bytes.length - 100), /truncated: \d+ of \d+ payload bytes/],
        [
          'flipped',
          Buffer.concat([bytes.subarray(0, bytes.length - 50), Buffer.from([bytes[bytes.length - 50]! ^ 0xff]), bytes.subarray(bytes.length - 49)]),
          /does not match its sha256 \(the file is corrupt\)/,
        ],
        ['foreign', Buffer.from('id,name\n1,x\n'), /does not start with "ORACX-BACKUP 1"/],
        ['empty', Buffer.alloc(0), /the file is empty/],
        ['manifest', Buffer.from('ORACX-BACKUP 1\n{"format":1,"oracx":'), /manifest is cut short/],
      ];
      for (const [name, content, message] of cases) {
        const bad = path.join(dir, `${name}.oracx`);
        writeFileSync(bad, content);
        const target = dialect.newLocation();
        const r = await cli(target, 'db', 'restore', '--from', bad);
        expect(r.code, name).toBe(1);
        expect(r.stderr, name).toMatch(/is not a usable oracx backup/);
        expect(r.stderr, name).toMatch(message);
        if (dialect.name === 'sqlite') expect(existsSync(target), name).toBe(false);
      }
      const missing = await cli(dialect.newLocation(), 'db', 'restore', '--from', path.join(dir, 'nope.oracx'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no such file/);
    });
  });
}

describe.skipIf(!DIALECTS[1]!.available)('backups across dialects', () => {
  it('SQLite backup → PostgreSQL store, and PostgreSQL backup → SQLite file, verified and equal', async () => {
    const [sqlite, postgres] = DIALECTS as [DialectCase, DialectCase];
    const source = await seeded(sqlite);
    const dir = tempDir();
    const native = path.join(dir, 'native.oracx');
    expect((await cli(source, 'db', 'backup', '--to', native)).code).toBe(0);
    const pgStore = postgres.newLocation();
    const toPg = await cli(pgStore, 'db', 'restore', '--from', native, '--verify');
    expect(toPg.code, toPg.stderr).toBe(0);
    expect(await dump(pgStore)).toEqual(await dump(source));

    const archive = path.join(dir, 'pg.dump.oracx');
    expect((await cli(pgStore, 'db', 'backup', '--to', archive, '--verify')).code).toBe(0);
    const refused = await cli(sqlite.newLocation(), 'db', 'restore', '--from', archive);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/pg_dump archive: it restores into PostgreSQL only.*--format logical/);
    const fromPg = path.join(dir, 'pg.oracx');
    expect((await cli(pgStore, 'db', 'backup', '--to', fromPg, '--format', 'logical', '--verify')).code).toBe(0);
    const back = sqlite.newLocation();
    const toSqlite = await cli(back, 'db', 'restore', '--from', fromPg, '--verify');
    expect(toSqlite.code, toSqlite.stderr).toBe(0);
    expect(await dump(back)).toEqual(await dump(source));
    expect((await cli(back, 'db', 'verify', '--against', native)).code).toBe(0);
    expect((await cli(back, 'db', 'check')).code).toBe(0);
  });
});

describe('db backup and restore flags', () => {
  it('are listed in --help; a missing --to/--from is a usage error; --json failures print an error document', async () => {
    const help = await runCli(['db', '--help']);
    expect(help.stdout).toMatch(/backup/);
    expect(help.stdout).toMatch(/restore/);
    expect(help.stdout).toMatch(/verify/);
    const store = path.join(tempDir(), 's.db');
    expect((await cli(store, 'db', 'backup')).code).toBe(2);
    expect((await cli(store, 'db', 'restore')).code).toBe(2);
    const missing = await cli(store, 'db', 'backup', '--to', path.join(tempDir(), 'b.oracx'), '--json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    expect(missing.json<{ ok: boolean }>().ok).toBe(false);
    expect(existsSync(store)).toBe(false);
    if (DIALECTS[1]!.available) {
      const nothing = await cli(DIALECTS[1]!.newLocation(), 'db', 'backup', '--to', path.join(tempDir(), 'b.oracx'));
      expect(nothing.code).toBe(1);
      expect(nothing.stderr).toMatch(/holds no oracx store yet; nothing was backed up/);
    }
    const intoFolder = await cli(store, 'db', 'backup', '--to', tempDir());
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.stderr).toMatch(/it is a folder/);
  });
});
