/** mlp → ONNX: standardise, Gemm + Relu per hidden layer, Gemm, Softmax; weights come from the serialised state (no tfjs). */
import { attr } from '../graph.js';
import { scaledFeatures, weightMatrix, type ExportContext, type ProbsValue } from './common.js';

/** One dense layer as the mlp state stores it: weights row-major [rows = inputs][cols = outputs]. */
export interface MlpLayer {
  rows: number;
  cols: number;
  weights: number[];
  bias: number[];
}

/** The parts of a serialised mlp state the graph needs. */
export interface MlpState {
  scaler: { mean: number[]; std: number[] };
  layers: MlpLayer[];
}

/** Build the mlp subgraph for a model with these feature names and state. */
export function buildMlp(ctx: ExportContext, featureNames: readonly string[], state: MlpState): ProbsValue {
  const { g } = ctx;
  let h = scaledFeatures(ctx, featureNames, state.scaler);
  state.layers.forEach((layer, l) => {
    const w = weightMatrix(ctx, `w${l}`, layer.rows, layer.cols, layer.weights);
    h = g.op('Gemm', [h, w, g.vector(`b${l}`, 'float32', layer.bias)]);
    if (l < state.layers.length - 1) h = g.op('Relu', [h]);
  });
  return { name: g.op('Softmax', [h], { axis: attr.int(-1) }), type: 'float32', quantized: ctx.quantize };
}
