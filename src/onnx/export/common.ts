/** Pieces every exporter shares: the graph inputs, feature selection and scaling, int8 weight matrices, row normalising. */
import { attr, type GraphBuilder } from '../graph.js';

/** Names of the graph inputs (fixed: they are the public input conventions, see docs/onnx.md). */
export const INPUT = { features: 'features', home: 'home', away: 'away', competition: 'competition' } as const;
/** Name of the graph output. */
export const OUTPUT = 'probs';

/** Team and competition vocabularies of the Dixon–Coles inputs: index i of `home`/`away` is store team id teams[i]. */
export interface Vocabulary {
  teams: number[];
  competitions: string[];
}

/** What a model-kind exporter builds into: a (scoped) graph and the graph inputs it may read. */
export interface ExportContext {
  g: GraphBuilder;
  /** Columns of the `features` input, in order; empty when the graph has no feature input. */
  featureNames: readonly string[];
  /** Set when the graph has the Dixon–Coles inputs. */
  vocabulary: Vocabulary | null;
  /** Store logreg/mlp weight matrices as int8 (weight-only, per output column). */
  quantize: boolean;
}

/** The [N, 3] probability value a kind's subgraph ends in, its element type, and whether it holds int8 weights. */
export interface ProbsValue {
  name: string;
  type: 'float32' | 'float64';
  quantized: boolean;
}

/** The model's feature columns as a float32 [N, names.length] value, gathered from the graph's `features` input. */
export function featureColumns(ctx: ExportContext, names: readonly string[]): string {
  const idx = names.map((n) => ctx.featureNames.indexOf(n));
  const missing = names.filter((_, k) => idx[k]! < 0);
  if (missing.length > 0) throw new Error(`onnx export: feature(s) ${missing.join(', ')} not among the graph's feature input columns`);
  if (idx.length === ctx.featureNames.length && idx.every((j, k) => j === k)) return INPUT.features;
  return ctx.g.op('Gather', [INPUT.features, ctx.g.vector('columns', 'int64', idx)], { axis: attr.int(1) });
}

/** Standardised features (x − mean) / std in float32, as the TS models apply their Scaler. */
export function scaledFeatures(ctx: ExportContext, names: readonly string[], scaler: { mean: readonly number[]; std: readonly number[] }): string {
  const { g } = ctx;
  const centred = g.op('Sub', [featureColumns(ctx, names), g.vector('mean', 'float32', scaler.mean)]);
  return g.op('Div', [centred, g.vector('std', 'float32', scaler.std)]);
}

/**
 * A float32 [rows, cols] weight matrix (row-major values): an initialiser, or with ctx.quantize an int8 initialiser
 * with one symmetric scale per output column, dequantised in-graph (DequantizeLinear, axis 1).
 */
export function weightMatrix(ctx: ExportContext, hint: string, rows: number, cols: number, values: readonly number[]): string {
  const { g } = ctx;
  if (!ctx.quantize) return g.init(hint, 'float32', [rows, cols], values);
  const scale = Array.from({ length: cols }, (_, j) => {
    let max = 0;
    for (let i = 0; i < rows; i++) max = Math.max(max, Math.abs(values[i * cols + j]!));
    // An all-zero column quantises to zeros with any scale; 1 keeps the scale positive as ONNX requires.
    return max > 0 ? Math.fround(max / 127) : 1;
  });
  const q = values.map((v, k) => Math.max(-127, Math.min(127, Math.round(v / scale[k % cols]!))));
  return g.op(
    'DequantizeLinear',
    [
      g.init(`${hint}_int8`, 'int8', [rows, cols], q),
      g.vector(`${hint}_scale`, 'float32', scale),
      g.vector(`${hint}_zero`, 'int8', new Array<number>(cols).fill(0)),
    ],
    {
      axis: attr.int(1),
    },
  );
}

/** Rows divided by their sum (as finishProbs does after clamping negatives to 0). */
export function normaliseRows(g: GraphBuilder, p: string, type: 'float32' | 'float64'): string {
  const clamped = g.op('Max', [p, g.scalar('zero', type, 0)]);
  const sum = g.op('ReduceSum', [clamped, g.vector('axis1', 'int64', [1])], { keepdims: attr.int(1) });
  return g.op('Div', [clamped, sum]);
}
