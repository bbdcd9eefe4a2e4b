/** `oracx register`: a trained run becomes a new version of a registered model (ONNX + MLmodel package). */
import { defineCommand } from '../src/command.js';
import { currentActor } from '../src/registry/audit.js';
import { checkAlias, checkModelName } from '../src/registry/names.js';
import { withJsonErrors } from './json-errors.js';
import { checkTrackingExperiment, openRegistry, REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';

interface Options {
  run: string;
  name: string;
  alias?: string;
  description?: string;
  modelDescription?: string;
  quantize?: boolean;
  registry: RegistryChoice;
}

export const registerCommand = withJsonErrors(
  defineCommand<Options>({
    path: ['register'],
    description: 'export a trained run to ONNX and register it as a new model version (MLflow when configured, else the local store)',
    options: [
      { flags: '--run <id>', description: 'oracx run id (from oracx train) or its MLflow run id' },
      { flags: '--name <name>', description: 'registered model name, e.g. oracx-e0' },
      { flags: '--alias <alias>', description: 'point this alias at the new version, e.g. challenger' },
      {
        flags: '--description <text>',
        description: "the new version's description (default: one written from the run: model, window, train/validation RPS, ONNX parity)",
      },
      { flags: '--model-description <text>', description: "the registered model's description, set when this registration creates the model" },
      { flags: '--quantize', description: 'try int8 weights; kept only if RPS on the training rows moves by ≤ 0.0005' },
      REGISTRY_OPTION,
    ],
    examples: [
      'oracx register --run 12 --name oracx-e0 --alias challenger',
      'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 oracx register --run 3f2a…c9 --name oracx-e0 --json',
    ],
    async run(ctx, _args, options) {
      const { UsageError } = await import('../src/errors.js');
      if (!options.run) throw new UsageError('--run is required', { hint: 'e.g. --run 12 (see oracx train output)' });
      if (!options.name) throw new UsageError('--name is required', { hint: 'e.g. --name oracx-e0' });
      checkModelName(options.name);
      if (options.alias !== undefined) checkAlias(options.alias);
      const store = await ctx.store();
      const { registry, client } = await openRegistry(ctx, options.registry);
      // The store has a description for registered models but none for versions (MLflow has both).
      if (registry.backend === 'local' && options.description !== undefined)
        ctx.logger.warn("the local registry keeps no version descriptions: --description ignored (--model-description sets the model's)");
      if (client) await checkTrackingExperiment(ctx);
      const { registerRun } = await import('../pipelines/register.js');
      const { experimentTarget } = await import('../pipelines/track.js');
      const progress = await ctx.output.progress(`registering run ${options.run} as ${options.name}`);
      const result = await registerRun(store, registry, client, {
        run: options.run,
        name: options.name,
        alias: options.alias,
        description: options.description,
        modelDescription: options.modelDescription,
        quantize: options.quantize,
        experiment: experimentTarget(ctx.io.env),
        cwd: ctx.io.cwd,
        actor: currentActor(ctx.io.env),
        signal: ctx.signal,
      }).finally(() => progress.stop());
      const v = result.version;
      ctx.logger.info(`${v.name} version ${v.version} registered in ${registry.location}${options.alias ? ` as ${options.alias}` : ''}`);
      if (result.quantization) {
        const q = result.quantization;
        const gap = q.kept
          ? `; the registered int8 graph is within ${result.parity.maxAbsDiff.toExponential(1)} of the model (float export ${result.exportParity.maxAbsDiff.toExponential(1)})`
          : '';
        ctx.logger.info(`int8 weights ${q.kept ? 'kept' : 'not kept'}: RPS ${q.rpsFloat.toFixed(5)} float vs ${q.rpsInt8.toFixed(5)} int8${gap}`);
      }
      if (ctx.output.json) return ctx.output.printJson({ registry: registry.backend, ...result });
      ctx.output.printTable({
        head: ['model', 'version', 'aliases', 'run', 'kind', 'features', 'ONNX parity (max |Δp|)', 'source'],
        rows: [[v.name, v.version, v.aliases.join(', ') || '—', result.runId, v.modelKind, v.featureSet, result.parity.maxAbsDiff.toExponential(1), v.source]],
      });
    },
  }),
);
