/** `oracx auth users export|delete`: what oracx stores about a user of the prediction service (GDPR access and erasure). */
import { defineCommand } from '../src/command.js';
import { confirmOrYes } from './confirm.js';

export const authUsersExport = defineCommand<Record<string, never>>({
  path: ['auth', 'users', 'export'],
  args: '<owner>',
  description: 'print, as JSON, everything stored about a user: keys (no hashes), their predictions and audit events about them',
  options: [],
  examples: ['oracx auth users export ana@example.com > ana.json'],
  async run(ctx, args) {
    const { exportUser } = await import('../src/auth/users.js');
    const { recordSecurityEvent } = await import('../src/auth/audit.js');
    const { currentActor } = await import('../src/registry/audit.js');
    const store = await ctx.store();
    const owner = args[0]!;
    const data = await exportUser(store, owner);
    await recordSecurityEvent(store, {
      actor: `cli:${currentActor(ctx.io.env)}`,
      action: 'user.export',
      target: `user:${owner}`,
      outcome: 'ok',
      ip: null,
      requestId: ctx.correlationId,
      details: { keys: data.keys.length, predictions: data.predictions.length, auditEvents: data.audit.length },
    });
    // Always JSON: the export is a document to hand over.
    ctx.output.printJson(data);
    ctx.logger.info(`exported ${data.keys.length} key(s), ${data.predictions.length} prediction(s) and ${data.audit.length} audit event(s) about ${owner}`);
  },
});

export const authUsersDelete = defineCommand<{ yes?: boolean }>({
  path: ['auth', 'users', 'delete'],
  args: '<owner>',
  description: 'erase a user: delete their keys, anonymise their predictions, pseudonymise audit events about them',
  options: [{ flags: '--yes', description: 'do not ask for confirmation (required without a terminal)' }],
  examples: ['oracx auth users delete ana@example.com', 'oracx auth users delete ana@example.com --yes --json'],
  async run(ctx, args, options) {
    const { deleteUser, userFootprint } = await import('../src/auth/users.js');
    const { currentActor } = await import('../src/registry/audit.js');
    const { UserError } = await import('../src/errors.js');
    const store = await ctx.store();
    const owner = args[0]!;
    const found = await userFootprint(store, owner);
    if (found.keys + found.predictions + found.auditEvents === 0) {
      throw new UserError(`nothing is stored about "${owner}"`, {
        hint: 'owners are matched exactly (see oracx auth keys list --all); token users by their --sub',
      });
    }
    await confirmOrYes(
      ctx,
      `Erase ${owner}: delete ${found.keys} key(s), anonymise ${found.predictions} prediction(s), pseudonymise ${found.auditEvents} audit event(s)?`,
      options.yes,
    );
    const erased = await deleteUser(store, owner, { actor: `cli:${currentActor(ctx.io.env)}`, requestId: ctx.correlationId });
    if (ctx.output.json) return ctx.output.printJson(erased);
    ctx.logger.info(
      `erased ${owner}: ${erased.keys} key(s) deleted (servers refuse them within seconds), ${erased.predictions} prediction(s) anonymised, ${erased.auditEvents} audit event(s) now under ${erased.pseudonym}`,
    );
  },
});
