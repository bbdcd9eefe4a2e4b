/** `oracx tune`: resumable hyperparameter search; several processes can share one study on PostgreSQL. */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import type { ParamValue } from '../src/ml/models/index.js';
import type { SamplerName } from '../pipelines/tune.js';
import type { WalkForward } from '../pipelines/evaluate.js';
import { parseWalkForward } from './evaluate.js';
import { collectParam } from './params.js';
import { duration, integer, list, seasons } from './parse.js';

interface Options {
  model: string;
  features: string;
  competitions?: string[];
  seasons?: string[];
  lastSeasons?: number;
  walkForward: WalkForward;
  sampler: SamplerName;
  trials: number;
  timeout?: number;
  seed: number;
  param?: Record<string, ParamValue>;
  study?: string;
  staleAfter: number;
  output: string;
}

export const tuneCommand = defineCommand<Options>({
  path: ['tune'],
  description: 'search hyperparameters (TPE or random, median pruning on walk-forward folds); trials live in the store',
  options: [
    { flags: '--model <name>', description: 'model to tune', defaultValue: 'logreg' },
    { flags: '--features <name@version>', description: 'feature set', defaultValue: 'core@1' },
    { flags: '--competitions <codes>', description: 'division codes, comma-separated (required)', parse: list },
    { flags: '--seasons <seasons>', description: 'validation seasons, comma-separated', parse: seasons },
    { flags: '--last-seasons <n>', description: 'instead of --seasons: the last N seasons of each competition', parse: integer(1) },
    { flags: '--walk-forward <mode>', description: 'season, <N>d or matchdays:<N>', defaultValue: 'season', parse: parseWalkForward },
    { flags: '--sampler <name>', description: 'tpe or random', defaultValue: 'tpe', choices: ['tpe', 'random'] },
    { flags: '--trials <n>', description: 'trials the study should reach, over all processes', defaultValue: '50', parse: integer(1) },
    { flags: '--timeout <duration>', description: 'stop starting trials after this long (e.g. 10m)', parse: duration },
    { flags: '--seed <n>', description: 'sampler and model seed', defaultValue: '0', parse: integer(0) },
    { flags: '--param <key=value>', description: 'hold a hyperparameter fixed (not searched), repeatable', parse: collectParam },
    { flags: '--study <name>', description: 'study name (default: model-features-competitions)' },
    { flags: '--stale-after <duration>', description: 're-queue trials whose process went silent this long', defaultValue: '5m', parse: duration },
    { flags: '--output <file>', description: 'best params, as a file train --params-file accepts', defaultValue: 'best-params.json' },
  ],
  examples: [
    'oracx tune --model mlp --competitions E0 --last-seasons 2 --trials 50 --timeout 10m',
    'oracx --store postgres://postgres@127.0.0.1:5432/test tune --model logreg --competitions E0,D1 --seasons 2018-2019 --study shared   # run it in several terminals',
    'oracx train --model mlp --competitions E0 --params-file best-params.json',
  ],
  async run(ctx, _args, options) {
    if (!options.competitions?.length) throw new UsageError('--competitions is required', { hint: 'e.g. --competitions E0' });
    if (!options.seasons?.length && options.lastSeasons === undefined) {
      throw new UsageError('--seasons or --last-seasons is required', { hint: 'the validation seasons, e.g. --seasons 2018-2019' });
    }
    const store = await ctx.store();
    const { tune } = await import('../pipelines/tune.js');
    const study = options.study ?? `${options.model}-${options.features}-${options.competitions.join('+')}`;
    const progress = await ctx.output.progress(`tuning ${options.model} (${study})`);
    const result = await tune(store, {
      study,
      model: options.model,
      featureSet: options.features,
      competitions: options.competitions,
      seasons: options.seasons ?? [],
      lastSeasons: options.lastSeasons,
      walkForward: options.walkForward,
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
      },
    }).finally(() => progress.stop());
    if (result.requeued > 0) ctx.logger.warn(`re-queued ${result.requeued} trial(s) whose process stopped`);
    if (ctx.output.json) return ctx.output.printJson(result);
    const t = result.trials;
    ctx.output.printLine(`study ${result.study}: ${t.complete} complete, ${t.pruned} pruned, ${t.failed} failed (${result.ranHere} run here)`);
    if (result.best) {
      ctx.output.printTable({ head: ['best trial', 'RPS', 'params'], rows: [[result.best.number, result.best.value.toFixed(5), JSON.stringify(result.best.params)]] });
      if (result.output) ctx.output.printLine(`best params written to ${path.relative(ctx.io.cwd, result.output)}`);
    }
  },
});
