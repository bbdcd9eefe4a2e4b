// What the built CLI loads (bench/pipeline-run: `oracx run` with nothing changed against `oracx --help`). A run
// that logs nothing does not load winston; one that logs loads it and writes the same JSON lines. The bundle carries
// zod without its 50 locales and kysely without the dialects oracx does not use. Each spawned process records the
// CommonJS modules it loaded (a --require preload).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

/** Spawns bin/oracx.js in `cwd`; returns its result and the CommonJS files it loaded (package-relative paths). */
async function spawnRecording(argv: string[], cwd: string) {
  const record = path.join(cwd, `loaded-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const preload = path.join(cwd, 'record-loaded.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const result = await spawnCli(argv, { cwd, env: { NODE_OPTIONS: `--require ${preload}`, NO_COLOR: '1' } }).done;
  const loaded = (JSON.parse(readFileSync(record, 'utf8')) as string[]).map((f) => f.replace(/^.*node_modules\//, ''));
  return { ...result, loaded };
}

const packages = (files: string[]) => new Set(files.map((f) => f.split('/')[0]));

describe('oracx run with nothing changed (built CLI)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(path.join(dir, 'oracx.yaml'), `name: loads\nstages:\n  collect:\n    inputs: [${JSON.stringify(path.join(FIXTURES, 'full'))}]\n`);
    const first = await runCli(['run', '-q'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
  });

  it('under -q skips every stage and never loads winston', async () => {
    const r = await spawnRecording(['run', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/collect\s*│\s*collect\s*│\s*skipped/);
    expect(r.stderr).toBe('');
    const loaded = packages(r.loaded);
    expect(loaded.has('better-sqlite3')).toBe(true); // the store was opened
    expect(loaded.has('winston')).toBe(false);
    expect(loaded.has('logform')).toBe(false);
  });

  it('without -q loads winston for its log lines, which keep their JSON shape', async () => {
    const r = await spawnRecording(['run'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(packages(r.loaded).has('winston')).toBe(true);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        level: 'info',
        message: expect.stringMatching(/^stage collect \(collect\): skipped/),
        correlationId: expect.any(String),
        timestamp: expect.any(String),
      },
    ]);
  });

  it('--help loads no CommonJS dependency at all', async () => {
    const r = await spawnRecording(['--help'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: oracx');
    expect(r.loaded.filter((f) => !f.endsWith('record-loaded.cjs'))).toEqual([]);
  });
});

describe('the bundle (dist/cli)', () => {
  it('carries zod without its locales (only en, which zod installs by default)', () => {
    const maps = readdirSync(path.join(ROOT, 'dist/cli')).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    const sources = maps.flatMap((f) => (JSON.parse(readFileSync(path.join(ROOT, 'dist/cli', f), 'utf8')) as { sources: string[] }).sources);
    expect(sources.some((s) => s.includes('/zod/v4/core/'))).toBe(true);
    expect(sources.filter((s) => s.includes('/zod/v4/locales/')).map((s) => s.replace(/^.*locales\//, ''))).toEqual(['en.js']);
  });

  it('carries kysely without the dialects oracx does not use (a dynamic import of kysely would pull them in)', () => {
    const maps = readdirSync(path.join(ROOT, 'dist/cli')).filter((f) => f.endsWith('.js.map'));
    const sources = maps.flatMap((f) => (JSON.parse(readFileSync(path.join(ROOT, 'dist/cli', f), 'utf8')) as { sources: string[] }).sources);
    expect(sources.some((s) => s.includes('/kysely/dist/esm/dialect/sqlite/'))).toBe(true);
    expect(sources.filter((s) => /\/kysely\/dist\/esm\/dialect\/(mysql|mssql)\//.test(s))).toEqual([]);
  });
});

describe('oracx.yaml parsed once (built CLI, pipelines/pipeline-spec-cache.ts)', () => {
  it('a second run reads the parsed file from the cache; an edit is parsed (and a mistake reported) again', async () => {
    const dir = tempDir();
    const cache = path.join(dir, 'cache');
    const file = path.join(dir, 'oracx.yaml');
    writeFileSync(file, `name: cached\nstages:\n  collect:\n    inputs: [${JSON.stringify(path.join(FIXTURES, 'full'))}]\n`);
    const run = () => spawnCli(['run', '-v'], { cwd: dir, env: { ORACX_CACHE_DIR: cache, NO_COLOR: '1' } }).done;
    const said = (stderr: string) => stderr.split('\n').filter((l) => l.includes('oracx.yaml: parsed'));

    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(said(first.stderr)).toEqual([expect.stringContaining(`oracx.yaml: parsed, kept in ${path.join(cache, 'pipelines')}`)]);
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/collect\s*│\s*collect\s*│\s*skipped/);
    expect(said(second.stderr)).toEqual([expect.stringContaining('oracx.yaml: parsed before, read from')]);

    writeFileSync(file, readFileSync(file, 'utf8').replace('  collect:', '  colect:'));
    const broken = await run();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('unknown kind "colect" — did you mean "collect"?');
    expect(said(broken.stderr)).toEqual([]);
  });
});
