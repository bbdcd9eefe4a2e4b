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
    const store = await ctx.store({ migrate: false });
    const migrations = await store.migrationStatus();
    if (ctx.output.json) {
      ctx.output.printJson({ store: store.location, migrations });
      return;
    }
    ctx.output.printTable({
      head: ['migration', 'status', 'applied at'],
      rows: migrations.map((m) => [m.name, m.applied ? 'applied' : 'pending', m.executedAt]),
    });
    const pending = migrations.filter((m) => !m.applied).length;
    ctx.output.printLine(pending === 0 ? 'up to date' : `${pending} pending: run oracx db migrate`);
  },
});
