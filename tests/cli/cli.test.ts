// The CLI in-process: help, usage errors, config precedence, db commands, error mapping.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

describe('oracx CLI basics', () => {
  it('prints help with every command group and examples', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['collect', 'matches', 'data', 'db', '--store', '--json', 'Examples:']) expect(r.stdout).toContain(word);
  });

  it('prints help with examples for a subcommand', async () => {
    const r = await runCli(['collect', 'football-data', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--strict');
    expect(r.stdout).toContain('$ oracx collect football-data');
  });

  it('prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on an unknown option or command, naming it', async () => {
    const a = await runCli(['matches', 'list', '--bogus']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--bogus');
    const b = await runCli(['frobnicate']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('frobnicate');
  });

  it('exits 2 on a bad flag value with the expected form', async () => {
    const r = await runCli(['matches', 'list', '--from', '2019-13-45']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('yyyy-mm-dd');
  });

  it('exits 2 with the list of subcommands when one is missing', async () => {
    const r = await runCli(['db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing subcommand.*migrate, status/);
  });
});

describe('configuration precedence: flags > env > config file > defaults', () => {
  it('uses ./oracx.db by default, the config file, then env, then the flag', async () => {
    const dir = tempDir();
    const status = async (args: string[], env: Record<string, string> = {}) => {
      const r = await runCli([...args, 'db', 'status', '--json'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ store: string }>().store;
    };
    expect(await status([])).toBe(path.join(dir, 'oracx.db'));
    writeFileSync(path.join(dir, 'oracx.config.json'), JSON.stringify({ store: 'from-file.db' }));
    expect(await status([])).toBe(path.join(dir, 'from-file.db'));
    expect(await status([], { ORACX_STORE: 'from-env.db' })).toBe(path.join(dir, 'from-env.db'));
    expect(await status(['--store', 'from-flag.db'], { ORACX_STORE: 'from-env.db' })).toBe(path.join(dir, 'from-flag.db'));
    expect(await status(['--store', 'sqlite:prefixed.db'])).toBe(path.join(dir, 'prefixed.db'));
  });

  it('rejects an invalid config file with the key and the valid keys', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ stor: 'x.db' }));
    const r = await runCli(['--config', 'bad.json', 'db', 'status'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.json.*stor/);
    expect(r.stderr).toContain('valid keys: store');
    writeFileSync(path.join(dir, 'broken.json'), '{ "store": ');
    const s = await runCli(['--config', 'broken.json', 'db', 'status'], { cwd: dir });
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('not valid JSON');
    const t = await runCli(['--config', 'missing.json', 'db', 'status'], { cwd: dir });
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('missing.json does not exist');
  });

  it('rejects an invalid env value naming the variable', async () => {
    const r = await runCli(['db', 'status'], { cwd: tempDir(), env: { ORACX_LOG_FORMAT: 'xml' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ORACX_LOG_FORMAT');
  });
});

describe('db migrate / status', () => {
  it('lists pending, applies, then reports up to date', async () => {
    const dir = tempDir();
    const before = await runCli(['db', 'status'], { cwd: dir });
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/0001_initial.*pending/);
    const migrate = await runCli(['db', 'migrate', '--json'], { cwd: dir });
    expect(migrate.json<{ applied: string[] }>().applied.slice(0, 2)).toEqual(['0001_initial', '0002_models']);
    const again = await runCli(['db', 'migrate'], { cwd: dir });
    expect(again.stdout).toContain('up to date');
    const after = await runCli(['db', 'status', '--json'], { cwd: dir });
    expect(after.json<{ migrations: { applied: boolean }[] }>().migrations.every((m) => m.applied)).toBe(true);
  });

  it('writes JSON log lines with a correlation id when stderr is not a TTY', async () => {
    const dir = tempDir();
    const r = await runCli(['matches', 'list'], { cwd: dir });
    expect(r.code).toBe(0);
    const logLine = r.stderr.split('\n').find((l) => l.includes('applied migrations'));
    expect(logLine).toBeDefined();
    const parsed = JSON.parse(logLine!) as { level: string; correlationId: string };
    expect(parsed.level).toBe('info');
    expect(parsed.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('store errors', () => {
  it('fails within 5 s on an unreachable PostgreSQL without printing the password', async () => {
    const started = Date.now();
    const r = await runCli(['--store', 'postgres://alice:s3cret@127.0.0.1:1/nowhere', 'db', 'status']);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot connect to PostgreSQL at postgres://alice:***@127.0.0.1:1/nowhere');
    expect(r.stderr).not.toContain('s3cret');
  });

  it('names a SQLite store whose folder does not exist', async () => {
    const r = await runCli(['--store', '/nonexistent/folder/x.db', 'db', 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/nonexistent/folder');
  });

  it('refuses a file that is not a SQLite database', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'notes.db'), 'this is not sqlite, just text that is long enough to be read as a header'.repeat(20));
    const r = await runCli(['--store', 'notes.db', 'db', 'status'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('notes.db');
  });
});
