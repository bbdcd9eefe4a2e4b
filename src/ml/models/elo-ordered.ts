/** Ordered logit (proportional odds) on a rating difference: P(away) = σ(θ1 − βx), P(home) = 1 − σ(θ2 − βx). */
import { z } from 'zod';
import type { Outcome, Probs } from '../types.js';
import { minimizeLbfgs, type Objective } from './lbfgs.js';
import { applyScaler, finishProbs, fitScaler, halfLifeWeights, nonFiniteHint, selectColumns, sigmoid, softplus, trainingOutcomes } from './numeric.js';
import { commaList, resolveWith } from './params.js';
import { numbers, readState, scalerSchema } from './state.js';
import { InvalidParams, type Dataset, type FitOptions, type Model, type ParamSpec, type SerializedModel } from './types.js';

/** Hyperparameters of elo-ordered. */
export type EloOrderedParams = { features: string; l2: number; halfLifeDays: number; maxIter: number };

/** Parameter specs of elo-ordered. */
export const ELO_ORDERED_PARAMS: readonly ParamSpec[] = [
  { name: 'features', type: 'string', default: 'elo_diff', description: 'comma list of features (home minus away, higher = home stronger)' },
  {
    name: 'l2',
    type: 'float',
    default: 1e-4,
    min: 0,
    max: 10,
    search: { min: 1e-6, max: 1, log: true },
    description: 'L2 penalty on the slopes (added to the mean log loss)',
  },
  { name: 'halfLifeDays', type: 'float', default: 0, min: 0, max: 3650, description: 'time-decay half-life of sample weights in days; 0 = off' },
  { name: 'maxIter', type: 'int', default: 200, min: 10, max: 10_000, log: true, description: 'L-BFGS iterations at most' },
];

const stateSchema = z.object({ scaler: scalerSchema, theta1: z.number(), theta2: z.number(), beta: numbers, converged: z.boolean() });
type EloState = z.infer<typeof stateSchema>;

/** [home, draw, away] for cut points θ1 < θ2 and linear predictor z, with the draw computed without cancellation. */
function ordered(theta1: number, theta2: number, z: number): Probs {
  const away = sigmoid(theta1 - z);
  const home = sigmoid(z - theta2);
  // σ(θ2−z) − σ(θ1−z) = σ(θ2−z)·σ(z−θ1)·(1 − e^{−(θ2−θ1)}): no difference of two numbers near 1.
  const draw = sigmoid(theta2 - z) * sigmoid(z - theta1) * -Math.expm1(theta1 - theta2);
  return finishProbs(home, draw, away, 'elo-ordered');
}

class EloOrderedModel implements Model {
  readonly kind = 'elo-ordered' as const;
  constructor(
    readonly params: Readonly<EloOrderedParams>,
    private readonly featureNames: string[],
    private readonly state: EloState,
  ) {}

  predict(data: Dataset): Probs[] {
    const rows = applyScaler(selectColumns('elo-ordered', data.X, data.featureNames, this.featureNames), this.state.scaler);
    return rows.map((r) =>
      ordered(
        this.state.theta1,
        this.state.theta2,
        this.state.beta.reduce((s, b, j) => s + b * r[j]!, 0),
      ),
    );
  }

  serialize(): SerializedModel {
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames: [...this.featureNames], state: structuredClone(this.state) };
  }
}

/** Mean weighted negative log-likelihood; x = [θ1, δ, β…] with θ2 = θ1 + e^δ so the cut points never cross. */
export function eloOrderedObjective(rows: Float64Array[], y: Outcome[], w: Float64Array, l2: number): Objective {
  let total = 0;
  for (const wi of w) total += wi;
  return (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    const t1 = x[0]!;
    const gap = Math.exp(x[1]!);
    const t2 = t1 + gap;
    let f = 0;
    let g1 = 0;
    let g2 = 0;
    let gGap = 0;
    rows.forEach((r, i) => {
      let z = 0;
      for (let j = 0; j < r.length; j++) z += x[2 + j]! * r[j]!;
      const wi = w[i]! / total;
      let gz = 0; // d(log-likelihood)/dz for this row
      if (y[i] === 2) {
        f += wi * softplus(z - t1);
        g1 += wi * sigmoid(z - t1);
        gz = -sigmoid(z - t1);
      } else if (y[i] === 0) {
        f += wi * softplus(t2 - z);
        g2 -= wi * sigmoid(t2 - z);
        gz = sigmoid(t2 - z);
      } else {
        f += wi * (softplus(z - t2) + softplus(t1 - z) - Math.log(-Math.expm1(-gap)));
        g2 += wi * sigmoid(z - t2);
        g1 -= wi * sigmoid(t1 - z);
        gGap += wi / Math.expm1(gap);
        gz = sigmoid(t1 - z) - sigmoid(z - t2);
      }
      for (let j = 0; j < r.length; j++) grad[2 + j]! -= wi * gz * r[j]!;
    });
    // g1, g2, gGap are log-likelihood gradients; the objective is the negative, and θ2 depends on θ1 and δ.
    grad[0] = -(g1 + g2);
    grad[1] = -(g2 + gGap) * gap;
    for (let j = 2; j < x.length; j++) {
      f += l2 * x[j]! ** 2;
      grad[j]! += 2 * l2 * x[j]!;
    }
    return f;
  };
}

/** Fit the ordered logit on the features named by params.features. */
export async function fitEloOrdered(data: Dataset, given: Partial<EloOrderedParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<EloOrderedParams>('elo-ordered', ELO_ORDERED_PARAMS, given);
  const names = commaList(params.features);
  if (names.length === 0) throw new InvalidParams(`elo-ordered: features must name at least one feature, got '${params.features}'`);
  const y = trainingOutcomes('elo-ordered', data.matches);
  const raw = selectColumns('elo-ordered', data.X, data.featureNames, names);
  const scaler = fitScaler(raw, names.length);
  const rows = applyScaler(raw, scaler);
  const w = halfLifeWeights(data.matches, params.halfLifeDays);
  // Start at the cut points that reproduce the class frequencies with β = 0.
  const counts = [1, 1, 1];
  for (const o of y) counts[o]! += 1;
  const n = y.length + 3;
  const pAway = counts[2]! / n;
  const pHomeOrDraw = 1 - counts[0]! / n;
  const t1 = Math.log(pAway / (1 - pAway));
  const t2 = Math.log(pHomeOrDraw / (1 - pHomeOrDraw));
  const x0 = new Float64Array(2 + names.length);
  x0[0] = t1;
  x0[1] = Math.log(t2 - t1);
  const result = minimizeLbfgs(eloOrderedObjective(rows, y, w, params.l2), x0, {
    model: 'elo-ordered',
    maxIter: params.maxIter,
    signal: options.signal,
    onIter: options.onEpoch ? (epoch, loss) => options.onEpoch?.({ epoch, loss }) : undefined,
    hint: () => nonFiniteHint(raw, names),
  });
  const theta1 = result.x[0]!;
  const state: EloState = { scaler, theta1, theta2: theta1 + Math.exp(result.x[1]!), beta: Array.from(result.x.subarray(2)), converged: result.converged };
  return new EloOrderedModel(params, names, state);
}

/** Rebuild an elo-ordered model from its serialised form. */
export function loadEloOrdered(serialized: SerializedModel): Model {
  const { state, params } = readState<EloState, EloOrderedParams>('elo-ordered', ELO_ORDERED_PARAMS, serialized, stateSchema);
  const d = serialized.featureNames.length;
  if (state.beta.length !== d || state.scaler.mean.length !== d || !(state.theta2 > state.theta1)) {
    throw new RangeError(`invalid serialized elo-ordered model: needs ${d} slopes and theta1 < theta2`);
  }
  return new EloOrderedModel(params, [...serialized.featureNames], state);
}
