/** Opening MLflow and the model registry from a command: MLflow when MLFLOW_TRACKING_URI is set, else the local store. */
import path from 'node:path';
import type { Context } from '../src/context.js';
import { UsageError } from '../src/errors.js';
import type { OptionDef } from '../src/command.js';
import type { MlflowClient } from '../src/mlflow/client.js';
import type { Registry } from '../src/registry/types.js';
import type { Store } from '../src/store/connect.js';
import type { SpoolPayload } from '../src/tracking/spool.js';

export type RegistryChoice = 'auto' | 'local' | 'mlflow';

export const REGISTRY_OPTION: OptionDef = {
  flags: '--registry <backend>',
  description: 'where registered models live: auto (MLflow when MLFLOW_TRACKING_URI is set, else the local store), local or mlflow',
  defaultValue: 'auto',
  choices: ['auto', 'local', 'mlflow'],
};

/** Folder of the local registry's packages, beside the run artifacts. */
export const LOCAL_REGISTRY_DIR = '.oracx/registry';

/**
 * An MLflow client from MLFLOW_* variables, or null when MLFLOW_TRACKING_URI is unset. `quick` caps retries and the
 * timeout, for calls that must not hold up a command that can spool instead (train).
 */
export async function mlflowClient(ctx: Context, options: { quick?: boolean } = {}): Promise<MlflowClient | null> {
  const { mlflowSettingsFromEnv } = await import('../src/mlflow/settings.js');
  const settings = mlflowSettingsFromEnv(ctx.io.env);
  if (!settings) return null;
  const { MlflowClient } = await import('../src/mlflow/client.js');
  const tuned = options.quick ? { ...settings, maxRetries: Math.min(settings.maxRetries, 2), timeoutMs: Math.min(settings.timeoutMs, 10_000) } : settings;
  let warned = false;
  return new MlflowClient(tuned, {
    signal: ctx.signal,
    onRetry: (r) => {
      const line = `MLflow ${r.endpoint}: attempt ${r.attempt} failed (${r.reason}); retrying in ${r.delayMs} ms`;
      // Retries can take a while (MLflow's defaults: 7, backing off): say so once, the rest at debug level.
      if (warned) return ctx.logger.debug(line);
      warned = true;
      ctx.logger.warn(`${line} (up to ${tuned.maxRetries} retries; MLFLOW_HTTP_REQUEST_MAX_RETRIES to change)`);
    },
  });
}

/** The registry a command works on; the MLflow server's version is checked before anything is changed there. */
export async function openRegistry(ctx: Context, choice: RegistryChoice): Promise<{ registry: Registry; client: MlflowClient | null }> {
  const store = await ctx.store();
  const client = choice === 'local' ? null : await mlflowClient(ctx);
  if (choice === 'mlflow' && !client) throw new UsageError('--registry mlflow needs MLFLOW_TRACKING_URI', { hint: 'export MLFLOW_TRACKING_URI=http://127.0.0.1:5000' });
  if (client) {
    await client.checkServerVersion();
    const { MlflowRegistry } = await import('../src/registry/mlflow.js');
    const { redactUri } = await import('../src/mlflow/settings.js');
    return { registry: new MlflowRegistry(client, redactUri(ctx.io.env.MLFLOW_TRACKING_URI ?? '')), client };
  }
  const { LocalRegistry } = await import('../src/registry/local.js');
  return { registry: new LocalRegistry(store, path.resolve(ctx.io.cwd, LOCAL_REGISTRY_DIR)), client: null };
}

/**
 * Logs one run (a training run, an evaluation) to MLflow when MLFLOW_TRACKING_URI is set: spooled first, synced at
 * once, left spooled with a warning when the server cannot be reached. `what` names it in messages ("run 12").
 * Returns the MLflow run id, or null (not configured, or spooled).
 */
export async function logToMlflow(
  ctx: Context,
  store: Store,
  what: string,
  input: { trainingRunId: number | null; payload: () => SpoolPayload | Promise<SpoolPayload>; artifactDir: string | null },
): Promise<string | null> {
  const client = await mlflowClient(ctx, { quick: true });
  if (!client) return null;
  const { experimentName, trackPayload } = await import('../pipelines/track.js');
  const outcome = await trackPayload(store, client, {
    trainingRunId: input.trainingRunId,
    payload: await input.payload(),
    artifactDir: input.artifactDir,
    experiment: experimentName(ctx.io.env),
    signal: ctx.signal,
  });
  if (outcome.error !== undefined) {
    ctx.logger.warn(`${what} not logged to MLflow (${outcome.error}); it is spooled in the store: replay it with oracx mlflow sync`);
    return null;
  }
  ctx.logger.info(`${what} logged to MLflow as run ${outcome.mlflowRunId}`);
  return outcome.mlflowRunId;
}
