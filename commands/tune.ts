/** `oracx tune`: resumable hyperparameter search; several processes can share one study on PostgreSQL. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { BestTrial, SamplerName, StudyStart, TrialEvent, TuneOptions, TuneResult, UnfinishedTrial } from '../pipelines/tune.js';
import type { StudyEnd, StudyTracking } from '../pipelines/track-tune.js';
import type { SpoolPayload } from '../src/tracking/spool.js';
import { Interrupted, UsageError, UserError } from '../src/errors.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, requireWindow, SEED_OPTION, windowOptions, type WindowFlags } from './model-options.js';
import { collectParam } from './params.js';
import { duration, integer } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

interface Options extends WindowFlags, QueueFlags {
  distributed?: boolean;
  attempts: number;
  sampler: SamplerName;
  trials: number;
  timeout?: number;
  param?: Record<string, ParamValue>;
  study?: string;
  staleAfter: number;
  output: string;
  track: boolean;
}

export const tuneCommand = defineCommand<Options>({
  path: ['tune'],
  description: 'search hyperparameters (TPE or random, median pruning on walk-forward folds); trials live in the store',
  options: [
    MODEL_OPTION,
    FEATURES_OPTION,
    ...windowOptions('validation'),
    { flags: '--sampler <name>', description: 'tpe or random', defaultValue: 'tpe', choices: ['tpe', 'random'] },
    { flags: '--trials <n>', description: 'trials the study should reach, over all processes', defaultValue: '50', parse: integer(1) },
    {
      flags: '--timeout <duration>',
      description: "stop starting trials, and waiting for other processes' trials, after this long (e.g. 10m)",
      parse: duration,
    },
    SEED_OPTION,
    { flags: '--param <key=value>', description: 'hold a hyperparameter fixed (not searched), repeatable', parse: collectParam },
    { flags: '--study <name>', description: 'study name (default: model-features-competitions)' },
    {
      flags: '--stale-after <duration>',
      description: 're-queue trials whose process went silent this long (a dead process on this host: at once)',
      defaultValue: '5m',
      parse: duration,
    },
    { flags: '--output <file>', description: 'best params, as a file train --params-file accepts', defaultValue: 'best-params.json' },
    { flags: '--no-track', description: 'do not log trials to MLflow even when MLFLOW_TRACKING_URI is set' },
    {
      flags: '--distributed',
      description: 'enqueue one job per trial on Redis for oracx workers (--queues tune) and wait for them (needs a PostgreSQL store)',
    },
    ...QUEUE_OPTIONS,
    { flags: '--attempts <n>', description: 'with --distributed: tries per trial job before it is kept as failed', defaultValue: '3', parse: integer(1) },
  ],
  examples: [
    'oracx tune --model mlp --competitions E0 --last-seasons 2 --trials 50 --timeout 10m',
    'oracx --store postgres://postgres@127.0.0.1:5432/test tune --model logreg --competitions E0,D1 --seasons 2018-2019 --study shared   # run it in several terminals',
    'oracx tune --model logreg --competitions E0 --last-seasons 2 --trials 200 --distributed --redis redis://127.0.0.1:6379 --store postgres://postgres@db:5432/oracx',
    'oracx train --model mlp --competitions E0 --params-file best-params.json',
  ],
  async run(ctx, _args, options) {
    requireWindow(options);
    if (options.distributed && options.timeout !== undefined) {
      throw new UsageError('--timeout does not go with --distributed', {
        hint: 'trials run on the workers until the study has --trials of them; Ctrl-C stops waiting, and the workers finish the queued trials',
      });
    }
    if (options.distributed) {
      await requirePostgres(
        ctx,
        (at) => `tune --distributed needs a PostgreSQL store; ${at} is a SQLite file`,
        'workers on several machines share the study, which a SQLite file cannot hold: use --store postgres://…, or drop --distributed',
      );
    }
    const store = await ctx.store();
    const { bestParamsFile, tune } = await import('../pipelines/tune.js');
    const competitions = options.competitions!;
    const study = options.study ?? `${options.model}-${options.features}-${competitions.join('+')}`;
    const spec = {
      study,
      model: options.model,
      featureSet: options.features,
      competitions,
      seasons: options.seasons ?? [],
      lastSeasons: options.lastSeasons,
      walkForward: options.walkForward,
      trainSeasons: options.trainSeasons,
      sampler: options.sampler,
      trials: options.trials,
      timeoutMs: options.timeout,
      seed: options.seed,
      fixed: options.param ?? {},
      staleAfterMs: options.staleAfter,
      output: path.resolve(ctx.io.cwd, options.output),
    };
    const tracker = options.track ? await studyTracker(ctx, store, spec) : null;
    const progress = await ctx.output.progress(`tuning ${options.model} (${study})`);
    const tuneOptions: TuneOptions = {
      ...spec,
      signal: ctx.signal,
      onStart: (s) => tracker?.start(s),
      onTrial: (t) => {
        const line = `trial ${t.number}: ${t.status}${t.value === null ? '' : ` ${t.value.toFixed(5)}`} (best ${t.bestValue?.toFixed(5) ?? '—'})`;
        progress.update(line);
        ctx.logger.info(line, { params: t.params });
        tracker?.add(t);
      },
      onWait: (trials) => {
        const line = `nothing left to claim: waiting for ${trials.map(describeTrial).join(', ')}, so the result covers the whole study`;
        progress.update(line);
        ctx.logger.info(line);
      },
    };
    // The study's MLflow run is ended whichever way tune ends (an interrupt's error carries the result so far).
    const endStudy = async (outcome: { result: TuneResult } | { error: unknown }) => {
      progress.stop();
      await tracker?.done(studyEnd(outcome, (best) => bestParamsFile(tuneOptions, best)));
    };
    let result: TuneResult;
    try {
      result = options.distributed ? await tuneOnWorkers(ctx, store, options, tuneOptions, (text) => progress.update(text)) : await tune(store, tuneOptions);
    } catch (error) {
      await endStudy({ error });
      throw error;
    }
    await endStudy({ result });
    if (result.requeued > 0) ctx.logger.warn(`re-queued ${result.requeued} trial(s) whose process stopped`);
    // Exit 0 even when unfinished: a --timeout is a budget the user set, and what was found so far is valid; the
    // warning (and `finished: false` in JSON) says what is missing and how to complete it.
    const unfinished = result.finished ? null : unfinishedMessage(result, { cwd: ctx.io.cwd, staleAfterMs: options.staleAfter });
    if (ctx.output.json) {
      if (unfinished) ctx.logger.warn(unfinished);
      return ctx.output.printJson(result);
    }
    if (unfinished) ctx.logger.warn(`study ${result.study} ended unfinished (see the result)`);
    const t = result.trials;
    ctx.output.printLine(
      `study ${result.study}: ${t.complete} complete, ${t.pruned} pruned, ${t.failed} failed (${result.ranHere} run ${options.distributed ? 'by workers' : 'here'})`,
    );
    if (result.best) {
      ctx.output.printTable({
        head: ['best trial', 'RPS', 'params'],
        rows: [[result.best.number, result.best.value.toFixed(5), JSON.stringify(result.best.params)]],
      });
      if (result.output) ctx.output.printLine(`best params written to ${path.relative(ctx.io.cwd, result.output)}`);
    }
    if (unfinished) ctx.output.printLine(unfinished);
    const failedJobs = (result as { failedJobs?: { jobId: string; reason: string | null }[] }).failedJobs ?? [];
    if (failedJobs.length > 0) {
      throw new UserError(`${failedJobs.length} trial job(s) failed: ${failedJobs.map((j) => `${j.jobId}: ${j.reason}`).join('; ')}`, {
        hint: 'they are kept as failed: oracx jobs show ID, then oracx jobs retry ID or run the same command again',
      });
    }
  },
});

/** `tune --distributed`: trial jobs on the tune queue, this process waiting (and logging trials to MLflow as they end). */
async function tuneOnWorkers(ctx: Context, store: Store, options: Options, tuneOptions: TuneOptions, update: (text: string) => void): Promise<TuneResult> {
  const { tuneDistributed } = await import('../pipelines/tune-distributed.js');
  const { oracxPackage } = await import('../src/version.js');
  const q = await openQueues(ctx, options, 'tune --distributed');
  try {
    return await tuneDistributed(store, q.queues, {
      ...tuneOptions,
      storeLocation: store.location,
      attempts: options.attempts,
      version: oracxPackage().version,
      onEnqueued: (jobs) => {
        const by = (k: string) => jobs.filter((j) => j.enqueued === k).length;
        ctx.logger.info(
          `tune: ${jobs.length} trial job(s) on the tune queue (${by('added')} added, ${by('existing')} already there, ${by('retried')} failed ones retried); waiting for workers`,
        );
      },
      onJobs: (n) => update(`${n.completed}/${n.total} trial jobs done, ${n.active} running, ${n.failed} failed`),
    });
  } finally {
    await q.close();
  }
}

/** "trial 7 running in host:1234 (last heartbeat 40 s ago)" or "trial 8 waiting". */
function describeTrial(t: UnfinishedTrial): string {
  if (t.status === 'waiting') return `trial ${t.number} waiting`;
  const age = t.heartbeatAgeMs === null ? 'no heartbeat' : `last heartbeat ${Math.round(t.heartbeatAgeMs / 1000)} s ago`;
  return `trial ${t.number} running in ${t.worker ?? 'an unknown process'} (${age})`;
}

/** 300000 → "5m", as --stale-after is written. */
function showDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** What an unfinished study still lacks, what the written params cover, and how to finish it. */
export function unfinishedMessage(result: TuneResult, options: { cwd: string; staleAfterMs: number }): string {
  const missing = result.unfinished.map(describeTrial);
  if (result.notStarted > 0) missing.push(`${result.notStarted} trial(s) not started`);
  const ended = result.trials.complete + result.trials.pruned + result.trials.failed;
  const covers = result.output
    ? `${path.relative(options.cwd, result.output)} reflects the ${ended} finished trial(s)`
    : 'no trial is complete, so no params were written';
  return (
    `study ${result.study} is unfinished: ${missing.join(', ')}; ${covers}; run the same command again to finish it ` +
    `(a trial whose process died is re-queued after --stale-after ${showDuration(options.staleAfterMs)}, or at once on this host)`
  );
}

/**
 * Logs the study to MLflow: its parent run when the study starts (created, or found again on a resume), each
 * finished trial as a run nested under it, in order and off the tuning loop's critical path, and the study's best
 * on the parent run at the end. Everything is spooled first; when the server cannot be reached it stays spooled
 * (parent first, so `oracx mlflow sync` nests the trials under it), with one warning for all of it.
 */
async function studyTracker(ctx: Context, store: Store, settings: Omit<StudyTracking, 'start' | 'storeLocation' | 'cwd'>): Promise<StudyTracker | null> {
  const { mlflowClient } = await import('../src/registry/open.js');
  const { openContext } = await import('./registry-context.js');
  const client = await mlflowClient(openContext(ctx), { quick: true });
  if (!client) return null;
  const { checkTrackingExperiment } = await import('./registry-context.js');
  await checkTrackingExperiment(ctx);
  const { experimentTarget, trackPayload } = await import('../pipelines/track.js');
  const { studyEndPayload, studyStartPayload, trialPayload } = await import('../pipelines/track-tune.js');
  const experiment = experimentTarget(ctx.io.env);
  let study: StudyTracking | null = null;
  let chain = Promise.resolve();
  // The spooled start of the study's run: synced (when still pending) before each trial, so none is created outside it.
  const parent: number[] = [];
  let logged = 0;
  let spooled = 0;
  let lastError = '';
  const track = (payload: SpoolPayload, onSpooled?: (spoolId: number) => void) => {
    chain = chain.then(async () => {
      const outcome = await trackPayload(store, client, { trainingRunId: null, payload, artifactDir: null, experiment, before: parent });
      onSpooled?.(outcome.spoolId);
      if (outcome.error === undefined) logged++;
      else {
        spooled++;
        lastError = outcome.error;
      }
    });
  };
  return {
    start(start) {
      study = { ...settings, start, storeLocation: store.location, cwd: ctx.io.cwd };
      track(studyStartPayload(study, Date.now()), (id) => parent.push(id));
    },
    add(t) {
      if (study) track(trialPayload(t, study));
    },
    async done(end) {
      if (study) track(studyEndPayload(study, end, Date.now()));
      await chain;
      if (!study) return;
      if (logged > 0)
        ctx.logger.info(`study ${study.study} logged to MLflow: ${logged} run(s) (the study's run and its trials, tag oracx.study=${study.study})`);
      if (spooled > 0)
        ctx.logger.warn(
          `${spooled} run(s) of study ${study.study} not logged to MLflow (${lastError}); they are spooled in the store: replay them with oracx mlflow sync`,
        );
    },
  };
}

interface StudyTracker {
  start(study: StudyStart): void;
  add(trial: TrialEvent): void;
  done(end: StudyEnd): Promise<void>;
}

/** How a tune command ended, for the study's MLflow run: its result, or the error (an interrupt carries the result). */
function studyEnd(outcome: { result: TuneResult } | { error: unknown }, bestParams: (best: BestTrial) => string): StudyEnd {
  const result = 'result' in outcome ? outcome.result : ((outcome.error as { result?: TuneResult }).result ?? null);
  const status = 'result' in outcome ? 'FINISHED' : outcome.error instanceof Interrupted ? 'KILLED' : 'FAILED';
  return {
    status,
    best: result?.best ?? null,
    bestParamsFile: result?.best && result.output ? bestParams(result.best) : null,
    trials: result ? { complete: result.trials.complete, pruned: result.trials.pruned, failed: result.trials.failed } : null,
    finished: result?.finished ?? null,
  };
}
