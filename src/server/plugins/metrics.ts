/**
 * Prometheus metrics (prom-client) at GET /metrics: requests by route pattern, method and status with their
 * duration; forecasts by model, version and variant; prediction cache hits and misses; micro-batch sizes and
 * onnxruntime run times; the prediction queue and its flushes; the served models; feature-state age and frontier;
 * hot reloads; rate-limited requests; and prom-client's process metrics (event-loop lag, RSS, heap, GC).
 *
 * The request path only adds to series made once per route and status (see lean-metrics.ts); gauges are read from
 * the runtime when scraped. With --workers N, every worker keeps its own registry and /metrics answers for all of
 * them: the worker that gets the scrape asks the cluster primary, which gathers and sums the workers' registries
 * (metrics-cluster.ts).
 */
import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import type { Registry } from 'prom-client';
import type { LoadedModel } from '../../predict/model.js';
import { HttpProblem } from '../problem.js';
import type { ServingEvents, ServingRuntime } from '../runtime/serving.js';
import type { Variant } from '../runtime/slot.js';
import { problemResponse } from '../schemas.js';
import { clusterMetricsFromPrimary } from './metrics-cluster.js';
import { countsOf, DerivedCounter, LeanCounter, LeanHistogram, type CounterSeries, type HistogramSeries } from './lean-metrics.js';
import type { LimitScope, RateLimitState } from './rate-limit.js';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RUN_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const ROWS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** The route label of requests no route matched (their raw URLs would make unbounded series). */
export const UNMATCHED = '(unmatched)';

type ModelSeries = Partial<Record<Variant, CounterSeries>>;

export interface MetricsOptions {
  /** In a cluster worker: /metrics asks the primary for every worker's metrics. */
  clustered: boolean;
}

export class ServerMetrics {
  private runtime: ServingRuntime | null = null;
  private rateLimits: RateLimitState | null = null;
  private readonly http: LeanHistogram;
  private readonly unmatched = new Map<string, Map<number, HistogramSeries>>();
  private readonly predictions: LeanCounter;
  private readonly byModel = new WeakMap<LoadedModel, ModelSeries>();
  private readonly cacheHits: CounterSeries;
  private readonly cacheMisses: CounterSeries;
  private readonly batchRows: HistogramSeries;
  private readonly runSeconds: HistogramSeries;
  private readonly flushSeconds: HistogramSeries;
  private readonly written: CounterSeries;
  private readonly reloads: LeanCounter;
  private readonly limited: LeanCounter;
  private readonly refreshEvents: LeanCounter;
  private readonly refreshed: CounterSeries;

  /** The hooks ServingRuntime calls (pass as ServingOptions.events). */
  readonly events: ServingEvents;

  private constructor(
    readonly registry: Registry,
    prom: typeof import('prom-client'),
    private readonly o: MetricsOptions,
  ) {
    const reg = registry;
    this.http = new LeanHistogram(
      'oracx_http_request_duration_seconds',
      'HTTP requests by route pattern, method and status: time to the last byte of the answer',
      ['method', 'route', 'status'],
      SECONDS,
    ).registerIn(reg);
    new DerivedCounter('oracx_http_requests_total', 'HTTP requests answered, by route pattern, method and status', () => countsOf(this.http)).registerIn(reg);
    this.predictions = new LeanCounter('oracx_predictions_total', 'Forecasts served, by model, version and A/B variant (cached ones included)', [
      'model',
      'version',
      'variant',
    ]).registerIn(reg);
    this.cacheHits = new LeanCounter('oracx_prediction_cache_hits_total', 'Forecasts answered from the prediction cache', []).registerIn(reg).of({});
    this.cacheMisses = new LeanCounter('oracx_prediction_cache_misses_total', 'Forecasts the model had to score', []).registerIn(reg).of({});
    this.batchRows = new LeanHistogram('oracx_batch_rows', 'Rows per onnxruntime run (micro-batch size)', [], ROWS).registerIn(reg).of({});
    this.runSeconds = new LeanHistogram('oracx_onnx_run_duration_seconds', 'Time of one onnxruntime run, features to probabilities', [], RUN_SECONDS)
      .registerIn(reg)
      .of({});
    this.flushSeconds = new LeanHistogram('oracx_prediction_flush_duration_seconds', 'Time to write one batch of predictions to the store', [], SECONDS)
      .registerIn(reg)
      .of({});
    this.written = new LeanCounter('oracx_predictions_written_total', 'Predictions written to the store', []).registerIn(reg).of({});
    this.reloads = new LeanCounter('oracx_model_reloads_total', 'Hot reloads: a new model version swapped in, by variant', ['variant']).registerIn(reg);
    this.limited = new LeanCounter('oracx_rate_limited_total', 'Requests refused with 429, by budget (address or principal)', ['scope']).registerIn(reg);
    this.refreshEvents = new LeanCounter(
      'oracx_prediction_refresh_events_total',
      'match_finished events handled by the prediction refresh, by outcome (processed, skipped)',
      ['outcome'],
    ).registerIn(reg);
    this.refreshed = new LeanCounter(
      'oracx_predictions_refreshed_total',
      'Stored predictions recomputed after a result (each with a prediction_updated event)',
      [],
    )
      .registerIn(reg)
      .of({});

    const rt = () => this.runtime;
    new prom.Gauge({
      name: 'oracx_prediction_queue_depth',
      help: 'Predictions waiting to be written to the store',
      registers: [reg],
      collect() {
        this.set(rt()?.sink.pending ?? 0);
      },
    });
    new prom.Gauge({
      name: 'oracx_model_info',
      help: 'The served models (value 1), by variant, name, version, kind, feature set and ONNX digest',
      labelNames: ['variant', 'name', 'version', 'kind', 'feature_set', 'digest', 'uri'],
      registers: [reg],
      aggregator: 'max',
      collect() {
        this.reset();
        for (const slot of rt()?.slots() ?? []) {
          if (!slot.loaded) continue;
          const id = slot.current.identity;
          this.set(
            {
              variant: slot.variant,
              name: id.name ?? '',
              version: id.version === null ? '' : String(id.version),
              kind: id.kind,
              feature_set: id.featureSet,
              digest: id.digest,
              uri: id.uri,
            },
            1,
          );
        }
      },
    });
    new prom.Gauge({
      name: 'oracx_feature_state_age_seconds',
      help: 'Seconds since the online feature state last matched the store, by feature set',
      labelNames: ['feature_set'],
      registers: [reg],
      aggregator: 'max',
      collect() {
        this.reset();
        for (const f of rt()?.featureAges() ?? []) this.set({ feature_set: f.featureSet }, f.ageSeconds);
      },
    });
    new prom.Gauge({
      name: 'oracx_feature_state_frontier_timestamp_seconds',
      help: 'The latest result date the online feature state holds (Unix time, midnight UTC), by feature set',
      labelNames: ['feature_set'],
      registers: [reg],
      aggregator: 'min',
      collect() {
        this.reset();
        for (const f of rt()?.featureAges() ?? []) {
          const t = f.frontier ? Date.parse(`${f.frontier}T00:00:00Z`) / 1000 : NaN;
          if (Number.isFinite(t)) this.set({ feature_set: f.featureSet }, t);
        }
      },
    });
    const limits = () => this.rateLimits;
    new prom.Gauge({
      name: 'oracx_rate_limit_fallback',
      help: '1 while rate limits are counted in memory because Redis is not answering',
      registers: [reg],
      aggregator: 'max',
      collect() {
        this.set(limits()?.fallback ? 1 : 0);
      },
    });
    prom.collectDefaultMetrics({ register: reg });

    this.events = {
      onRun: (rows, ms) => {
        this.batchRows.observe(rows);
        this.runSeconds.observe(ms / 1000);
      },
      onForecast: (variant, model, cached) => {
        this.modelSeries(model, variant).inc();
        (cached ? this.cacheHits : this.cacheMisses).inc();
      },
      onFlush: (rows, ms) => {
        this.flushSeconds.observe(ms / 1000);
        this.written.inc(rows);
      },
      onSwap: (variant) => {
        this.reloads.of({ variant }).inc();
      },
      onRefresh: (events, refreshed, skipped) => {
        this.refreshEvents.of({ outcome: 'processed' }).inc(events - skipped);
        if (skipped > 0) this.refreshEvents.of({ outcome: 'skipped' }).inc(skipped);
        this.refreshed.inc(refreshed);
      },
    };
  }

  /** A registry with every oracx metric and prom-client's default ones (prom-client is loaded here, not before). */
  static async create(o: MetricsOptions): Promise<ServerMetrics> {
    const prom = await import('prom-client');
    const metrics = new ServerMetrics(new prom.Registry(), prom, o);
    if (o.clustered) {
      // The primary's AggregatorRegistry asks each worker over IPC; this answers with our registry.
      new prom.AggregatorRegistry();
      prom.AggregatorRegistry.setRegistries([metrics.registry]);
    }
    return metrics;
  }

  /** The gauges read this runtime when scraped. */
  bind(runtime: ServingRuntime): void {
    this.runtime = runtime;
  }

  /** Rate-limit counters and the fallback gauge. */
  bindRateLimits(state: RateLimitState): void {
    this.rateLimits = state;
  }

  /** Counts a refused request. */
  limitedRequest(scope: LimitScope): void {
    this.limited.of({ scope }).inc();
  }

  /** Hooks that time every request (register before the routes: each route gets its series when it is added). */
  hooks(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const hook = this.routeHook(route.url);
      const existing = route.onResponse;
      route.onResponse = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
    });
    // Requests no route matched (404, and Fastify's own early errors): one series per method and status.
    app.addHook('onResponse', (request, reply, done) => {
      if (request.is404) this.observe(this.unmatched, UNMATCHED, request.method, reply.statusCode, reply.elapsedTime);
      done();
    });
  }

  /** GET /metrics (public, never rate limited). */
  routes(app: FastifyInstance): void {
    app.get(
      '/metrics',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics',
          description: 'Text exposition format 0.0.4. With --workers N, the sum over every worker (gauges: max or min where a sum means nothing).',
          response: {
            200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
            503: problemResponse('the workers did not all answer in time'),
          },
        },
      },
      async (_request, reply) => {
        let text: string;
        try {
          text = this.o.clustered ? await clusterMetricsFromPrimary() : await this.registry.metrics();
        } catch (error) {
          throw new HttpProblem(503, 'metrics_unavailable', `metrics could not be gathered: ${(error as Error).message}`, {}, { 'retry-after': '1' });
        }
        return reply.type(this.registry.contentType).send(text);
      },
    );
  }

  private routeHook(route: string): onResponseHookHandler {
    const series = new Map<string, Map<number, HistogramSeries>>();
    return (request, reply, done) => {
      this.observe(series, route, request.method, reply.statusCode, reply.elapsedTime);
      done();
    };
  }

  private observe(series: Map<string, Map<number, HistogramSeries>>, route: string, method: string, status: number, ms: number): void {
    let byStatus = series.get(method);
    if (!byStatus) {
      byStatus = new Map();
      series.set(method, byStatus);
    }
    let s = byStatus.get(status);
    if (!s) {
      s = this.http.of({ method, route, status: String(status) });
      byStatus.set(status, s);
    }
    s.observe(ms / 1000);
  }

  private modelSeries(model: LoadedModel, variant: Variant): CounterSeries {
    let s = this.byModel.get(model);
    if (!s) {
      s = {};
      this.byModel.set(model, s);
    }
    const { name, uri, version } = model.identity;
    let series = s[variant];
    if (!series) {
      series = this.predictions.of({ model: name ?? uri, version: version === null ? '' : String(version), variant });
      s[variant] = series;
    }
    return series;
  }
}
