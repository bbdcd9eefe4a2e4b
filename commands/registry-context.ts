/** The command side of the registry: the --registry flag and the OpenContext a command run provides. */
import type { OptionDef } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { OpenContext, RegistryChoice } from '../src/registry/open.js';
import type { Registry } from '../src/registry/types.js';
import type { MlflowClient } from '../src/mlflow/client.js';

export type { RegistryChoice } from '../src/registry/open.js';

export const REGISTRY_OPTION: OptionDef = {
  flags: '--registry <backend>',
  description: 'where registered models live: auto (MLflow when MLFLOW_TRACKING_URI is set, else the local store), local or mlflow',
  defaultValue: 'auto',
  choices: ['auto', 'local', 'mlflow'],
};

/** What src/registry/open.ts and pipelines/track.ts need from a command run. */
export function openContext(ctx: Context): OpenContext {
  return { env: ctx.io.env, cwd: ctx.io.cwd, logger: ctx.logger, signal: ctx.signal };
}

/** The registry a command works on (see src/registry/open.ts). */
export async function openRegistry(ctx: Context, choice: RegistryChoice): Promise<{ registry: Registry; client: MlflowClient | null }> {
  const { openRegistry: open } = await import('../src/registry/open.js');
  return open(await ctx.store(), openContext(ctx), choice);
}

/** Fails (exit 1) before a tracked command does any work when MLFLOW_EXPERIMENT_ID names no experiment on the server. */
export async function checkTrackingExperiment(ctx: Context): Promise<void> {
  const { checkExperiment } = await import('../pipelines/track.js');
  await checkExperiment(openContext(ctx));
}
