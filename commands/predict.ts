/** `oracx predict`: forecasts for coming matches with a registered model, a run or a model file; every one is stored. */
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import { UsageError } from '../src/errors.js';
import type { PredictRequest } from '../pipelines/predict.js';
import type { Forecast } from '../pipelines/predict.js';
import { integer, isoDate, list, requireOrdered } from './parse.js';
import { REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';
import { checkDistributed, predictOnWorkers, PREDICT_QUEUE_OPTIONS, type PredictQueueFlags } from './predict-queue.js';

interface Options extends PredictQueueFlags {
  model?: string;
  run?: number;
  competitions?: string[];
  from?: string;
  to?: string;
  match?: number[];
  competition?: string;
  home?: string;
  away?: string;
  date?: string;
  odds?: [number, number, number];
  csv?: boolean;
  registry: RegistryChoice;
}

function matchIds(value: string, previous?: unknown): number[] {
  const ids = list(value).map((v) => integer(1)(v));
  return [...((previous as number[] | undefined) ?? []), ...ids];
}

function odds(value: string): [number, number, number] {
  const parts = value.split(',').map((v) => Number(v.trim()));
  if (parts.length !== 3 || !parts.every((p) => Number.isFinite(p) && p > 1))
    throw new Error(`expected three decimal prices above 1 as HOME,DRAW,AWAY, got "${value}"`);
  return parts as [number, number, number];
}

const HEAD = ['match', 'date', 'time', 'comp', 'home', 'away', 'P(home)', 'P(draw)', 'P(away)', 'model'];

export const predictCommand = defineCommand<Options>({
  path: ['predict'],
  description: 'forecast coming matches (scheduled in the store, or one pairing) and store every prediction',
  options: [
    { flags: '--model <ref>', description: 'registered model NAME@ALIAS, NAME/VERSION or NAME (latest), or a model.onnx file exported by oracx' },
    { flags: '--run <id>', description: 'a completed training run instead of a registered model', parse: integer(1) },
    { flags: '--competitions <codes>', description: 'only these division codes, comma-separated', parse: list },
    { flags: '--from <date>', description: 'scheduled matches on or after this date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--to <date>', description: 'scheduled matches on or before this date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--match <ids>', description: 'these stored matches (comma-separated ids, repeatable)', parse: matchIds },
    { flags: '--competition <code>', description: 'pairing: the division code' },
    { flags: '--home <team>', description: 'pairing: home team (any spelling the store knows)' },
    { flags: '--away <team>', description: 'pairing: away team' },
    { flags: '--date <date>', description: 'pairing: match date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--odds <h,d,a>', description: 'pairing: decimal 1X2 prices, for feature sets that read the market', parse: odds },
    { flags: '--csv', description: 'print CSV instead of a table' },
    REGISTRY_OPTION,
    ...PREDICT_QUEUE_OPTIONS,
  ],
  examples: [
    'oracx predict --model oracx-e0@champion --from 2020-09-12 --to 2020-09-20',
    'oracx predict --model oracx-e0@champion --home Arsenal --away Chelsea --competition E0 --date 2020-09-26',
    'oracx predict --run 12 --match 1141,1142 --json',
    'oracx predict --model ./pulled/model.onnx --competitions E0 --csv > forecasts.csv',
    'oracx predict --model oracx-e0@champion --competitions E0 --distributed --redis redis://127.0.0.1:6379 --store postgres://postgres@db:5432/oracx',
  ],
  async run(ctx, _args, options) {
    const requests = requestsOf(options);
    if ((options.model === undefined) === (options.run === undefined)) {
      throw new UsageError(options.model === undefined ? 'pass --model or --run' : 'pass --model or --run, not both', {
        hint: 'e.g. --model oracx-e0@champion',
      });
    }
    if (options.distributed) await checkDistributed(ctx, requests);
    const store = await ctx.store();
    const { loadModelFrom, parseModelSource } = await import('../src/predict/model.js');
    const { openRegistry } = await import('./registry-context.js');
    const source = options.run !== undefined ? ({ kind: 'run', run: options.run } as const) : parseModelSource(options.model!, ctx.io.cwd);
    const progress = await ctx.output.progress('loading the model and the feature state');
    const model = await loadModelFrom(store, source, async () => (await openRegistry(ctx, options.registry)).registry).finally(() => progress.stop());
    try {
      const { openPredictor, predictRun } = await import('../pipelines/predict-run.js');
      const { currentActor } = await import('../src/registry/audit.js');
      const predictor = await openPredictor(store, model);
      ctx.logger.info(
        `${model.identity.uri} (${model.identity.kind}, ${model.identity.featureSet}); feature state holds ${predictor.features.results} results up to ${predictor.features.frontier ?? '—'}`,
      );
      const run = {
        requests,
        scheduled: { competitions: options.competitions, from: options.from, to: options.to },
        principal: currentActor(ctx.io.env),
        onReplay: (date: string, n: number) => ctx.logger.warn(`${n} match(es) dated ${date}, not after the latest result: features replayed as of that date`),
      };
      const forecasts = options.distributed
        ? await predictOnWorkers(ctx, store, predictor, model, options, run)
        : (await predictRun(store, predictor, model, run)).forecasts;
      render(ctx, forecasts, options.csv === true);
    } finally {
      await model.release();
    }
  },
});

/** The explicit requests the flags describe (empty: the scheduled matches selected by the filters). */
function requestsOf(options: Options): PredictRequest[] {
  const pairing = [options.competition, options.home, options.away, options.date];
  const given = pairing.filter((v) => v !== undefined).length;
  if (given > 0 && given < 4) throw new UsageError('a pairing needs --competition, --home, --away and --date together');
  if (options.odds && given === 0) throw new UsageError('--odds goes with a pairing (--competition, --home, --away, --date)');
  const filters = options.competitions !== undefined || options.from !== undefined || options.to !== undefined;
  if ((given > 0 || options.match) && filters)
    throw new UsageError('--competitions/--from/--to select scheduled matches; they do not combine with --match or a pairing');
  requireOrdered('--from', options.from, '--to', options.to);
  const requests: PredictRequest[] = (options.match ?? []).map((matchId) => ({ matchId }));
  if (given === 4) {
    const o = options.odds;
    requests.push({
      competition: options.competition!,
      home: options.home!,
      away: options.away!,
      date: options.date!,
      odds: o ? { home: o[0], draw: o[1], away: o[2] } : null,
    });
  }
  return requests;
}

function render(ctx: Context, forecasts: Forecast[], csv: boolean): void {
  if (ctx.output.json) {
    ctx.output.printJson({ forecasts });
    return;
  }
  if (forecasts.length === 0) {
    ctx.logger.info(
      'no scheduled matches to forecast with these filters; collect a fixtures file (oracx collect football-data fixtures.csv) or name a pairing',
    );
    return;
  }
  const p = (x: number) => (csv ? x.toFixed(6) : x.toFixed(3));
  const table = {
    head: HEAD,
    rows: forecasts.map((f) => [
      f.matchId ?? '—',
      f.date,
      f.kickoff ?? '',
      f.competition,
      f.home,
      f.away,
      p(f.probabilities.home),
      p(f.probabilities.draw),
      p(f.probabilities.away),
      f.model.uri,
    ]),
  };
  if (csv) {
    ctx.output.printCsv(table);
    return;
  }
  ctx.output.printTable(table);
  ctx.output.printLine(`${forecasts.length} forecast(s), stored in the predictions table`);
}
