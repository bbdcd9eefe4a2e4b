/**
 * `db backup` and the checks shared with `db restore`: a consistent snapshot of a store written as a `.oracx` file
 * (see src/store/backup/format.ts), and verification of a file or a store against a backup's manifest.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Interrupted, UserError } from '../src/errors.js';
import { compareSummaries, type TableMismatch, type TableSummary } from '../src/store/backup/checksum.js';
import { extractPayload, hashFile, readBackupHeader, tempNameFor, writeBackupFile, type Manifest } from '../src/store/backup/format.js';
import { summarize, summarizeLogical, writeLogical } from '../src/store/backup/logical.js';
import { openPostgresReader, openSqliteReader, type SnapshotReader } from '../src/store/backup/readers.js';
import { parseStoreLocation, type StoreLocation } from '../src/store/location.js';
import { connectionArgs, hasTool, runTool } from '../src/store/backup/pg-tools.js';
import { oracxPackage } from '../src/version.js';

export interface BackupOptions {
  /** The `--store` value. */
  store: string;
  cwd: string;
  /** The backup file to write. */
  to: string;
  /**
   * `native`: the dialect's own format (SQLite online backup; pg_dump custom format). `logical`: dialect-neutral rows,
   * restorable into either dialect. Default: native, except PostgreSQL without pg_dump on PATH.
   */
  format?: 'native' | 'logical';
  verify?: boolean;
  signal?: AbortSignal;
  /**
   * SQLite online backup: pages copied per step. Default: all in one step, a read transaction that in WAL mode does
   * not block writers and cannot be restarted by them (SQLite restarts a stepped copy each time another connection
   * writes, which on a busy store could never finish).
   */
  pagesPerStep?: number;
  /** Called between steps of SQLite's online backup. */
  onPages?: (progress: { totalPages: number; remainingPages: number }) => void;
  /** Called after each table is written (logical) or checksummed (native). */
  onTable?: (table: string, rows: number) => void;
}

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
  verified: boolean;
}

/** Verification found differences (exit 1); `mismatches` names each table. */
export class VerifyFailed extends UserError {
  constructor(
    what: string,
    readonly mismatches: TableMismatch[],
  ) {
    super(`${what}: ${mismatches.length} table(s) differ: ${mismatches.map(describeMismatch).join('; ')}`, {
      hint: 'the data does not match the backup manifest',
    });
    this.name = 'VerifyFailed';
  }
}

/** One line about one table's difference. */
export function describeMismatch(m: TableMismatch): string {
  if (!m.actual) return `${m.name}: missing (expected ${m.expected!.rows} rows)`;
  if (!m.expected) return `${m.name}: ${m.actual.rows} rows not in the backup`;
  if (m.expected.rows !== m.actual.rows) return `${m.name}: ${m.actual.rows} rows, expected ${m.expected.rows}`;
  return `${m.name}: same ${m.actual.rows} rows but different contents (checksum ${m.actual.checksum.slice(0, 12)}…, expected ${m.expected.checksum.slice(0, 12)}…)`;
}

/** Opens a snapshot reader over a store location (the SQLite file must exist). */
export async function openReader(location: StoreLocation): Promise<SnapshotReader> {
  if (location.dialect === 'postgres') return openPostgresReader(location);
  if (location.target === ':memory:' || !existsSync(location.target))
    throw new UserError(`store ${location.display} does not exist`, { hint: 'pass the store to back up with --store' });
  return openSqliteReader(location.target);
}

/** Refuses a database holding tables but no oracx migration record, or nothing at all. */
async function assertOracx(reader: SnapshotReader, display: string): Promise<void> {
  if ((await reader.migrations()).length > 0) return;
  if ((await reader.tables()).length > 0) throw new UserError(`${display} is not an oracx store (tables but no oracx migration record); nothing was backed up`);
  throw new UserError(`${display} holds no oracx store yet; nothing was backed up`, { hint: 'check --store (a PostgreSQL store needs its ?schema=)' });
}

/** Writes a backup of the store to `options.to`; the file appears only once complete. */
export async function backupStore(options: BackupOptions): Promise<BackupResult> {
  const location = parseStoreLocation(options.store, options.cwd);
  const file = path.resolve(options.cwd, options.to);
  if (!existsSync(path.dirname(file))) throw new UserError(`cannot write ${file}: folder ${path.dirname(file)} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory())
    throw new UserError(`cannot write ${file}: it is a folder`, { hint: 'pass a file name, e.g. --to backups/oracx.oracx' });
  const pgDump = location.dialect === 'postgres' && hasTool('pg_dump');
  const format = options.format ?? (location.dialect === 'sqlite' || pgDump ? 'native' : 'logical');
  if (format === 'native' && location.dialect === 'postgres' && !pgDump) {
    throw new UserError('--format native needs pg_dump on PATH for a PostgreSQL store', {
      hint: 'install the PostgreSQL client tools, or use --format logical',
    });
  }
  const temps: string[] = [];
  const temp = (tag: string) => {
    const name = tempNameFor(file, tag);
    temps.push(name);
    return name;
  };
  try {
    let reader: SnapshotReader;
    let payloadFile: string;
    if (location.dialect === 'sqlite') {
      const source = await openReader(location);
      try {
        await assertOracx(source, location.display);
      } finally {
        await source.close();
      }
      // The online backup API copies a consistent snapshot while other processes keep writing.
      const snapshot = temp('snapshot');
      const { default: SqliteDatabase } = await import('better-sqlite3');
      const raw = new SqliteDatabase(location.target, { readonly: true, fileMustExist: true });
      try {
        await raw.backup(snapshot, {
          progress: (p) => {
            if (options.signal?.aborted) throw new Interrupted();
            options.onPages?.(p);
            return options.pagesPerStep ?? 0x7fffffff;
          },
        });
      } finally {
        raw.close();
      }
      reader = await openSqliteReader(snapshot);
      payloadFile = snapshot;
    } else {
      reader = await openReader(location);
      payloadFile = '';
    }
    let tables: TableSummary[];
    let migrations: Awaited<ReturnType<typeof reader.migrations>>;
    let schema: string | undefined;
    try {
      await assertOracx(reader, location.display);
      migrations = await reader.migrations();
      if (format === 'logical') {
        payloadFile = temp('payload');
        tables = await writeLogical(reader, payloadFile, options.signal, options.onTable);
      } else if (location.dialect === 'postgres') {
        // pg_dump reads the snapshot this transaction exported: the archive and the checksums see the same rows.
        const exported = await reader.exportSnapshot!();
        schema = exported.schema;
        payloadFile = temp('payload');
        const connection = connectionArgs(location.target);
        const args = [
          '--format=custom',
          '--no-owner',
          '--no-privileges',
          `--schema=${schema}`,
          `--snapshot=${exported.snapshot}`,
          `--file=${payloadFile}`,
          ...connection.args,
        ];
        await runTool('pg_dump', args, options.signal, connection.env);
        tables = await summarize(reader, options.signal, options.onTable);
      } else tables = await summarize(reader, options.signal, options.onTable);
    } finally {
      await reader.close();
    }
    const { sha256, bytes } = await hashFile(payloadFile);
    const manifest: Manifest = {
      format: 1,
      oracx: oracxPackage().version,
      createdAt: new Date().toISOString(),
      dialect: location.dialect,
      payload: format === 'logical' ? 'logical' : location.dialect === 'sqlite' ? 'sqlite' : 'pg_dump',
      ...(schema === undefined ? {} : { schema }),
      migrations,
      tables,
      payloadBytes: bytes,
      payloadSha256: sha256,
    };
    if (options.signal?.aborted) throw new Interrupted();
    await writeBackupFile(file, manifest, payloadFile, options.signal);
    if (options.verify) await verifyBackupFile(file);
    return { file, bytes: statSync(file).size, manifest, verified: options.verify === true };
  } catch (error) {
    if (options.signal?.aborted && !(error instanceof Interrupted)) throw new Interrupted();
    throw error;
  } finally {
    for (const t of temps) await rm(t, { force: true });
  }
}

/** Recomputes a backup file's row counts and checksums from its payload and compares them with its manifest. */
export async function verifyBackupFile(file: string): Promise<{ manifest: Manifest; tables: TableSummary[] }> {
  const header = await readBackupHeader(file);
  let tables: TableSummary[];
  if (header.manifest.payload === 'pg_dump') {
    // Rows of an archive are only readable by restoring it: check its table of contents holds every table's data.
    const extracted = tempNameFor(file, 'verify');
    try {
      await extractPayload(file, header, extracted);
      const list = await runTool('pg_restore', ['--list', extracted]).catch((error: unknown) => {
        throw new UserError(`${file}: pg_restore cannot read its archive: ${(error as Error).message}`, { cause: error });
      });
      const missing = header.manifest.tables.filter((t) => !new RegExp(`TABLE DATA ${header.manifest.schema} ${t.name} `).test(list));
      if (missing.length > 0)
        throw new VerifyFailed(
          `${file}: its archive lacks tables`,
          missing.map((t) => ({ name: t.name, expected: { rows: t.rows, checksum: t.checksum }, actual: null })),
        );
    } finally {
      await rm(extracted, { force: true });
    }
    return { manifest: header.manifest, tables: header.manifest.tables };
  }
  if (header.manifest.payload === 'logical') {
    await extractPayload(file, header, null);
    try {
      tables = await summarizeLogical(file, header.payloadOffset);
    } catch (error) {
      throw new UserError(`${file}: cannot read its payload: ${(error as Error).message}`, { cause: error });
    }
  } else {
    const extracted = tempNameFor(file, 'verify');
    try {
      await extractPayload(file, header, extracted);
      const reader = await openSqliteReader(extracted);
      try {
        tables = await summarize(reader);
      } finally {
        await reader.close();
      }
    } finally {
      await rm(extracted, { force: true });
    }
  }
  const mismatches = compareSummaries(header.manifest.tables, tables);
  if (mismatches.length > 0) throw new VerifyFailed(`${file} does not match its own manifest`, mismatches);
  return { manifest: header.manifest, tables };
}

/** Compares a store's current contents with a backup's manifest (e.g. after a restore, or to see what changed since). */
export async function verifyStoreAgainst(store: string, cwd: string, file: string): Promise<{ manifest: Manifest; tables: TableSummary[] }> {
  const { manifest } = await readBackupHeader(file);
  const location = parseStoreLocation(store, cwd);
  const reader = await openReader(location);
  let tables: TableSummary[];
  try {
    tables = await summarize(reader);
  } finally {
    await reader.close();
  }
  const mismatches = compareSummaries(manifest.tables, tables);
  if (mismatches.length > 0) throw new VerifyFailed(`${location.display} differs from ${file}`, mismatches);
  return { manifest, tables };
}
