/** `oracx db migrate|status`: schema migrations. */
import { defineCommand } from '../src/command.js';

export const dbMigrate = defineCommand<Record<string, never>>({
  path: ['db', 'migrate'],
  description: 'apply pending migrations to the store',
  examples: ['oracx db migrate', 'oracx --store postgres://postgres@127.0.0.1:5432/test db migrate'],
  async run(ctx) {
    const store = await ctx.store({ migrate: false });
    const { applied } = await store.migrate();
    if (ctx.output.json) ctx.output.printJson({ store: store.location, applied });
    else ctx.output.printLine(applied.length === 0 ? `${store.location}: up to date` : `${store.location}: applied ${applied.join(', ')}`);
  },
});

export const dbStatus = defineCommand<Record<string, never>>({
  path: ['db', 'status'],
  description: 'list migrations, applied and pending',
  examples: ['oracx db status --json'],
  async run(ctx) {
    const { StoreNotFound } = await import('../src/store/connect.js');
    // Read-only: a store that does not exist yet is reported as such, not created.
    const opened = await ctx.store({ migrate: false, create: false, readOnly: true }).catch(async (error: unknown) => {
      if (!(error instanceof StoreNotFound)) throw error;
      const { migrationNames } = await import('../src/store/migrations/index.js');
      return { location: error.display, missing: true, migrations: migrationNames().map((name) => ({ name, applied: false, executedAt: null })) };
    });
    const store = 'missing' in opened ? opened : { location: opened.location, missing: false, migrations: await opened.migrationStatus() };
    const { migrations } = store;
    if (ctx.output.json) {
      ctx.output.printJson({ store: store.location, exists: !store.missing, migrations });
      return;
    }
    ctx.output.printTable({
      head: ['migration', 'status', 'applied at'],
      rows: migrations.map((m) => [m.name, m.applied ? 'applied' : 'pending', m.executedAt]),
    });
    const pending = migrations.filter((m) => !m.applied).length;
    if (store.missing) ctx.output.printLine(`${store.location} does not exist yet: oracx db migrate (or collect) creates it`);
    else ctx.output.printLine(pending === 0 ? 'up to date' : `${pending} pending: run oracx db migrate`);
  },
});

export const dbCheck = defineCommand<{ quick?: boolean }>({
  path: ['db', 'check'],
  description: "check the store's integrity (SQLite: integrity_check and foreign keys); exit 1 when damaged",
  options: [{ flags: '--quick', description: 'PRAGMA quick_check only (what commands that write run first)' }],
  examples: ['oracx db check', 'oracx --store backup.db db check --json'],
  async run(ctx, _args, options) {
    const { UserError } = await import('../src/errors.js');
    const store = await ctx.store({ migrate: false, create: false, readOnly: true });
    const result = await store.check(options.quick ? 'quick' : 'full');
    if (ctx.output.json) ctx.output.printJson({ store: store.location, ...result });
    else if (result.ok) ctx.output.printLine(`${store.location}: ok (${result.checked}, ${result.durationMs} ms)`);
    else for (const problem of result.problems) ctx.output.printLine(problem);
    if (!result.ok) {
      throw new UserError(`${store.location} is damaged: ${result.problems.length} problem(s) found by ${result.checked}`, {
        hint: `restore the file from a backup, or recover what is readable with sqlite3 ${store.location} .recover`,
      });
    }
  },
});
