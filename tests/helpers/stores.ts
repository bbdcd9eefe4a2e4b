// The DIALECTS list every store test loops over (kysely-style): SQLite in a temp file and PostgreSQL in a fresh schema.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';

export interface DialectCase {
  name: 'sqlite' | 'postgres';
  /** Empty when the dialect's service is unavailable (tests skip with a printed reason). */
  available: boolean;
  /** A fresh, empty store location for one test. */
  newLocation(): string;
}

let counter = 0;
const tempDirs: string[] = [];

/** A temp folder removed at process exit. */
export function tempDir(prefix = 'oracx-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const pgUrl = inject('pgUrl');
const runId = inject('runId');

/** A PostgreSQL store URL in its own schema (dropped by the global teardown). */
export function pgLocation(): string {
  const schema = `oracx_t_${runId}_${process.pid}_${++counter}`;
  return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}`;
}

export const DIALECTS: DialectCase[] = [
  { name: 'sqlite', available: true, newLocation: () => path.join(tempDir(), 'store.db') },
  { name: 'postgres', available: pgUrl !== '', newLocation: pgLocation },
];

/** Opens and migrates a fresh store of the dialect. */
export async function freshStore(dialect: DialectCase): Promise<Store> {
  const store = await openStore(dialect.newLocation());
  await store.migrate();
  return store;
}

/** Opens the store at location, gives it to `use`, and closes it whatever happens. */
export async function withStore<T>(location: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(location);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
