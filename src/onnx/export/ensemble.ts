/**
 * ensemble → ONNX: every member's subgraph (scoped m<k>_<kind>/), then in float64 either the learnt log pool
 * (softmax of Σ w_k·log p_k + b) or the tempered, weighted average renormalised.
 */
import type { SerializedModel } from '../../ml/models/types.js';
import { attr, dataType } from '../graph.js';
import { LOG_FLOOR } from '../../ml/models/log-pool.js';
import { normaliseRows, type ExportContext, type ProbsValue } from './common.js';

/** The parts of a serialised ensemble state the graph needs. */
export interface EnsembleState {
  members: SerializedModel[];
  weights: number[];
  temperatures?: number[];
  combine?: 'stack' | 'average';
}

/** Builds one member's subgraph (the kind dispatch, injected to keep this module free of the other exporters). */
export type MemberBuilder = (ctx: ExportContext, member: SerializedModel) => ProbsValue;

/** Build the ensemble as EnsembleModel.predict computes it. */
export function buildEnsemble(ctx: ExportContext, state: EnsembleState, buildMember: MemberBuilder): ProbsValue {
  return state.combine === 'stack' ? buildPool(ctx, state, buildMember) : buildAverage(ctx, state, buildMember);
}

/** Members' probabilities in float64, each from its own scoped subgraph; whether any holds int8 weights. */
function memberProbs(ctx: ExportContext, state: EnsembleState, buildMember: MemberBuilder): { probs: string[]; quantized: boolean } {
  const { g } = ctx;
  let quantized = false;
  const probs = state.members.map((member, k) => {
    const out = buildMember({ ...ctx, g: g.scope(`m${k}_${member.kind}`) }, member);
    quantized ||= out.quantized;
    return out.type === 'float64' ? out.name : g.op('Cast', [out.name], { to: attr.int(dataType('float64')) });
  });
  if (probs.length === 0) throw new RangeError('cannot export an ensemble without members to ONNX');
  return { probs, quantized };
}

/** softmax(Σ_k w_k · log(max(p_k, 1e-12))): log-pool.ts's poolProbs. */
function buildPool(ctx: ExportContext, state: EnsembleState, buildMember: MemberBuilder): ProbsValue {
  const { g } = ctx;
  const { probs, quantized } = memberProbs(ctx, state, buildMember);
  let total: string | null = null;
  probs.forEach((p, k) => {
    const logp = g.op('Log', [g.op('Max', [p, g.scalar(`pool_floor${k}`, 'float64', LOG_FLOOR)])]);
    const term = g.op('Mul', [logp, g.scalar(`pool_weight${k}`, 'float64', state.weights[k]!)]);
    total = total === null ? term : g.op('Add', [total, term]);
  });
  return { name: g.op('Softmax', [total!], { axis: attr.int(1) }), type: 'float64', quantized };
}

/** Σ_k w_k · temper(p_k, T_k), renormalised. */
function buildAverage(ctx: ExportContext, state: EnsembleState, buildMember: MemberBuilder): ProbsValue {
  const { g } = ctx;
  const { probs, quantized } = memberProbs(ctx, state, buildMember);
  let total: string | null = null;
  probs.forEach((member, k) => {
    let p = member;
    const t = state.temperatures?.[k] ?? 1;
    if (t !== 1) {
      // temper(): p^(1/T) with p floored at 1e-12, renormalised.
      const q = g.op('Pow', [g.op('Max', [p, g.scalar('floor', 'float64', 1e-12)]), g.scalar(`inv_temperature${k}`, 'float64', 1 / t)]);
      p = g.op('Div', [q, g.op('ReduceSum', [q, g.vector('axis1', 'int64', [1])], { keepdims: attr.int(1) })]);
    }
    const weighted = g.op('Mul', [p, g.scalar(`weight${k}`, 'float64', state.weights[k]!)]);
    total = total === null ? weighted : g.op('Add', [total, weighted]);
  });
  return { name: normaliseRows(g, total!, 'float64'), type: 'float64', quantized };
}
