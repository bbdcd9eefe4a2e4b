/** OnnxScorer: an onnxruntime-node session over an exported model, scoring feeds or whole datasets in batches. */
import { readFile } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import type { Dataset } from '../ml/models/types.js';
import { OUTPUT } from './export/common.js';
import { feedEncoder, type FeedEncoder, type FeedScratch, type OnnxFeeds } from './feeds.js';
import { readOnnxMetadata, type OnnxMetadata } from './metadata.js';

/** Session options of OnnxScorer.create. */
export interface ScorerOptions {
  /** ORT graphOptimizationLevel 'all' (fusions, constant folding; for serving) instead of 'disabled'; default true. */
  optimize?: boolean;
  /** Threads ORT may use inside one operator; ORT's default (all cores) when omitted. */
  intraOpNumThreads?: number;
}

/** Options of scoreDataset. */
export interface ScoreDatasetOptions {
  /** Rows per session run; see DEFAULT_BATCH_SIZE. */
  batchSize?: number;
}

/**
 * Rows per run when none is given. In bench/onnx-score (200k rows, 60 features, logreg and a 60→32→3 mlp, 2 CPUs)
 * 8k–16k-row batches were fastest: the feed buffer (~4 MB) and ORT's intermediates stay in cache, whereas 1k batches
 * pay per-run overhead and 64k ones stream every intermediate through memory.
 */
export const DEFAULT_BATCH_SIZE = 16_384;

/** Scores an exported oracx model with onnxruntime-node; call release() when done. */
export class OnnxScorer {
  private readonly encode: FeedEncoder;

  private constructor(
    private readonly session: InferenceSession,
    /** The model's oracx metadata (kind, inputs, vocabularies). */
    readonly metadata: OnnxMetadata,
  ) {
    this.encode = feedEncoder(metadata);
  }

  /** A scorer for model bytes or a .onnx file path. */
  static async create(model: Uint8Array | string, options: ScorerOptions = {}): Promise<OnnxScorer> {
    const bytes = typeof model === 'string' ? new Uint8Array(await readFile(model)) : model;
    const metadata = readOnnxMetadata(bytes);
    const threads = options.intraOpNumThreads;
    if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 1)) {
      throw new RangeError(`OnnxScorer: intraOpNumThreads must be a positive integer, got ${threads}`);
    }
    const session = await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: (options.optimize ?? true) ? 'all' : 'disabled',
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    });
    return new OnnxScorer(session, metadata);
  }

  /** Probabilities for prepared feeds (see onnxFeeds): row-major [N·3] = pH, pD, pA per row. */
  async score(feeds: OnnxFeeds): Promise<Float32Array> {
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) throw new RangeError(`OnnxScorer: feeds lack input(s) ${missing.join(', ')} of the ${this.metadata.kind} model`);
    const result = await this.session.run(feeds);
    const probs = result[OUTPUT];
    if (probs === undefined || !(probs.data instanceof Float32Array)) throw new Error(`OnnxScorer: the model gave no float32 '${OUTPUT}' output`);
    return probs.data;
  }

  /** Probabilities for every row of dataset, encoded and run batchSize rows at a time: row-major [N·3]. */
  async scoreDataset(dataset: Dataset, options: ScoreDatasetOptions = {}): Promise<Float32Array> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) throw new RangeError(`OnnxScorer: batchSize must be a positive integer, got ${batchSize}`);
    const n = dataset.matches.length;
    const out = new Float32Array(n * 3);
    // ORT reads the inputs during run(), so one set of buffers serves every batch: no allocation or zero-fill per batch.
    const scratch: FeedScratch = {};
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      out.set(await this.score(this.encode(dataset, from, to, scratch)), from * 3);
    }
    return out;
  }

  /** Free the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
