/** `oracx train`: fit a model and stage a model version. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, PARAM_OPTION, SEED_OPTION } from './model-options.js';
import { loadParams } from './params.js';
import { isoDate, list } from './parse.js';

interface Options {
  model: string;
  features: string;
  competitions?: string[];
  trainFrom?: string;
  trainUntil?: string;
  seed: number;
  param?: Record<string, ParamValue>;
  paramsFile?: string;
  artifacts: string;
}

export const trainCommand = defineCommand<Options>({
  path: ['train'],
  description: 'train a model on a window of finished matches; records the run, per-epoch logs and artifacts',
  options: [
    MODEL_OPTION,
    FEATURES_OPTION,
    { flags: '--competitions <codes>', description: 'division codes, comma-separated (default: all in the store)', parse: list },
    { flags: '--train-from <date>', description: 'first match date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--train-until <date>', description: 'last match date (yyyy-mm-dd)', parse: isoDate },
    SEED_OPTION,
    PARAM_OPTION,
    { flags: '--params-file <file>', description: 'JSON or YAML file of hyperparameters (e.g. best-params.json written by oracx tune)' },
    { flags: '--artifacts <dir>', description: 'where run artifacts go', defaultValue: '.oracx/artifacts' },
  ],
  examples: [
    'oracx train --model logreg --features core@1 --competitions E0,D1 --train-until 2018-06-30 --seed 7',
    'oracx train --model dixon-coles --competitions E0 --param xi=0.0019 --json',
  ],
  async run(ctx, _args, options) {
    const store = await ctx.store();
    const { train } = await import('../pipelines/train.js');
    const params = await loadParams(options.paramsFile, options.param, ctx.io.cwd);
    const progress = await ctx.output.progress(`training ${options.model}`);
    const result = await train(store, {
      model: options.model,
      featureSet: options.features,
      competitions: options.competitions ?? [],
      trainFrom: options.trainFrom,
      trainUntil: options.trainUntil,
      seed: options.seed,
      params,
      artifactsDir: path.resolve(ctx.io.cwd, options.artifacts),
      signal: ctx.signal,
      onEpoch: (log) => progress.update(`training ${options.model}: epoch ${log.epoch} loss ${log.loss.toFixed(4)}${log.valLoss === undefined ? '' : ` val ${log.valLoss.toFixed(4)}`}`),
    }).finally(() => progress.stop());
    ctx.logger.info(`run ${result.runId}: ${result.model} on ${result.nMatches} matches, model version ${result.modelVersionId} staged`);
    if (ctx.output.json) return ctx.output.printJson(result);
    ctx.output.printTable({
      head: ['run', 'model', 'features', 'matches', 'window', 'train RPS', 'train log loss', 'version', 'artifacts'],
      rows: [[
        result.runId,
        result.model,
        result.featureSet,
        result.nMatches,
        `${result.trainFrom} … ${result.trainUntil}`,
        result.trainMetrics.rps.toFixed(4),
        result.trainMetrics.logLoss.toFixed(4),
        `${result.modelVersionId} (staged)`,
        path.relative(ctx.io.cwd, result.artifactPath) || '.',
      ]],
    });
  },
});
