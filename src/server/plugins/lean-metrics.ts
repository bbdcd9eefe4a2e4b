/**
 * Metrics updated on the request path. prom-client hashes the label object of every observation (a string and an
 * object per call); here a labelled series is made once (per route and status, per model and variant…) and held by
 * whoever updates it, so an observation is a few additions. They register in a prom-client Registry beside its own
 * metrics (same exposition, same cluster aggregation: `get()` returns what prom-client's metrics return).
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Snapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Value[];
}

abstract class LeanMetric<S> {
  protected readonly series = new Map<string, S>();
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series of these labels, made on first use; keep it and update it directly. */
  of(labels: Labels): S {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0001');
    let s = this.series.get(key);
    if (!s) {
      const own: Record<string, string> = {};
      for (const n of this.labelNames) own[n] = labels[n] ?? '';
      s = this.make(own);
      this.series.set(key, s);
    }
    return s;
  }

  /** Every series made so far. */
  all(): IterableIterator<S> {
    return this.series.values();
  }

  /** Registers in a prom-client registry (it only calls get()). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  protected abstract make(labels: Labels): S;
  protected abstract values(): Value[];

  /** What prom-client's metrics return: exposition and cluster aggregation read this. */
  async get(): Promise<Snapshot> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  /** prom-client's Registry.resetMetrics calls it. */
  reset(): void {
    this.series.clear();
  }
}

/** One counter series. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class LeanCounter extends LeanMetric<CounterSeries> {
  readonly type = 'counter';
  protected make(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
  protected values(): Value[] {
    return [...this.series.values()].map((s) => ({ value: s.value, labels: { ...s.labels } }));
  }
}

/** One histogram series: per-bucket counts (not cumulative until exported), sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export class LeanHistogram extends LeanMetric<HistogramSeries> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected make(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }
  protected values(): Value[] {
    const out: Value[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i]!;
        out.push({ value: acc, labels: { ...s.labels, le }, metricName: `${this.name}_bucket` });
      });
      out.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      out.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return out;
  }
}

/** A counter whose series are read from other metrics' state at scrape time (e.g. request counts from a histogram). */
export class DerivedCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Array<{ labels: Labels; value: number }>,
  ) {}
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }
  async get(): Promise<Snapshot> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read().map((v) => ({ value: v.value, labels: { ...v.labels } })),
    };
  }
  reset(): void {}
}

/** The series of a histogram, for a DerivedCounter of its counts. */
export function countsOf(h: LeanHistogram): Array<{ labels: Labels; value: number }> {
  return [...h.all()].map((s) => ({ labels: s.labels, value: s.count }));
}
