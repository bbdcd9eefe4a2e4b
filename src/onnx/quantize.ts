/** Whether int8 weights are worth keeping: the quantised export must score (RPS) within a tolerance of the float one. */
import { rps } from '../ml/metrics.js';
import type { Dataset, Model, SerializedModel } from '../ml/models/types.js';
import { outcomeOf, type Probs } from '../ml/types.js';
import { exportOnnx, type ExportOptions } from './export/index.js';
import { OnnxScorer } from './runtime.js';

/** Largest RPS change (either way) at which the int8 model still counts as the same model. */
export const QUANTIZATION_RPS_TOLERANCE = 0.0005;

/** The decision, both mean RPS figures and the bytes to ship (the int8 export when kept, else the float one). */
export interface QuantizationDecision {
  /** Whether the int8 export is kept: |delta| ≤ tolerance and it is smaller than the float export. */
  kept: boolean;
  /** Why, in one line (for logs and registry metadata). */
  reason: string;
  rpsFloat: number;
  rpsInt8: number;
  /** rpsInt8 − rpsFloat. */
  delta: number;
  tolerance: number;
  /** Model sizes in bytes. */
  sizeFloat: number;
  sizeInt8: number;
  /** The export to ship: int8 when kept, else float. */
  bytes: Uint8Array;
}

/** Mean RPS of row-major [N·3] probabilities against the dataset's results. */
export function meanRps(probs: Float32Array, dataset: Dataset): number {
  let total = 0;
  dataset.matches.forEach((m, i) => {
    const outcome = outcomeOf(m);
    if (outcome === null) throw new RangeError(`quantizeDecision: match ${m.id} (${m.date}) has no result; RPS needs finished matches`);
    const p: Probs = [probs[i * 3]!, probs[i * 3 + 1]!, probs[i * 3 + 2]!];
    total += rps(p, outcome);
  });
  return total / dataset.matches.length;
}

/**
 * Export model with float and with int8 weights, score both on dataset with onnxruntime-node and keep int8 only when
 * |ΔRPS| ≤ tolerance (a larger change either way means the int8 graph is no longer the model that was evaluated)
 * and the int8 file is smaller (its only point).
 * Throws RangeError for an empty dataset, unfinished matches, or a model that is not quantizable() (no logreg/mlp weights).
 */
export async function quantizeDecision(
  model: Model | SerializedModel,
  dataset: Dataset,
  options: Omit<ExportOptions, 'quantize'> & { tolerance?: number } = {},
): Promise<QuantizationDecision> {
  const { tolerance = QUANTIZATION_RPS_TOLERANCE, ...exportOptions } = options;
  if (dataset.matches.length === 0) throw new RangeError('quantizeDecision: the dataset is empty; RPS needs finished matches');
  if (!(tolerance >= 0)) throw new RangeError(`quantizeDecision: tolerance must be ≥ 0, got ${tolerance}`);
  const floatBytes = exportOnnx(model, { ...exportOptions, quantize: false });
  const int8Bytes = exportOnnx(model, { ...exportOptions, quantize: true });
  const rpsOf = async (bytes: Uint8Array): Promise<number> => {
    const scorer = await OnnxScorer.create(bytes);
    try {
      return meanRps(await scorer.scoreDataset(dataset), dataset);
    } finally {
      await scorer.release();
    }
  };
  const rpsFloat = await rpsOf(floatBytes);
  const rpsInt8 = await rpsOf(int8Bytes);
  const delta = rpsInt8 - rpsFloat;
  const close = keepInt8(rpsFloat, rpsInt8, tolerance);
  // A tiny weight matrix (logreg on a few features) gains nothing: the scales and the dequantise node outweigh it.
  const smaller = int8Bytes.length < floatBytes.length;
  const kept = close && smaller;
  const reason = !close
    ? `RPS changes by ${delta.toExponential(2)}, more than ±${tolerance}`
    : !smaller
      ? `int8 weights do not make the model smaller (${int8Bytes.length} vs ${floatBytes.length} bytes)`
      : `RPS changes by ${delta.toExponential(2)} (within ±${tolerance}) and the model shrinks from ${floatBytes.length} to ${int8Bytes.length} bytes`;
  return { kept, reason, rpsFloat, rpsInt8, delta, tolerance, sizeFloat: floatBytes.length, sizeInt8: int8Bytes.length, bytes: kept ? int8Bytes : floatBytes };
}

/** The rule on its own: keep int8 when its RPS is within tolerance of the float model's, either way. */
export function keepInt8(rpsFloat: number, rpsInt8: number, tolerance = QUANTIZATION_RPS_TOLERANCE): boolean {
  return Math.abs(rpsInt8 - rpsFloat) <= tolerance;
}
