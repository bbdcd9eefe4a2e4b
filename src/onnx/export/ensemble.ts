/** ensemble → ONNX: every member's subgraph (scoped m<k>_<kind>/), tempered, weighted and renormalised in float64. */
import type { SerializedModel } from '../../ml/models/types.js';
import { attr, dataType } from '../graph.js';
import { normaliseRows, type ExportContext, type ProbsValue } from './common.js';

/** The parts of a serialised ensemble state the graph needs. */
export interface EnsembleState {
  members: SerializedModel[];
  weights: number[];
  temperatures?: number[];
}

/** Builds one member's subgraph (the kind dispatch, injected to keep this module free of the other exporters). */
export type MemberBuilder = (ctx: ExportContext, member: SerializedModel) => ProbsValue;

/** Build the ensemble: Σ_k w_k · temper(p_k, T_k), renormalised, as EnsembleModel.predict computes it. */
export function buildEnsemble(ctx: ExportContext, state: EnsembleState, buildMember: MemberBuilder): ProbsValue {
  const { g } = ctx;
  let total: string | null = null;
  let quantized = false;
  state.members.forEach((member, k) => {
    const out = buildMember({ ...ctx, g: g.scope(`m${k}_${member.kind}`) }, member);
    quantized ||= out.quantized;
    let p = out.type === 'float64' ? out.name : g.op('Cast', [out.name], { to: attr.int(dataType('float64')) });
    const t = state.temperatures?.[k] ?? 1;
    if (t !== 1) {
      // temper(): p^(1/T) with p floored at 1e-12, renormalised.
      const q = g.op('Pow', [g.op('Max', [p, g.scalar('floor', 'float64', 1e-12)]), g.scalar(`inv_temperature${k}`, 'float64', 1 / t)]);
      p = g.op('Div', [q, g.op('ReduceSum', [q, g.vector('axis1', 'int64', [1])], { keepdims: attr.int(1) })]);
    }
    const weighted = g.op('Mul', [p, g.scalar(`weight${k}`, 'float64', state.weights[k]!)]);
    total = total === null ? weighted : g.op('Add', [total, weighted]);
  });
  if (total === null) throw new RangeError('cannot export an ensemble without members to ONNX');
  return { name: normaliseRows(g, total, 'float64'), type: 'float64', quantized };
}
