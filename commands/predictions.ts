/** `oracx predictions refresh`: one pass of the prediction refresh (the same work `serve` does in the background). */
import { defineCommand } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import { integer } from './parse.js';
import { REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';

interface Options {
  model?: string;
  run?: number;
  consumer?: string;
  batch: number;
  registry: RegistryChoice;
}

export const predictionsRefresh = defineCommand<Options>({
  path: ['predictions', 'refresh'],
  description: 'recompute the stored predictions of coming matches that finished matches moved (match_finished → prediction_updated), once',
  options: [
    { flags: '--model <ref>', description: 'the model that recomputes: NAME@ALIAS (e.g. models:/oracx-e0@champion), NAME/VERSION, NAME, or a model.onnx file' },
    { flags: '--run <id>', description: 'a completed training run instead of a registered model', parse: integer(1) },
    {
      flags: '--consumer <name>',
      description: 'the outbox consumer (its cursor and lease); serve uses the default, so the two share the work',
      defaultValue: 'prediction_refresh',
    },
    { flags: '--batch <n>', description: 'events handled per transaction', defaultValue: '200', parse: integer(1) },
    REGISTRY_OPTION,
  ],
  examples: [
    'oracx predictions refresh --model models:/oracx-e0@champion',
    'oracx predictions refresh --model ./pulled/model.onnx --json',
    '*/5 * * * * oracx --store postgres://… predictions refresh --model oracx-e0@champion -q     # cron, beside or instead of serve',
  ],
  async run(ctx, _args, options) {
    if ((options.model === undefined) === (options.run === undefined)) {
      throw new UsageError(options.model === undefined ? 'pass --model or --run' : 'pass --model or --run, not both', {
        hint: 'e.g. --model oracx-e0@champion',
      });
    }
    if (!/^[a-z][a-z0-9_:-]{0,63}$/.test(options.consumer ?? ''))
      throw new UsageError(`--consumer must be a lower-case name (a-z, 0-9, _ : -), got "${options.consumer}"`);
    const store = await ctx.store();
    const { loadModelFrom, parseModelSource } = await import('../src/predict/model.js');
    const { openRegistry } = await import('./registry-context.js');
    const source = options.run !== undefined ? ({ kind: 'run', run: options.run } as const) : parseModelSource(options.model!, ctx.io.cwd);
    const model = await loadModelFrom(store, source, async () => (await openRegistry(ctx, options.registry)).registry);
    try {
      const { openPredictor } = await import('../pipelines/predict-run.js');
      const { refreshPredictions } = await import('../pipelines/prediction-refresh.js');
      const predictor = await openPredictor(store, model);
      const result = await refreshPredictions(store, {
        model,
        predictor,
        consumer: options.consumer,
        batch: options.batch,
        onProgress: (e) => {
          if (e.type === 'skipped') ctx.logger.warn(`event ${e.eventId} (match ${e.matchId ?? '?'}): ${e.reason}`);
          else if (e.type === 'refreshed')
            ctx.logger.info(`event ${e.eventId}: match ${e.matchId} finished → refreshed ${e.coming.length} coming match(es): ${e.coming.join(', ')}`);
        },
      });
      if (ctx.output.json) return ctx.output.printJson({ ...result, model: model.identity.uri });
      if (!result.leased) return ctx.output.printLine(`another process holds the "${result.consumer}" lease (serve, or another refresh): nothing done`);
      ctx.output.printLine(
        `${result.events} match_finished event(s) handled, ${result.refreshed} prediction(s) refreshed with ${model.identity.uri}, ${result.skipped.length} skipped`,
      );
    } finally {
      await model.release();
    }
  },
});
