/** logreg → ONNX: standardise, one Gemm with the [F, 3] weights, Softmax. */
import { attr } from '../graph.js';
import { scaledFeatures, weightMatrix, type ExportContext, type ProbsValue } from './common.js';

/** The parts of a serialised logreg state the graph needs. */
export interface LogregState {
  scaler: { mean: number[]; std: number[] };
  weights: number[][];
  bias: number[];
}

/** Build the logreg subgraph for a model with these feature names and state. */
export function buildLogreg(ctx: ExportContext, featureNames: readonly string[], state: LogregState): ProbsValue {
  const { g } = ctx;
  const x = scaledFeatures(ctx, featureNames, state.scaler);
  const w = weightMatrix(ctx, 'weights', featureNames.length, 3, state.weights.flat());
  const logits = g.op('Gemm', [x, w, g.vector('bias', 'float32', state.bias)]);
  return { name: g.op('Softmax', [logits], { axis: attr.int(-1) }), type: 'float32', quantized: ctx.quantize };
}
