/** `oracx db backup|restore|verify`: `.oracx` backup files of the store (format in docs/operations.md). */
import { defineCommand } from '../src/command.js';
import { withJsonErrors } from './json-errors.js';

interface BackupFlags {
  to: string;
  format?: 'native' | 'logical';
  verify?: boolean;
}

export const dbBackup = withJsonErrors(
  defineCommand<BackupFlags>({
    path: ['db', 'backup'],
    description: 'write a consistent backup of the store to a .oracx file (safe while other processes write)',
    options: [
      { flags: '--to <file>', description: 'the backup file to write (appears only once complete)' },
      {
        flags: '--format <format>',
        description:
          'native: SQLite online backup (SQLite stores, the default); logical: dialect-neutral rows (PostgreSQL default; restores into either dialect)',
        choices: ['native', 'logical'],
      },
      { flags: '--verify', description: 'read the file back and check every table against its manifest' },
    ],
    examples: [
      'oracx db backup --to backup.oracx --verify',
      'oracx --store postgres://postgres@127.0.0.1:5432/test db backup --to pg.oracx',
      'oracx db backup --to portable.oracx --format logical',
    ],
    async run(ctx, _args, options) {
      const { UsageError } = await import('../src/errors.js');
      if (!options.to) throw new UsageError('db backup needs --to FILE', { hint: 'e.g. oracx db backup --to backup.oracx' });
      const { backupStore } = await import('../pipelines/backup.js');
      const started = performance.now();
      const result = await backupStore({
        store: ctx.config.store,
        cwd: ctx.io.cwd,
        to: options.to,
        format: options.format,
        verify: options.verify,
        signal: ctx.signal,
      });
      const rows = result.manifest.tables.reduce((n, t) => n + t.rows, 0);
      if (ctx.output.json) {
        ctx.output.printJson({
          file: result.file,
          bytes: result.bytes,
          verified: result.verified,
          rows,
          durationMs: Math.round(performance.now() - started),
          manifest: { ...result.manifest },
        });
        return;
      }
      ctx.output.printLine(
        `${result.file}: ${result.manifest.tables.length} tables, ${rows} rows, ${result.bytes} bytes (${result.manifest.payload}${result.verified ? ', verified' : ''})`,
      );
    },
  }),
);

interface RestoreFlags {
  from: string;
  verify?: boolean;
  force?: boolean;
}

export const dbRestore = withJsonErrors(
  defineCommand<RestoreFlags>({
    path: ['db', 'restore'],
    description: 'restore a .oracx backup into the store, all or nothing (refuses a store holding data without --force)',
    options: [
      { flags: '--from <file>', description: 'the backup file' },
      { flags: '--verify', description: "check every table's row count and checksum against the manifest before committing" },
      { flags: '--force', description: 'replace a store that already holds data' },
    ],
    examples: [
      'oracx db restore --from backup.oracx --verify',
      'oracx --store postgres://postgres@127.0.0.1:5432/test?schema=restored db restore --from backup.oracx --verify',
    ],
    async run(ctx, _args, options) {
      const { UsageError } = await import('../src/errors.js');
      if (!options.from) throw new UsageError('db restore needs --from FILE', { hint: 'e.g. oracx db restore --from backup.oracx --verify' });
      const { restoreStore } = await import('../pipelines/restore.js');
      const result = await restoreStore({
        store: ctx.config.store,
        cwd: ctx.io.cwd,
        from: options.from,
        verify: options.verify,
        force: options.force,
        signal: ctx.signal,
      });
      if (ctx.output.json) {
        ctx.output.printJson({
          store: result.store,
          rows: result.rows,
          tables: result.manifest.tables.length,
          verified: result.verified,
          migrated: result.migrated,
          backup: { createdAt: result.manifest.createdAt, dialect: result.manifest.dialect, oracx: result.manifest.oracx },
        });
        return;
      }
      ctx.output.printLine(
        `${result.store}: restored ${result.rows} rows in ${result.manifest.tables.length} tables from a ${result.manifest.dialect} backup of ${result.manifest.createdAt}${result.verified ? ' (verified)' : ''}`,
      );
      if (result.migrated.length > 0) ctx.output.printLine(`then applied ${result.migrated.join(', ')}`);
    },
  }),
);

export const dbVerify = withJsonErrors(
  defineCommand<{ against: string }>({
    path: ['db', 'verify'],
    description: "compare the store's tables (row counts, checksums) with a backup's manifest; exit 1 naming each table that differs",
    options: [{ flags: '--against <file>', description: 'the backup file' }],
    examples: ['oracx db verify --against backup.oracx'],
    async run(ctx, _args, options) {
      const { UsageError } = await import('../src/errors.js');
      if (!options.against) throw new UsageError('db verify needs --against FILE');
      const { verifyStoreAgainst } = await import('../pipelines/backup.js');
      const { tables } = await verifyStoreAgainst(ctx.config.store, ctx.io.cwd, options.against);
      if (ctx.output.json) ctx.output.printJson({ ok: true, tables });
      else ctx.output.printLine(`${tables.length} tables match ${options.against}`);
    },
  }),
);
