// The serving runtime's parts with fakes for speed (the real store, ORT and HTTP are exercised in tests/server):
// the LRU cache, the prediction sink's batching, retries and drain, the micro-batcher and model-slot hot reload.
import { describe, expect, it, vi } from 'vitest';
import type { Forecast, PreparedInput, Predictor } from '../../pipelines/predict.js';
import type { Logger } from '../../src/logger.js';
import type { LoadedModel } from '../../src/predict/model.js';
import type { PredictionRow } from '../../src/predict/predictions.js';
import { MicroBatcher } from '../../src/server/runtime/batcher.js';
import { LruCache, PredictionCache } from '../../src/server/runtime/cache.js';
import { PredictionSink } from '../../src/server/runtime/sink.js';
import { ModelSlot } from '../../src/server/runtime/slot.js';
import { stickyFraction } from '../../src/server/runtime/serving.js';
import type { Store } from '../../src/store/connect.js';

const logger = (): Logger & { lines: string[] } => {
  const lines: string[] = [];
  const log = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
};

/** A store whose predictions inserts are recorded, and fail while `down` is set. */
function fakeStore() {
  const inserted: PredictionRow[][] = [];
  const state = { down: false };
  const store = {
    bulkInsert: async (_table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]) => {
      if (state.down) throw new Error('connection refused');
      inserted.push(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])) as unknown as PredictionRow));
    },
  } as unknown as Store;
  return { store, inserted, state };
}

const row = (i: number) => ({ inputs_hash: String(i) }) as unknown as PredictionRow;

describe('LruCache', () => {
  it('evicts the least recently used entry and expires entries after their TTL', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1, 1000, 0);
    c.set('b', 2, 1000, 0);
    expect(c.get('a', 1)).toBe(1);
    c.set('c', 3, 1000, 2);
    expect(c.get('b', 3)).toBeUndefined();
    expect(c.get('a', 3)).toBe(1);
    expect(c.get('c', 1002)).toBeUndefined();
  });

  it('caps live matches at the live TTL and degrades to in-process when Redis fails', async () => {
    const log = logger();
    const redis = { get: vi.fn().mockRejectedValue(new Error('ECONNREFUSED')), set: vi.fn().mockRejectedValue(new Error('ECONNREFUSED')) };
    const cache = new PredictionCache({ maxEntries: 10, ttlMs: 300_000, liveTtlMs: 30_000, redis, logger: log });
    expect(cache.ttlFor('live')).toBe(30_000);
    expect(cache.ttlFor('scheduled')).toBe(300_000);
    expect(await cache.get('k')).toBeUndefined();
    cache.set('k', { home: 0.5, draw: 0.3, away: 0.2 }, 1000);
    expect(await cache.get('k')).toEqual({ home: 0.5, draw: 0.3, away: 0.2 });
    expect(cache.shared).toBe(false);
    expect(log.lines.filter((l) => l.includes('Redis unavailable'))).toHaveLength(1);
  });
});

describe('PredictionSink', () => {
  it('writes in batches and drains everything on close', async () => {
    const { store, inserted } = fakeStore();
    const sink = new PredictionSink(store, { batchRows: 3, intervalMs: 10_000, maxQueued: 100, logger: logger() });
    expect(sink.push([row(1), row(2), row(3), row(4)])).toBe(true);
    await sink.close();
    expect(inserted.map((b) => b.length)).toEqual([3, 1]);
    expect(sink.written).toBe(4);
    expect(sink.push([row(5)])).toBe(false);
  });

  it('keeps rows queued while the store is down, refuses when full, and writes them all once it is back', async () => {
    const { store, inserted, state } = fakeStore();
    const log = logger();
    state.down = true;
    const sink = new PredictionSink(store, { batchRows: 2, intervalMs: 1, maxQueued: 5, logger: log });
    expect(sink.push([row(1), row(2), row(3)])).toBe(true);
    await vi.waitFor(() => expect(log.lines.some((l) => l.startsWith('error: cannot store'))).toBe(true));
    expect(sink.push([row(4), row(5), row(6)])).toBe(false);
    expect(sink.pending).toBe(3);
    state.down = false;
    await sink.close(10_000);
    expect(inserted.flat().map((r) => r.inputs_hash)).toEqual(['1', '2', '3']);
    expect(log.lines.some((l) => l.includes('recovered'))).toBe(true);
  });
});

describe('MicroBatcher', () => {
  it('scores single requests of one event-loop turn in one run, and large batches in runs of at most maxRows', async () => {
    const runs: number[] = [];
    const model = {} as LoadedModel;
    const predictor = {
      score: async (_m: LoadedModel, inputs: readonly PreparedInput[]) => inputs.map((i) => ({ inputsHash: i.inputsHash }) as Forecast),
    } as unknown as Predictor;
    const batcher = new MicroBatcher(() => predictor, { maxRows: 4, onRun: (rows) => runs.push(rows) });
    const input = (k: number) => ({ inputsHash: `h${k}` }) as PreparedInput;
    const singles = await Promise.all([1, 2, 3].map((k) => batcher.score(model, input(k))));
    expect(singles.map((f) => f.inputsHash)).toEqual(['h1', 'h2', 'h3']);
    expect(runs).toEqual([3]);
    const many = await batcher.scoreMany(
      model,
      Array.from({ length: 10 }, (_, k) => input(k)),
    );
    expect(many.map((f) => f.inputsHash)).toEqual(Array.from({ length: 10 }, (_, k) => `h${k}`));
    expect(runs.slice(1)).toEqual([4, 4, 2]);
  });
});

describe('ModelSlot', () => {
  const model = (uri: string) => ({ identity: { uri }, release: vi.fn(async () => undefined) }) as unknown as LoadedModel;

  it('swaps in a new version when the followed alias moves, keeps the old one when the new one fails its check', async () => {
    let key = 'm/1';
    const loaded: LoadedModel[] = [];
    const slot = new ModelSlot({
      variant: 'champion',
      source: { kind: 'registry', ref: { name: 'm', alias: 'champion' }, text: 'm@champion' },
      load: async () => {
        const m = model(key);
        loaded.push(m);
        return m;
      },
      currentKey: async () => key,
      check: async (m) => {
        if (m.identity.uri === 'm/3') throw new Error('gives invalid probabilities');
      },
      logger: logger(),
      graceMs: 1,
    });
    await slot.start();
    expect(slot.current.identity.uri).toBe('m/1');
    expect(await slot.poll()).toBe('unchanged');
    key = 'm/2';
    expect(await slot.poll()).toBe('reloaded');
    expect(slot.current.identity.uri).toBe('m/2');
    await vi.waitFor(() => expect(loaded[0]!.release).toHaveBeenCalled());
    key = 'm/3';
    expect(await slot.poll()).toBe('failed');
    expect(slot.current.identity.uri).toBe('m/2');
    expect(loaded[2]!.release).toHaveBeenCalled();
    expect(slot.lastError).toMatch(/invalid probabilities/);
    await slot.close();
    expect(loaded[1]!.release).toHaveBeenCalled();
  });
});

describe('A/B stickiness', () => {
  it('puts a caller on the same side every time and splits many callers near the share', () => {
    expect(stickyFraction('key:1')).toBe(stickyFraction('key:1'));
    const ids = Array.from({ length: 4000 }, (_, i) => `key:${i}`);
    const share = ids.filter((id) => stickyFraction(id) < 0.1).length / ids.length;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
  });
});
