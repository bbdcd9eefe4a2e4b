/** elo-ordered → ONNX: standardise, z = x·β, then the ordered-logit probabilities from Sigmoids of the cut points. */
import { attr } from '../graph.js';
import { normaliseRows, scaledFeatures, type ExportContext, type ProbsValue } from './common.js';

/** The parts of a serialised elo-ordered state the graph needs. */
export interface EloOrderedState {
  scaler: { mean: number[]; std: number[] };
  theta1: number;
  theta2: number;
  beta: number[];
}

/** Build the elo-ordered subgraph: home = σ(z − θ2), away = σ(θ1 − z), draw = σ(θ2 − z)·σ(z − θ1)·(1 − e^(θ1−θ2)). */
export function buildEloOrdered(ctx: ExportContext, featureNames: readonly string[], state: EloOrderedState): ProbsValue {
  const { g } = ctx;
  const x = scaledFeatures(ctx, featureNames, state.scaler);
  const z = g.op('MatMul', [x, g.init('beta', 'float32', [state.beta.length, 1], state.beta)]);
  const t1 = g.scalar('theta1', 'float32', state.theta1);
  const t2 = g.scalar('theta2', 'float32', state.theta2);
  const home = g.op('Sigmoid', [g.op('Sub', [z, t2])]);
  const away = g.op('Sigmoid', [g.op('Sub', [t1, z])]);
  // The draw as a product, like the TS model, so no difference of two numbers near 1 is taken.
  const gap = g.scalar('gap', 'float32', -Math.expm1(state.theta1 - state.theta2));
  const draw = g.op('Mul', [g.op('Mul', [g.op('Sigmoid', [g.op('Sub', [t2, z])]), g.op('Sigmoid', [g.op('Sub', [z, t1])])]), gap]);
  const probs = g.op('Concat', [home, draw, away], { axis: attr.int(1) });
  return { name: normaliseRows(g, probs, 'float32'), type: 'float32', quantized: false };
}
