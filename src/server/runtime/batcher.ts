/**
 * Micro-batching: single forecasts asked for during one event-loop turn are scored together, in one onnxruntime run
 * per model. ORT's run is synchronous inside (it blocks the event loop while it computes), so a batch is cut into
 * runs of at most maxRows with a turn of the event loop between them: a large batch never stalls other requests for
 * longer than one small run.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Forecast, PreparedInput, Predictor } from '../../../pipelines/predict.js';
import type { LoadedModel } from '../../predict/model.js';

interface Waiting {
  input: PreparedInput;
  resolve: (f: Forecast) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  /** Rows per onnxruntime run. */
  maxRows: number;
  /** Told the size of each run (for metrics). */
  onRun?: (rows: number, ms: number, model: LoadedModel) => void;
}

export class MicroBatcher {
  private readonly pending = new Map<LoadedModel, Waiting[]>();
  private turnWaiters: Array<() => void> = [];
  private scheduled = false;

  constructor(
    private readonly predictorFor: (model: LoadedModel) => Predictor,
    private readonly o: BatcherOptions,
  ) {}

  /** One forecast, scored with whatever else arrives in the same turn. */
  score(model: LoadedModel, input: PreparedInput): Promise<Forecast> {
    return new Promise((resolve, reject) => {
      let list = this.pending.get(model);
      if (!list) {
        list = [];
        this.pending.set(model, list);
      }
      list.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Resolves when this turn's batch is flushed: answers that need no scoring (cache hits) leave with the batch
   * instead of one by one. Written together, many answers cost the client's side one wake-up; answered as they
   * came, each socket write woke it (bench/serve: writev went from 5 % to 30 % of the event loop's time).
   */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.turnWaiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Many forecasts for one request, in runs of at most maxRows. */
  async scoreMany(model: LoadedModel, inputs: readonly PreparedInput[]): Promise<Forecast[]> {
    const out: Forecast[] = [];
    for (let i = 0; i < inputs.length; i += this.o.maxRows) {
      if (i > 0) await nextTurn();
      out.push(...(await this.run(model, inputs.slice(i, i + this.o.maxRows))));
    }
    return out;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batches = [...this.pending];
    this.pending.clear();
    const waiters = this.turnWaiters;
    this.turnWaiters = [];
    for (const resolve of waiters) resolve();
    for (const [model, waiting] of batches) {
      for (let i = 0; i < waiting.length; i += this.o.maxRows) {
        if (i > 0) await nextTurn();
        const chunk = waiting.slice(i, i + this.o.maxRows);
        try {
          const forecasts = await this.run(
            model,
            chunk.map((w) => w.input),
          );
          chunk.forEach((w, k) => {
            w.resolve(forecasts[k]!);
          });
        } catch (error) {
          for (const w of chunk) w.reject(error);
        }
      }
    }
  }

  private async run(model: LoadedModel, inputs: readonly PreparedInput[]): Promise<Forecast[]> {
    const started = performance.now();
    const forecasts = await this.predictorFor(model).score(model, inputs);
    this.o.onRun?.(inputs.length, performance.now() - started, model);
    return forecasts;
  }
}
