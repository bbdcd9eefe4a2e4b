/**
 * Opening MLflow and the model registry, for commands and the server alike: MLflow when MLFLOW_TRACKING_URI is set
 * (or asked for), else the registry in the local store.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MlflowClient } from '../mlflow/client.js';
import type { Store } from '../store/connect.js';
import type { Registry } from './types.js';

/** Which registry to open: auto (MLflow when configured, else local), local or mlflow. */
export type RegistryChoice = 'auto' | 'local' | 'mlflow';

/** Folder of the local registry's packages, beside the run artifacts (relative to the working directory). */
export const LOCAL_REGISTRY_DIR = '.oracx/registry';

/** What opening a client or registry needs from its caller. */
export interface OpenContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * An MLflow client from MLFLOW_* variables, or null when MLFLOW_TRACKING_URI is unset. `quick` caps retries and the
 * timeout, for calls that must not hold up a command that can spool instead (train).
 */
export async function mlflowClient(ctx: OpenContext, options: { quick?: boolean } = {}): Promise<MlflowClient | null> {
  const { mlflowSettingsFromEnv } = await import('../mlflow/settings.js');
  const settings = mlflowSettingsFromEnv(ctx.env);
  if (!settings) return null;
  const { MlflowClient } = await import('../mlflow/client.js');
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

/** The registry to work on; the MLflow server's version is checked before anything is changed there. */
export async function openRegistry(store: Store, ctx: OpenContext, choice: RegistryChoice): Promise<{ registry: Registry; client: MlflowClient | null }> {
  const client = choice === 'local' ? null : await mlflowClient(ctx);
  if (choice === 'mlflow' && !client)
    throw new UsageError('--registry mlflow needs MLFLOW_TRACKING_URI', { hint: 'export MLFLOW_TRACKING_URI=http://127.0.0.1:5000' });
  if (client) {
    await client.checkServerVersion();
    const { MlflowRegistry } = await import('./mlflow.js');
    const { redactUri } = await import('../mlflow/settings.js');
    const registry = new MlflowRegistry(client, redactUri(ctx.env.MLFLOW_TRACKING_URI ?? ''), undefined, (message) => ctx.logger.warn(message));
    return { registry, client };
  }
  const { LocalRegistry } = await import('./local.js');
  return { registry: new LocalRegistry(store, path.resolve(ctx.cwd, LOCAL_REGISTRY_DIR)), client: null };
}
