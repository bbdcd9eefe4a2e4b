/** `oracx train`: fit a model and stage a model version. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { TrainResult } from '../pipelines/train.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, PARAM_OPTION, SEED_OPTION } from './model-options.js';
import { loadParams } from './params.js';
import { checkTrackingExperiment } from './registry-context.js';
import { isoDate, list, requireOrdered } from './parse.js';

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
  track: boolean;
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
    { flags: '--no-track', description: 'do not log the run to MLflow even when MLFLOW_TRACKING_URI is set' },
  ],
  examples: [
    'oracx train --model logreg --features core@1 --competitions E0,D1 --train-until 2018-06-30 --seed 7',
    'oracx train --model dixon-coles --competitions E0 --param xi=0.002 --json',
    'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 oracx train --model mlp --features core@1   # also an MLflow run',
  ],
  async run(ctx, _args, options) {
    requireOrdered('--train-from', options.trainFrom, '--train-until', options.trainUntil);
    if (options.track) await checkTrackingExperiment(ctx);
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
      onWarning: (message) => ctx.logger.warn(message),
    }).finally(() => progress.stop());
    ctx.logger.info(`run ${result.runId}: ${result.model} on ${result.nMatches} matches, model version ${result.modelVersionId} staged`);
    // A fall-back was already warned about; a hold-out choice is worth one line too.
    for (const choice of Object.values(result.auto)) if (choice.method === 'validation') ctx.logger.info(choice.summary);
    for (const note of result.notes) ctx.logger.info(note);
    const mlflowRunId = options.track ? await track(ctx, store, result) : null;
    if (ctx.output.json) {
      const { epochLogs: _logs, ...summary } = result;
      return ctx.output.printJson({ ...summary, mlflowRunId });
    }
    ctx.output.printTable({
      head: ['run', 'model', 'features', 'matches', 'window', 'train RPS', 'train log loss', 'version', 'artifacts', 'MLflow run'],
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
        mlflowRunId ?? '—',
      ]],
    });
  },
});

/** Logs the run to MLflow when configured; returns its MLflow run id, or null (not configured, or spooled). */
async function track(ctx: Context, store: Store, result: TrainResult): Promise<string | null> {
  const { logToMlflow } = await import('../pipelines/track.js');
  const { openContext } = await import('./registry-context.js');
  const { trainingPayload } = await import('../pipelines/track.js');
  return logToMlflow(openContext(ctx), store, `run ${result.runId}`, {
    trainingRunId: result.runId,
    payload: () => trainingPayload(result, { storeLocation: store.location, cwd: ctx.io.cwd }),
    artifactDir: result.artifactPath,
  });
}
