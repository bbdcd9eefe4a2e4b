/** `oracx mlflow sync|status`: runs recorded while the tracking server was unreachable, and their replay. */
import { defineCommand } from '../src/command.js';

interface Options {
  dryRun?: boolean;
}

export const mlflowSync = defineCommand<Options>({
  path: ['mlflow', 'sync'],
  description: 'replay spooled runs (trained while MLflow was unreachable) to MLFLOW_TRACKING_URI, each exactly once',
  options: [{ flags: '--dry-run', description: 'list what would be synced' }],
  examples: ['MLFLOW_TRACKING_URI=http://127.0.0.1:5000 oracx mlflow sync', 'oracx mlflow sync --dry-run --json'],
  async run(ctx, _args, options) {
    const store = await ctx.store();
    const { experimentLabel, pendingEntries } = await import('../src/tracking/spool.js');
    const pending = await pendingEntries(store);
    if (options.dryRun) {
      const rows = pending.map((e) => ({
        spoolId: e.id,
        trainingRunId: e.trainingRunId,
        experiment: experimentLabel(e.experiment),
        ...(e.experiment.id === undefined ? {} : { experimentId: e.experiment.id }),
        runName: e.payload.runName,
        stage: e.stage,
        attempts: e.attempts,
        lastError: e.lastError,
      }));
      if (ctx.output.json) return ctx.output.printJson({ pending: rows });
      if (rows.length === 0) return ctx.logger.info('nothing to sync');
      return ctx.output.printTable({
        head: ['spool id', 'run', 'experiment', 'name', 'stage', 'attempts', 'last error'],
        rows: rows.map((r) => [r.spoolId, r.trainingRunId ?? '—', r.experiment, r.runName, r.stage, r.attempts, r.lastError ?? '']),
      });
    }
    const { mlflowClient } = await import('../src/registry/open.js');
    const { openContext } = await import('./registry-context.js');
    const { UsageError, UserError } = await import('../src/errors.js');
    const client = await mlflowClient(openContext(ctx));
    if (!client) throw new UsageError('MLFLOW_TRACKING_URI is not set', { hint: 'export MLFLOW_TRACKING_URI=http://127.0.0.1:5000' });
    if (pending.length === 0) {
      if (ctx.output.json) return ctx.output.printJson({ synced: [], failed: [] });
      return ctx.logger.info('nothing to sync: every spooled run is in MLflow');
    }
    await client.checkServerVersion();
    const { syncSpool } = await import('../pipelines/mlflow-sync.js');
    const progress = await ctx.output.progress(`syncing ${pending.length} run(s) to MLflow`);
    let done = 0;
    const report = await syncSpool(store, client, {
      signal: ctx.signal,
      onRun: (r) => {
        progress.update(`syncing runs to MLflow: ${++done}/${pending.length}${r.ok ? '' : ` (run ${r.trainingRunId} failed)`}`);
        if (r.warning) ctx.logger.warn(`run ${r.trainingRunId}: ${r.warning}`);
      },
    }).finally(() => progress.stop());
    if (ctx.output.json) ctx.output.printJson(report);
    else {
      ctx.output.printTable({
        head: ['run', 'MLflow run', 'result'],
        rows: [...report.synced, ...report.failed].map((r) => [r.trainingRunId ?? '—', r.mlflowRunId ?? '—', r.ok ? 'synced' : `failed: ${r.error}`]),
      });
    }
    if (report.failed.length > 0) {
      throw new UserError(`${report.failed.length} of ${pending.length} run(s) not synced; they stay spooled`, {
        hint: 'run oracx mlflow sync again when the server is reachable',
      });
    }
    if (ctx.signal.aborted) {
      const { Interrupted } = await import('../src/errors.js');
      throw new Interrupted(`sync interrupted after ${report.synced.length} run(s); the rest stay spooled`);
    }
  },
});
