// A process killed while setting up a new store (issue 10, point 1): a child migrates a fresh store with the built
// oracx and kills itself with SIGKILL just before its N-th SQL statement, for N spread over the whole migration and
// on both sides of every migration's record. After each kill the store must hold exactly the migrations it records
// (each migration and its record committed together or not at all), and the next migrate must finish it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';
import { migrations } from '../../src/store/migrations/index.js';
import { migrateToLatest } from '../../src/store/migrator.js';
import { ROOT } from '../helpers/cli.js';
import { DIALECTS, type DialectCase } from '../helpers/stores.js';

const CHILD = fileURLToPath(new URL('../helpers/crash-migrate.mjs', import.meta.url));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function child(store: string, killAt: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, store, String(killAt)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Every table, column, index and constraint of the store's schema but the migration record's, as comparable text. */
async function schemaOf(store: Store): Promise<string[]> {
  const db = store.db as unknown as Kysely<unknown>;
  if (store.dialect === 'sqlite') {
    const rows = await sql<{
      type: string;
      name: string;
      sql: string | null;
    }>`select type, name, sql from sqlite_master where name not like 'sqlite_autoindex%' order by type, name`.execute(db);
    return rows.rows.filter((r) => !r.name.startsWith('kysely_migration')).map((r) => `${r.type} ${r.name}: ${r.sql ?? ''}`);
  }
  const columns = await sql<{ t: string }>`
    select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as t
    from information_schema.columns where table_schema = current_schema() order by table_name, column_name`.execute(db);
  const indexes = await sql<{ t: string }>`select indexdef as t from pg_indexes where schemaname = current_schema() order by indexname`.execute(db);
  const constraints = await sql<{ t: string }>`
    select c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid) as t
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = current_schema() order by 1`.execute(db);
  // Index definitions name the (per-test) schema: drop it so stores in different schemas compare.
  return [...columns.rows, ...indexes.rows, ...constraints.rows]
    .map((r) => r.t.replace(/\b[a-z0-9_]+\.(?=[a-z_]+ USING )/g, ''))
    .filter((t) => !t.includes('kysely_migration'));
}

/** Names of the recorded migrations (none when the record table does not exist yet). */
async function recorded(store: Store): Promise<string[]> {
  const status = await store.migrationStatus();
  return status.filter((m) => m.applied).map((m) => m.name);
}

/** The schema after exactly the first k migrations, for k = 0..all (in-process, through oracx's migrator). */
async function schemasByPrefix(dialect: DialectCase): Promise<string[][]> {
  const all = migrations(dialect.name);
  const names = Object.keys(all).sort();
  const out: string[][] = [];
  for (let k = 0; k <= names.length; k++) {
    const location = dialect.newLocation();
    const store = await openStore(location);
    try {
      const subset = Object.fromEntries(names.slice(0, k).map((n) => [n, all[n]!]));
      const schema = location.includes('schema=') ? /schema=([a-z0-9_]+)/i.exec(location)![1] : undefined;
      await migrateToLatest(store.db as unknown as Kysely<unknown>, subset, { dialect: dialect.name, schema, display: location });
      out.push(await schemaOf(store));
    } finally {
      await store.close();
    }
  }
  return out;
}

/** Runs `work` over `items`, `width` at a time. */
async function pooled<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a kill -9 while migrating a new ${dialect.name} store`, () => {
    it('leaves each migration with its record or not at all, at every kill point, and the next migrate finishes the store', async () => {
      const clean = await child(dialect.newLocation(), 0);
      expect(clean.code, clean.stderr).toBe(0);
      const { statements, records } = JSON.parse(clean.stdout) as { statements: number; records: number[] };
      expect(records).toHaveLength(Object.keys(migrations(dialect.name)).length);
      const prefixes = await schemasByPrefix(dialect);
      // Every sixth statement (a kill anywhere inside one migration's transaction is the same case), plus the
      // statements on both sides of each record (the window of the original bug).
      const points = [
        ...new Set([...Array.from({ length: statements }, (_, i) => i + 1).filter((n) => n % 6 === 1), ...records.flatMap((r) => [r - 1, r, r + 1])]),
      ]
        .filter((n) => n >= 1 && n <= statements)
        .sort((a, b) => a - b);
      expect(points.length).toBeGreaterThan(30);

      const outcomes = new Map<number, number>();
      await pooled(points, 2, async (killAt) => {
        const location = dialect.newLocation();
        const run = await child(location, killAt);
        expect(run.signal, `kill point ${killAt}: ${run.stderr}`).toBe('SIGKILL');
        const store = await openStore(location);
        try {
          const done = await recorded(store);
          // The store holds exactly what the recorded migrations create: no table without its record.
          expect(await schemaOf(store), `kill point ${killAt} with ${done.length} recorded`).toEqual(prefixes[done.length]);
          outcomes.set(killAt, done.length);
          await store.migrate();
          expect(await schemaOf(store), `kill point ${killAt}, migrated again`).toEqual(prefixes.at(-1));
          expect(await recorded(store)).toEqual(Object.keys(migrations(dialect.name)).sort());
        } finally {
          await store.close();
        }
      });
      // The kills landed before, inside and after the migrations (not all at one spot).
      expect([...new Set(outcomes.values())].sort((a, b) => a - b)).toEqual(prefixes.map((_, k) => k));
    }, 240_000);
  });
}
