/** `oracx tune`: resumable hyperparameter search; several processes can share one study on PostgreSQL. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { SamplerName, TrialEvent, TuneResult, UnfinishedTrial } from '../pipelines/tune.js';
import type { ParamValue } from '../src/ml/models/index.js';
import { FEATURES_OPTION, MODEL_OPTION, requireWindow, SEED_OPTION, windowOptions, type WindowFlags } from './model-options.js';
import { collectParam } from './params.js';
import { duration, integer } from './parse.js';

interface Options extends WindowFlags {
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
    { flags: '--timeout <duration>', description: 'stop starting trials, and waiting for other processes\' trials, after this long (e.g. 10m)', parse: duration },
    SEED_OPTION,
    { flags: '--param <key=value>', description: 'hold a hyperparameter fixed (not searched), repeatable', parse: collectParam },
    { flags: '--study <name>', description: 'study name (default: model-features-competitions)' },
    { flags: '--stale-after <duration>', description: 're-queue trials whose process went silent this long (a dead process on this host: at once)', defaultValue: '5m', parse: duration },
    { flags: '--output <file>', description: 'best params, as a file train --params-file accepts', defaultValue: 'best-params.json' },
    { flags: '--no-track', description: 'do not log trials to MLflow even when MLFLOW_TRACKING_URI is set' },
  ],
  examples: [
    'oracx tune --model mlp --competitions E0 --last-seasons 2 --trials 50 --timeout 10m',
    'oracx --store postgres://postgres@127.0.0.1:5432/test tune --model logreg --competitions E0,D1 --seasons 2018-2019 --study shared   # run it in several terminals',
    'oracx train --model mlp --competitions E0 --params-file best-params.json',
  ],
  async run(ctx, _args, options) {
    requireWindow(options);
    const store = await ctx.store();
    const { tune } = await import('../pipelines/tune.js');
    const competitions = options.competitions!;
    const study = options.study ?? `${options.model}-${options.features}-${competitions.join('+')}`;
    const tracker = options.track ? await trialTracker(ctx, store, { study, model: options.model, featureSet: options.features, fixed: options.param ?? {} }) : null;
    const progress = await ctx.output.progress(`tuning ${options.model} (${study})`);
    const result = await tune(store, {
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
      signal: ctx.signal,
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
    }).finally(async () => {
      progress.stop();
      await tracker?.done();
    });
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
    ctx.output.printLine(`study ${result.study}: ${t.complete} complete, ${t.pruned} pruned, ${t.failed} failed (${result.ranHere} run here)`);
    if (result.best) {
      ctx.output.printTable({ head: ['best trial', 'RPS', 'params'], rows: [[result.best.number, result.best.value.toFixed(5), JSON.stringify(result.best.params)]] });
      if (result.output) ctx.output.printLine(`best params written to ${path.relative(ctx.io.cwd, result.output)}`);
    }
    if (unfinished) ctx.output.printLine(unfinished);
  },
});

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
 * Logs each finished trial to MLflow as a run of its own (tagged with the study), in order, off the tuning loop's
 * critical path; unreachable servers spool the trials, with one warning for all of them.
 */
async function trialTracker(
  ctx: Context,
  store: Store,
  study: { study: string; model: string; featureSet: string; fixed: Record<string, unknown> },
): Promise<{ add(t: TrialEvent): void; done(): Promise<void> } | null> {
  const { mlflowClient } = await import('../src/registry/open.js');
  const { openContext } = await import('./registry-context.js');
  const client = await mlflowClient(openContext(ctx), { quick: true });
  if (!client) return null;
  const { experimentName, trackPayload, trialPayload } = await import('../pipelines/track.js');
  let chain = Promise.resolve();
  let logged = 0;
  let spooled = 0;
  let lastError = '';
  return {
    add(t) {
      chain = chain.then(async () => {
        const payload = trialPayload(t, { ...study, storeLocation: store.location, cwd: ctx.io.cwd });
        const outcome = await trackPayload(store, client, { trainingRunId: null, payload, artifactDir: null, experiment: experimentName(ctx.io.env) });
        if (outcome.error === undefined) logged++;
        else {
          spooled++;
          lastError = outcome.error;
        }
      });
    },
    async done() {
      await chain;
      if (logged > 0) ctx.logger.info(`${logged} trial(s) logged to MLflow (tag oracx.study=${study.study})`);
      if (spooled > 0) ctx.logger.warn(`${spooled} trial(s) not logged to MLflow (${lastError}); they are spooled in the store: replay them with oracx mlflow sync`);
    },
  };
}
