/** `oracx train`: fit a model and stage a model version. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { collectParam, loadParams } from './params.js';
import { integer, isoDate, list } from './parse.js';

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
    { flags: '--model <name>', description: 'logreg, mlp, dixon-coles, elo-ordered or ensemble', defaultValue: 'logreg' },
    { flags: '--features <name@version>', description: 'feature set (see oracx features list)', defaultValue: 'core@1' },
    { flags: '--competitions <codes>', description: 'division codes, comma-separated (default: all in the store)', parse: list },
    { flags: '--train-from <date>', description: 'first match date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--train-until <date>', description: 'last match date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--seed <n>', description: 'random seed (same data, params and seed ⇒ same model)', defaultValue: '0', parse: integer(0) },
    { flags: '--param <key=value>', description: 'model hyperparameter, repeatable (see --help of oracx models)', parse: collectParam },
    { flags: '--params-file <file>', description: 'JSON object of hyperparameters (e.g. written by oracx tune)' },
    { flags: '--artifacts <dir>', description: 'where run artifacts go', defaultValue: '.oracx/artifacts' },
  ],
  examples: [
    'oracx train --model logreg --features core@1 --competitions E0,D1 --train-until 2018-06-30 --seed 7',
    'oracx train --model dixon-coles --competitions E0 --param xi=0.0019 --json',
  ],
  async run(ctx, _args, options) {
    const store = await ctx.store();
    const { train } = await import('../pipelines/train.js');
    const params = loadParams(options.paramsFile, options.param, ctx.io.cwd);
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
