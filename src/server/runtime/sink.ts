/**
 * Stored predictions, written off the request path: rows are queued and written in batches (one transaction each)
 * by a background flush. A failed write keeps its rows queued and is retried; close() writes everything left, so a
 * graceful shutdown loses none. When the queue is full (the store is down for long), push refuses, and the route
 * answers 503 instead of forecasting without keeping the record.
 */
import type { Logger } from '../../logger.js';
import { insertPredictions, type PredictionRow } from '../../predict/predictions.js';
import type { Store } from '../../store/connect.js';

export interface SinkOptions {
  /** Rows per transaction. */
  batchRows: number;
  /** Longest a row waits before a flush starts. */
  intervalMs: number;
  /** Rows queued before push refuses. */
  maxQueued: number;
  logger: Logger;
  onFlush?: (rows: number, ms: number) => void;
  onError?: (error: unknown) => void;
}

export class PredictionSink {
  private queue: PredictionRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private readonly write: (rows: readonly PredictionRow[]) => Promise<void>;
  written = 0;

  constructor(
    store: Store,
    private readonly o: SinkOptions,
  ) {
    this.write = (rows) => insertPredictions(store, rows);
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Whether push would accept n more rows. */
  accepts(n: number): boolean {
    return !this.closed && this.queue.length + n <= this.o.maxQueued;
  }

  /** Queues rows; false (nothing queued) when the queue is full or the sink is closed. */
  push(rows: readonly PredictionRow[]): boolean {
    if (!this.accepts(rows.length)) return false;
    for (const r of rows) this.queue.push(r);
    if (this.queue.length >= this.o.batchRows) this.kick(0);
    else this.kick(this.o.intervalMs);
    return true;
  }

  /** Writes everything queued, retrying failed batches until close's deadline; resolves when the queue is empty. */
  async drain(deadlineMs = 30_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    while (this.queue.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.flush();
      if (this.queue.length > 0 && Date.now() > until) throw new Error(`${this.queue.length} prediction(s) could not be stored before the deadline`);
      if (this.queue.length > 0 && this.failures > 0) await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops accepting rows and drains. */
  async close(deadlineMs?: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.drain(deadlineMs);
  }

  private kick(delay: number): void {
    if (this.flushing || (this.timer && delay > 0)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.splice(0, this.o.batchRows);
    const started = performance.now();
    this.flushing = this.write(batch)
      .then(
        () => {
          this.written += batch.length;
          if (this.failures > 0) this.o.logger.info(`prediction store writes recovered after ${this.failures} failed attempt(s)`);
          this.failures = 0;
          this.o.onFlush?.(batch.length, performance.now() - started);
        },
        (error: unknown) => {
          // Back at the head of the queue, in order; the next flush retries with a growing delay.
          this.queue.unshift(...batch);
          this.failures++;
          this.o.onError?.(error);
          if (this.failures === 1 || this.failures % 20 === 0) {
            this.o.logger.error(
              `cannot store ${batch.length} prediction(s) (attempt ${this.failures}, ${this.queue.length} queued): ${(error as Error).message}`,
            );
          }
        },
      )
      .finally(() => {
        this.flushing = null;
        if (this.queue.length > 0 && !this.closed) this.kick(this.failures > 0 ? Math.min(5_000, 100 * 2 ** this.failures) : 0);
      });
    return this.flushing;
  }
}
