/**
 * What the service serves from: the models (champion, optional A/B challenger), one predictor per feature set they
 * use (online feature state + team directory), the micro-batcher, the prediction cache and the prediction sink, and
 * the background loops that keep them current (store polled for new results, registry polled for moved aliases).
 * Routes call forecast(); nothing here knows about HTTP.
 */
import { createHash } from 'node:crypto';
import type { RefreshResult } from '../../../pipelines/prediction-refresh.js';
import { OnlineFeatureStore } from '../../../pipelines/online-features.js';
import { forecastOf, MissedMatch, predictionRows, Predictor, type Forecast, type PredictRequest, type PreparedInput } from '../../../pipelines/predict.js';
import { RequestError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { BeforeFrontier } from '../../ml/features/online.js';
import { TeamDirectory } from '../../predict/directory.js';
import type { LoadedModel, LoadModelOptions, ModelSource } from '../../predict/model.js';
import type { Registry } from '../../registry/types.js';
import type { Store } from '../../store/connect.js';
import { MicroBatcher } from './batcher.js';
import { PredictionCache, type RedisLike } from './cache.js';
import { BackgroundRefresh } from './refresh.js';
import { PredictionSink } from './sink.js';
import { ModelSlot, type Variant } from './slot.js';

export interface ServingOptions {
  store: Store;
  champion: ModelSource;
  /** A/B: a sticky share of callers gets this model. */
  challenger?: { source: ModelSource; split: number } | null;
  registry: () => Promise<Registry>;
  logger: Logger;
  /** How often the store is polled for new results (0: never). */
  featureRefreshMs: number;
  /** How often registry aliases are re-resolved (0: never). */
  modelPollMs: number;
  /** How often match_finished events refresh stored predictions with the champion (0 or absent: never). */
  predictionRefreshMs?: number;
  cache: { maxEntries: number; ttlMs: number; liveTtlMs: number; redis?: RedisLike | null };
  sink: { batchRows: number; intervalMs: number; maxQueued: number };
  batch: { maxRows: number };
  load?: LoadModelOptions;
  /** Hooks for metrics. */
  events?: ServingEvents;
}

/** What the runtime reports as it works (the metrics plugin listens). */
export interface ServingEvents {
  /** The feature lookup of a request's forecasts (only timed when someone listens). */
  onPrepare?(requests: number, ms: number): void;
  onRun?(rows: number, ms: number, model: LoadedModel): void;
  onForecast?(variant: Variant, model: LoadedModel, cached: boolean): void;
  onFlush?(rows: number, ms: number): void;
  onSwap?(variant: Variant, from: LoadedModel, to: LoadedModel): void;
  /** A prediction refresh pass that handled events. */
  onRefresh?(events: number, refreshed: number, skipped: number): void;
}

/** Who asked, for stickiness and the stored row. */
export interface Caller {
  /** Principal id, else the client address. */
  id: string;
  principal: string | null;
  requestId: string;
}

export interface ServedForecast extends Forecast {
  variant: Variant;
  cached: boolean;
}

/** A check of one dependency, for readiness and /health/detailed. */
export interface DependencyCheck {
  name: string;
  ok: boolean;
  latencyMs: number | null;
  detail: string;
}

export class ServingRuntime {
  readonly startedAt = Date.now();
  private readonly predictors = new Map<string, Predictor>();
  private directory!: TeamDirectory;
  readonly cache: PredictionCache;
  readonly sink: PredictionSink;
  readonly batcher: MicroBatcher;
  readonly champion: ModelSlot;
  readonly challenger: ModelSlot | null;
  private timers: NodeJS.Timeout[] = [];
  private featureError: string | null = null;
  private readonly refresher: BackgroundRefresh;
  private closed = false;

  private constructor(readonly o: ServingOptions) {
    this.cache = new PredictionCache({ ...o.cache, logger: o.logger });
    this.sink = new PredictionSink(o.store, { ...o.sink, logger: o.logger, onFlush: o.events?.onFlush });
    this.batcher = new MicroBatcher((model) => this.predictorFor(model), { maxRows: o.batch.maxRows, onRun: o.events?.onRun });
    const slot = (variant: Variant, source: ModelSource) =>
      new ModelSlot({
        variant,
        source,
        load: (s) => this.loadModel(s),
        currentKey: this.keyOf(source),
        check: (model) => this.check(model),
        logger: o.logger,
        onSwap: (from, to) => {
          this.cache.clear();
          o.events?.onSwap?.(variant, from, to);
        },
      });
    this.champion = slot('champion', o.champion);
    this.refresher = new BackgroundRefresh({
      store: o.store,
      logger: o.logger,
      events: o.events,
      before: () => this.refreshFeatures(),
      champion: () => ({ model: this.champion.current, predictor: this.predictorFor(this.champion.current) }),
    });
    this.challenger = o.challenger ? slot('challenger', o.challenger.source) : null;
  }

  /** Loads the models and their feature state; starts the refresh loops. */
  static async start(o: ServingOptions): Promise<ServingRuntime> {
    const runtime = new ServingRuntime(o);
    try {
      runtime.directory = await TeamDirectory.load(o.store);
      await runtime.champion.start();
      await runtime.challenger?.start();
    } catch (error) {
      await runtime.close();
      throw error;
    }
    runtime.loop(o.featureRefreshMs, () => runtime.refreshFeatures());
    runtime.loop(o.predictionRefreshMs ?? 0, async () => void (await runtime.refreshPredictions()));
    runtime.loop(o.modelPollMs, async () => {
      await runtime.champion.poll();
      await runtime.challenger?.poll();
    });
    return runtime;
  }

  /** The served slots. */
  slots(): ModelSlot[] {
    return this.challenger ? [this.champion, this.challenger] : [this.champion];
  }

  /** The predictor of a model's feature set. */
  predictorFor(model: LoadedModel): Predictor {
    const p = this.predictors.get(model.identity.featureSet);
    if (!p) throw new Error(`no feature state for ${model.identity.featureSet}`);
    return p;
  }

  /** The predictor of the champion (for lookups that do not depend on the model). */
  get primary(): Predictor {
    return this.predictorFor(this.champion.current);
  }

  /** The variant a caller gets: a sticky share `split` of callers (by id) sees the challenger. */
  variantFor(callerId: string): Variant {
    if (!this.challenger || !this.o.challenger) return 'champion';
    return stickyFraction(callerId) < this.o.challenger.split ? 'challenger' : 'champion';
  }

  /** One forecast: prepared (a lookup), served from the cache or a micro-batch, and queued for storage. */
  async forecast(request: PredictRequest, caller: Caller): Promise<ServedForecast> {
    return (await this.serve([request], caller, true))[0]!;
  }

  /** Forecasts for a batch of requests; any bad request fails them all (422 listing each, nothing stored). */
  forecastMany(requests: readonly PredictRequest[], caller: Caller): Promise<ServedForecast[]> {
    return this.serve(requests, caller, false);
  }

  /** A single request's error is its own; a batch's (even of one) are listed in one 422. */
  private async serve(requests: readonly PredictRequest[], caller: Caller, single: boolean): Promise<ServedForecast[]> {
    if (!this.sink.accepts(requests.length))
      throw new RequestError('predictions cannot be stored right now (the store is not answering)', 503, 'store_unavailable', { details: { retryAfter: 5 } });
    const variant = this.variantFor(caller.id);
    const slot = variant === 'challenger' ? this.challenger! : this.champion;
    const model = slot.current;
    const predictor = this.predictorFor(model);
    // Prepared synchronously (a lookup); only a request that fails awaits, to be explained (MissedMatch needs a query).
    const inputs: PreparedInput[] = [];
    let problems: Array<{ index: number; status: number; code: string; detail: string }> | null = null;
    const onPrepare = this.o.events?.onPrepare;
    const prepareStarted = onPrepare ? performance.now() : 0;
    for (let index = 0; index < requests.length; index++) {
      try {
        inputs.push(predictor.prepare(requests[index]!));
      } catch (thrown) {
        const error = await this.requestError(predictor, thrown);
        if (!(error instanceof RequestError) || single) throw error;
        problems ??= [];
        problems.push({ index, status: error.status, code: error.code, detail: error.message });
      }
    }
    if (problems) {
      throw new RequestError(`${problems.length} of ${requests.length} request(s) cannot be forecast; nothing was stored`, 422, 'batch_invalid', {
        details: { errors: problems },
      });
    }
    onPrepare?.(requests.length, performance.now() - prepareStarted);
    const caching = this.o.cache.ttlMs > 0;
    const prefix = `${model.identity.digest}|`;
    const hits = inputs.map((i) => (caching ? this.cache.peek(prefix + i.inputsHash) : undefined));
    if (caching && this.o.cache.redis) {
      for (const [k, hit] of hits.entries()) if (!hit) hits[k] = await this.cache.get(prefix + inputs[k]!.inputsHash);
    }
    const misses = inputs.filter((_, k) => !hits[k]);
    const scored =
      misses.length === 0
        ? await this.batcher.turn().then(() => [])
        : misses.length === 1
          ? [await this.batcher.score(model, misses[0]!)]
          : await this.batcher.scoreMany(model, misses);
    let next = 0;
    // The forecasts are fresh objects (from score or forecastOf): completed in place rather than copied.
    const forecasts: ServedForecast[] = inputs.map((input, k) => {
      const hit = hits[k];
      const f = (hit ? forecastOf(input, model, predictor.features.ref, hit) : scored[next++]!) as ServedForecast;
      f.variant = variant;
      f.cached = hit !== undefined;
      if (!hit && caching) this.cache.set(prefix + input.inputsHash, f.probabilities, this.cache.ttlFor(input.status));
      return f;
    });
    const rows = predictionRows(forecasts, inputs, {
      source: 'api',
      variant: this.challenger ? variant : null,
      principal: caller.principal,
      requestId: caller.requestId,
    });
    if (!this.sink.push(rows))
      throw new RequestError('predictions cannot be stored right now (the store is not answering)', 503, 'store_unavailable', { details: { retryAfter: 5 } });
    for (const f of forecasts) this.o.events?.onForecast?.(variant, model, f.cached);
    return forecasts;
  }

  /** What a failed prepare becomes: the request errors the API documents (or the error itself). */
  private async requestError(predictor: Predictor, error: unknown): Promise<unknown> {
    if (error instanceof MissedMatch) return predictor.explainMatch(this.o.store, error.matchId);
    if (error instanceof BeforeFrontier) {
      return new RequestError(`${error.message}: the service forecasts coming matches`, 422, 'date_not_upcoming', {
        hint: 'pass a date after the latest result, or use oracx predict for a forecast as of a past date',
        details: { frontier: error.frontier },
      });
    }
    return error;
  }

  /** Store reachable, models loaded, feature state warm. */
  async readiness(): Promise<{ ready: boolean; checks: DependencyCheck[] }> {
    const checks: DependencyCheck[] = [await this.storeCheck()];
    for (const slot of this.slots()) {
      checks.push({ name: `model:${slot.variant}`, ok: slot.loaded, latencyMs: null, detail: slot.loaded ? slot.current.identity.uri : 'not loaded' });
    }
    const staleAfter = Math.max(60_000, 3 * this.o.featureRefreshMs);
    for (const [ref, p] of this.predictors) {
      const age = Date.now() - p.features.lastSynced;
      const ok = this.featureError === null && (this.o.featureRefreshMs === 0 || age <= staleAfter);
      checks.push({
        name: `features:${ref}`,
        ok,
        latencyMs: null,
        detail: `${p.features.results} results up to ${p.features.frontier ?? '—'}, synced ${Math.round(age / 1000)} s ago${this.featureError ? `; last refresh failed: ${this.featureError}` : ''}`,
      });
    }
    return { ready: checks.every((c) => c.ok), checks };
  }

  /** Seconds since the feature state of each set last matched the store. */
  featureAges(): Array<{ featureSet: string; ageSeconds: number; frontier: string | null; results: number }> {
    return [...this.predictors].map(([ref, p]) => ({
      featureSet: ref,
      ageSeconds: (Date.now() - p.features.lastSynced) / 1000,
      frontier: p.features.frontier,
      results: p.features.results,
    }));
  }

  /** Polls the store once now (tests and the admin reload use it). */
  async refreshFeatures(): Promise<void> {
    try {
      let changed = false;
      for (const p of new Set(this.predictors.values())) {
        const r = await p.features.refresh();
        if (r.mode !== 'unchanged') changed = true;
      }
      if (changed) {
        const directory = await TeamDirectory.load(this.o.store);
        this.directory = directory;
        for (const [ref, p] of this.predictors) this.predictors.set(ref, new Predictor(p.features, directory));
        this.cache.clear();
      }
      if (this.featureError) this.o.logger.info('feature state: store reachable again, state up to date');
      this.featureError = null;
    } catch (error) {
      const why = (error as Error).message;
      if (this.featureError === null) this.o.logger.warn(`feature state: cannot refresh from the store (${why}); serving the state as it was`);
      this.featureError = why;
    }
  }

  /**
   * One prediction refresh pass with the champion (never the challenger: stored predictions follow the model most
   * callers get), after folding new results into its feature state; see runtime/refresh.ts.
   */
  refreshPredictions(): Promise<RefreshResult | null> {
    return this.refresher.run();
  }

  /** Stops the loops, writes every queued prediction, releases the models. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.refresher.idle();
    try {
      await this.sink.close();
    } finally {
      for (const slot of this.slots()) await slot.close();
    }
  }

  private loop(everyMs: number, work: () => Promise<void>): void {
    if (everyMs <= 0) return;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || this.closed) return;
      busy = true;
      work()
        .catch((error: unknown) => this.o.logger.error(`background refresh failed: ${(error as Error).message}`))
        .finally(() => {
          busy = false;
        });
    }, everyMs);
    timer.unref();
    this.timers.push(timer);
  }

  private async loadModel(source: ModelSource): Promise<LoadedModel> {
    const { loadModelFrom } = await import('../../predict/model.js');
    return loadModelFrom(this.o.store, source, this.o.registry, this.o.load);
  }

  private keyOf(source: ModelSource): (() => Promise<string>) | null {
    if (source.kind !== 'registry' || 'version' in source.ref) return null;
    return async () => {
      const { resolveVersion } = await import('../../predict/model.js');
      const v = await resolveVersion(await this.o.registry(), source.ref);
      return `${v.name}/${v.version}`;
    };
  }

  /** A model may serve once its feature set's state is loaded and it gives valid probabilities on a real input. */
  private async check(model: LoadedModel): Promise<void> {
    const ref = model.identity.featureSet;
    if (!this.predictors.has(ref)) {
      const features = await OnlineFeatureStore.open(this.o.store, model.definition);
      this.predictors.set(ref, new Predictor(features, this.directory));
    }
    const predictor = this.predictorFor(model);
    const probe = probeInput(predictor);
    if (!probe) return;
    const [f] = await predictor.score(model, [probe]);
    const p = f!.probabilities;
    const sum = p.home + p.draw + p.away;
    if (![p.home, p.draw, p.away].every((x) => Number.isFinite(x) && x >= 0 && x <= 1) || Math.abs(sum - 1) > 1e-4) {
      throw new Error(`${model.identity.uri} gives invalid probabilities on a probe input (${p.home}, ${p.draw}, ${p.away})`);
    }
  }

  private async storeCheck(): Promise<DependencyCheck> {
    const started = performance.now();
    try {
      await withTimeout(this.o.store.ping(), 2000, 'no answer within 2 s');
      return { name: 'store', ok: true, latencyMs: round(performance.now() - started), detail: this.o.store.location };
    } catch (error) {
      return { name: 'store', ok: false, latencyMs: round(performance.now() - started), detail: (error as Error).message };
    }
  }
}

/** A real input to check a model on: the next coming match, if the store has one. */
function probeInput(predictor: Predictor): PreparedInput | null {
  const next = predictor.features.upcoming()[0];
  return next ? predictor.prepareMatch(next) : null;
}

/** A caller's fixed place in [0, 1): the same id always lands on the same side of a split. */
export function stickyFraction(id: string): number {
  return createHash('sha256').update(`oracx-ab|${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function withTimeout<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)))]).finally(() => clearTimeout(timer));
}
