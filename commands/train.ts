/** `oracx train`: fit a model and stage a model version. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { TrainedEpoch, TrainResult, TrainStart } from '../pipelines/train.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, PARAM_OPTION, SEED_OPTION } from './model-options.js';
import { loadParams } from './params.js';
import { checkTrackingExperiment } from './registry-context.js';
import { Interrupted, UserError } from '../src/errors.js';
import { integer, isoDate, list, requireOrdered } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

interface Options extends QueueFlags {
  distributed?: boolean;
  attempts: number;
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
    {
      flags: '--distributed',
      description:
        'run the training on an oracx worker (--queues train) and wait for it (needs a PostgreSQL store; --artifacts must be a folder the workers share)',
    },
    ...QUEUE_OPTIONS,
    { flags: '--attempts <n>', description: 'with --distributed: tries before the job is kept as failed', defaultValue: '3', parse: integer(1) },
  ],
  examples: [
    'oracx train --model logreg --features core@1 --competitions E0,D1 --train-until 2018-06-30 --seed 7',
    'oracx train --model dixon-coles --competitions E0 --param xi=0.002 --json',
    'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 oracx train --model mlp --features core@1   # also an MLflow run',
  ],
  async run(ctx, _args, options) {
    requireOrdered('--train-from', options.trainFrom, '--train-until', options.trainUntil);
    if (options.distributed) return trainOnWorker(ctx, options);
    if (options.track) await checkTrackingExperiment(ctx);
    const store = await ctx.store();
    const { train } = await import('../pipelines/train.js');
    const params = await loadParams(options.paramsFile, options.param, ctx.io.cwd);
    const tracker = options.track ? await trainTracker(ctx, store) : null;
    const progress = await ctx.output.progress(`training ${options.model}`);
    const result = await train(store, {
      ...trainingOf(ctx, options, params),
      onStart: (start) => tracker?.start(start),
      onEpoch: (log) => {
        tracker?.epoch(log);
        const which = log.series === undefined ? '' : `${log.series} `;
        progress.update(
          `training ${options.model}: ${which}epoch ${log.epoch} loss ${log.loss.toFixed(4)}${log.valLoss === undefined ? '' : ` val ${log.valLoss.toFixed(4)}`}`,
        );
      },
      onWarning: (message) => ctx.logger.warn(message),
    })
      .catch(async (error: unknown) => {
        // The MLflow run is ended however the fit ends: KILLED on Ctrl-C, FAILED on an error.
        progress.stop();
        await tracker?.stop(error);
        throw error;
      })
      .finally(() => progress.stop());
    ctx.logger.info(`run ${result.runId}: ${result.model} on ${result.nMatches} matches, model version ${result.modelVersionId} staged`);
    // A fall-back was already warned about; a hold-out choice is worth one line too.
    for (const choice of Object.values(result.auto)) if (choice.method === 'validation') ctx.logger.info(choice.summary);
    for (const note of result.notes) ctx.logger.info(note);
    const mlflowRunId = tracker ? await tracker.finish(result) : null;
    if (ctx.output.json) {
      const { epochLogs: _logs, ...summary } = result;
      return ctx.output.printJson({ ...summary, mlflowRunId });
    }
    ctx.output.printTable({
      head: ['run', 'model', 'features', 'matches', 'window', 'train RPS', 'train log loss', 'version', 'artifacts', 'MLflow run'],
      rows: [
        [
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
        ],
      ],
    });
  },
});

/** The training the flags ask for, in process or on a worker. */
function trainingOf(ctx: Context, options: Options, params: Record<string, ParamValue>) {
  return {
    model: options.model,
    featureSet: options.features,
    competitions: options.competitions ?? [],
    trainFrom: options.trainFrom,
    trainUntil: options.trainUntil,
    seed: options.seed,
    params,
    artifactsDir: path.resolve(ctx.io.cwd, options.artifacts),
    signal: ctx.signal,
  };
}

/** `train --distributed`: one job on the train queue, waited for; prints what an in-process train prints. */
async function trainOnWorker(ctx: Context, options: Options): Promise<void> {
  await requirePostgres(
    ctx,
    (at) => `train --distributed needs a PostgreSQL store; ${at} is a SQLite file`,
    'a worker on another machine writes the run to the store, which a SQLite file cannot share: use --store postgres://…, or drop --distributed',
  );
  const store = await ctx.store();
  if (options.track && ctx.io.env.MLFLOW_TRACKING_URI)
    ctx.logger.warn('train --distributed does not log the run to MLflow (the worker trains it); pass --no-track to silence this');
  const params = await loadParams(options.paramsFile, options.param, ctx.io.cwd);
  const { trainDistributed } = await import('../pipelines/train-distributed.js');
  const { oracxPackage } = await import('../src/version.js');
  const q = await openQueues(ctx, options, 'train --distributed');
  const progress = await ctx.output.progress(`training ${options.model} on a worker`);
  let done: Awaited<ReturnType<typeof trainDistributed>>;
  try {
    done = await trainDistributed(store, q.queues, {
      ...trainingOf(ctx, options, params),
      storeLocation: store.location,
      attempts: options.attempts,
      version: oracxPackage().version,
      onEnqueued: (job) =>
        ctx.logger.info(
          `train: job ${job.jobId} ${job.enqueued === 'added' ? 'added to' : job.enqueued === 'retried' ? 'retried on' : 'already on'} the train queue; waiting for a worker`,
        ),
      onState: (state) => progress.update(`training ${options.model} on a worker: job ${state}`),
    });
  } finally {
    progress.stop();
    await q.close();
  }
  if (!done.finished) throw new Interrupted(`stopped waiting; job ${done.jobId} stays on the train queue for the workers (oracx jobs show ${done.jobId})`);
  if (!done.result) {
    throw new UserError(`train job ${done.jobId} failed: ${done.failedReason}`, {
      hint: `it is kept as failed: oracx jobs show ${done.jobId}, then oracx jobs retry ${done.jobId} or run the same command again`,
    });
  }
  const r = done.result;
  if (r.alreadyTrained) ctx.logger.info(`job ${done.jobId} had already trained run ${r.runId}: the same options on the same data are not trained twice`);
  if (ctx.output.json) return ctx.output.printJson({ jobId: done.jobId, ...r });
  ctx.output.printTable({
    head: ['run', 'model', 'features', 'matches', 'window', 'train RPS', 'train log loss', 'version', 'artifacts', 'MLflow run'],
    rows: [
      [
        r.runId,
        r.model,
        r.featureSet,
        r.nMatches,
        `${r.trainFrom} … ${r.trainUntil}`,
        r.trainMetrics?.rps.toFixed(4) ?? '—',
        r.trainMetrics?.logLoss.toFixed(4) ?? '—',
        `${r.modelVersionId ?? '—'} (staged)`,
        path.relative(ctx.io.cwd, r.artifactPath) || '.',
        '—',
      ],
    ],
  });
}

interface TrainTracker {
  start(start: TrainStart): Promise<void>;
  epoch(log: TrainedEpoch): void;
  /** Ends the run FINISHED with everything it logs; returns its MLflow run id, or null (spooled). */
  finish(result: TrainResult): Promise<string | null>;
  /** Ends the run KILLED (interrupted) or FAILED, with the epochs so far. */
  stop(error: unknown): Promise<void>;
}

/**
 * Logs the run to MLflow as it goes, when MLFLOW_TRACKING_URI is set (commands/mlflow-live.ts): created RUNNING as
 * the fit starts, its losses sent while it runs, ended FINISHED, FAILED or KILLED. When the server cannot be reached
 * one entry stays spooled for `oracx mlflow sync` and replays the whole run.
 */
async function trainTracker(ctx: Context, store: Store): Promise<TrainTracker | null> {
  let started: TrainStart | null = null;
  const { liveRun } = await import('./mlflow-live.js');
  const run = await liveRun(ctx, store, () => started?.runId ?? null);
  if (!run) return null;
  const { trainingPayload } = await import('../pipelines/track.js');
  const { epochMetrics, trainingStartPayload, trainingStopPayload } = await import('../pipelines/track-train.js');
  const { Interrupted } = await import('../src/errors.js');
  const where = { storeLocation: store.location, cwd: ctx.io.cwd };
  const epochs: TrainedEpoch[] = [];
  return {
    async start(s) {
      started = s;
      await run.start(trainingStartPayload(s, where));
    },
    epoch(log) {
      epochs.push(log);
      run.log(epochMetrics([log]));
    },
    async finish(result) {
      return (await run.end(`run ${result.runId}`, trainingPayload(result, { ...where, shared: true }), result.artifactPath)).mlflowRunId;
    },
    async stop(error) {
      if (!started) return;
      const status = error instanceof Interrupted ? 'KILLED' : 'FAILED';
      const message = error instanceof Error ? error.message : String(error);
      await run.end(`run ${started.runId} (${status})`, trainingStopPayload(started, { status, error: message, epochs, at: Date.now() }, where), null);
    },
  };
}
