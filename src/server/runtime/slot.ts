/**
 * One served model (the champion, or the A/B challenger) and its hot reload: a registry alias or "latest" is
 * re-resolved every poll; when it points at a new version, that version is loaded, checked (its feature set is
 * served, and it gives valid probabilities on a real input) and swapped in. Requests in flight keep the model they
 * started with; the old session is released a grace period later. A version that fails its check is not served
 * and the old one stays.
 */
import type { Logger } from '../../logger.js';
import type { LoadedModel, ModelSource } from '../../predict/model.js';

export type Variant = 'champion' | 'challenger';

export interface SlotOptions {
  variant: Variant;
  source: ModelSource;
  /** Loads the version a source names now. */
  load: (source: ModelSource) => Promise<LoadedModel>;
  /** A cheap key of what the source names now (e.g. "oracx-e0/4"); null when the source cannot move (a file, a run, a number). */
  currentKey: (() => Promise<string>) | null;
  /** Throws unless the model can serve (feature state ready, probabilities valid). */
  check: (model: LoadedModel) => Promise<void>;
  logger: Logger;
  /** How long a replaced model is kept for requests still using it. */
  graceMs?: number;
  onSwap?: (from: LoadedModel, to: LoadedModel) => void;
}

export class ModelSlot {
  private model: LoadedModel | null = null;
  private key: string | null = null;
  private swapping: Promise<'unchanged' | 'reloaded' | 'failed'> | null = null;
  private readonly retired = new Map<NodeJS.Timeout, LoadedModel>();
  loadedAt = 0;
  lastError: string | null = null;

  constructor(readonly o: SlotOptions) {}

  get variant(): Variant {
    return this.o.variant;
  }

  /** The model serving now; throws before start(). */
  get current(): LoadedModel {
    if (!this.model) throw new Error(`no ${this.o.variant} model loaded`);
    return this.model;
  }

  get loaded(): boolean {
    return this.model !== null;
  }

  /** Loads and checks the first model; throws when it cannot serve. */
  async start(): Promise<void> {
    const key = this.o.currentKey ? await this.o.currentKey() : null;
    const model = await this.o.load(this.o.source);
    try {
      await this.o.check(model);
    } catch (error) {
      await model.release();
      throw error;
    }
    this.model = model;
    this.key = key;
    this.loadedAt = Date.now();
  }

  /** Re-resolves the source; loads, checks and swaps in a new version. Concurrent calls share one. */
  poll(): Promise<'unchanged' | 'reloaded' | 'failed'> {
    this.swapping ??= this.doPoll().finally(() => {
      this.swapping = null;
    });
    return this.swapping;
  }

  private async doPoll(): Promise<'unchanged' | 'reloaded' | 'failed'> {
    if (!this.o.currentKey) return 'unchanged';
    let key: string;
    let next: LoadedModel | null = null;
    try {
      key = await this.o.currentKey();
      if (key === this.key) return 'unchanged';
      next = await this.o.load(this.o.source);
      await this.o.check(next);
    } catch (error) {
      if (next) await next.release().catch(() => undefined);
      const why = (error as Error).message;
      if (why !== this.lastError)
        this.o.logger.warn(`${this.o.variant}: cannot reload ${describe(this.o.source)}: ${why}; still serving ${this.model?.identity.uri ?? 'nothing'}`);
      this.lastError = why;
      return 'failed';
    }
    const old = this.model;
    this.model = next;
    this.key = key;
    this.loadedAt = Date.now();
    this.lastError = null;
    if (old) {
      this.o.logger.info(`${this.o.variant}: now serving ${next.identity.uri} (was ${old.identity.uri})`);
      this.o.onSwap?.(old, next);
      const timer = setTimeout(() => {
        this.retired.delete(timer);
        void old.release().catch(() => undefined);
      }, this.o.graceMs ?? 30_000);
      timer.unref();
      this.retired.set(timer, old);
    }
    return 'reloaded';
  }

  /** Releases the current model and any retired one. */
  async close(): Promise<void> {
    if (this.swapping) await this.swapping.catch(() => undefined);
    for (const [t, model] of this.retired) {
      clearTimeout(t);
      await model.release().catch(() => undefined);
    }
    this.retired.clear();
    if (this.model) await this.model.release().catch(() => undefined);
    this.model = null;
  }
}

/** "oracx-e0@champion", "run 12", "./model.onnx". */
export function describe(source: ModelSource): string {
  return source.kind === 'registry' ? source.text : source.kind === 'run' ? `run ${source.run}` : source.path;
}
