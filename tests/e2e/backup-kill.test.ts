// A backup killed with SIGKILL at any point leaves no file under the name asked for (only a dot-named temporary
// file), and the next backup works; on SQLite (online backup API, page by page) and PostgreSQL (logical export).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const bundle = path.join(ROOT, 'dist', 'test', `backup-child-${process.pid}.mjs`);
afterAll(() => rmSync(bundle, { force: true }));

function buildChild(): void {
  if (existsSync(bundle)) return;
  mkdirSync(path.dirname(bundle), { recursive: true });
  execFileSync(
    path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
    ['tests/helpers/backup-child.ts', '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${bundle}`, '--log-level=error'],
    { cwd: ROOT },
  );
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a backup killed on ${dialect.name}`, () => {
    it('leaves no backup file; a later backup completes and verifies', async () => {
      buildChild();
      const store = dialect.newLocation();
      const c = await runCli(['--store', store, 'collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd: tempDir() });
      expect(c.code, c.stderr).toBe(0);
      const dir = tempDir();
      const file = path.join(dir, 'nightly.oracx');
      const child = spawn(process.execPath, [bundle, store, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => (d.toString().includes('started') ? resolve() : undefined));
        child.on('exit', () => reject(new Error(`child exited before starting: ${stderr}`)));
      });
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      expect(existsSync(file)).toBe(false);
      // Killed mid-way: its temporary work is there, under dot-names only.
      const left = readdirSync(dir);
      expect(left.length).toBeGreaterThan(0);
      expect(left.every((f) => f.startsWith('.nightly.oracx.'))).toBe(true);

      const b = await runCli(['--store', store, 'db', 'backup', '--to', file, '--verify'], { cwd: dir });
      expect(b.code, b.stderr).toBe(0);
      expect(existsSync(file)).toBe(true);
    });
  });
}

describe('a SQLite backup while another process writes', () => {
  it('completes, verifies, and restores a store as of one moment', async () => {
    const store = path.join(tempDir(), 'busy.db');
    const c = await runCli(['--store', store, 'collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2019-2020.csv'), '-q'], { cwd: tempDir() });
    expect(c.code, c.stderr).toBe(0);
    // Another process inserting audit rows, one transaction each, as a running `serve` would.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1], { timeout: 5000 });
         const ins = db.prepare("insert into security_audit (actor, action, outcome) values ('w', 'write', 'ok')");
         let n = 0; const end = Date.now() + 20000;
         while (Date.now() < end) { ins.run(); n++; if (n === 50) process.stdout.write('writing\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }`,
        store,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout.on('data', (d: Buffer) => (d.toString().includes('writing') ? resolve() : undefined)));
      const countIn = (file: string) => {
        const db = new Database(file, { readonly: true });
        try {
          return (db.prepare('select count(*) as n from security_audit').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      const count = () => countIn(store);
      const dir = tempDir();
      const low = count();
      for (const i of [1, 2, 3]) {
        const b = await runCli(['--store', store, 'db', 'backup', '--to', path.join(dir, `b${i}.oracx`), '--verify'], { cwd: dir });
        expect(b.code, b.stderr).toBe(0);
      }
      const high = count();
      expect(high).toBeGreaterThan(low);
      const target = path.join(dir, 'restored.db');
      const r = await runCli(['--store', target, 'db', 'restore', '--from', path.join(dir, 'b3.oracx'), '--verify'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const restored = countIn(target);
      expect(restored).toBeGreaterThanOrEqual(low);
      expect(restored).toBeLessThanOrEqual(high);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
