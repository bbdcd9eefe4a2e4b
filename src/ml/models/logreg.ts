/** Multinomial logistic regression on standardised features, fitted by L-BFGS in float64 (exact, fast, backend-free). */
import { z } from 'zod';
import type { Outcome, Probs } from '../types.js';
import { minimizeLbfgs, type Objective } from './lbfgs.js';
import { applyScaler, finishProbs, fitScaler, halfLifeWeights, nonFiniteHint, selectColumns, trainingOutcomes, type Scaler } from './numeric.js';
import { resolveWith } from './params.js';
import { numbers, readState, scalerSchema } from './state.js';
import type { Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of logreg. */
export type LogregParams = { l2: number; maxIter: number; halfLifeDays: number };

/** Parameter specs of logreg. */
export const LOGREG_PARAMS: readonly ParamSpec[] = [
  { name: 'l2', type: 'float', default: 1e-3, min: 0, max: 10, description: 'L2 penalty on weights (added to the mean log loss)' },
  { name: 'maxIter', type: 'int', default: 300, min: 10, max: 10_000, log: true, description: 'L-BFGS iterations at most' },
  { name: 'halfLifeDays', type: 'float', default: 0, min: 0, max: 3650, description: 'time-decay half-life of sample weights in days; 0 = off' },
];

const stateSchema = z.object({ scaler: scalerSchema, weights: z.array(numbers.length(3)), bias: numbers.length(3), converged: z.boolean() });
type LogregState = z.infer<typeof stateSchema>;

class LogregModel implements Model {
  readonly kind = 'logreg' as const;
  constructor(
    readonly params: Readonly<LogregParams>,
    private readonly featureNames: string[],
    private readonly state: LogregState,
  ) {}

  predict(data: Dataset): Probs[] {
    const rows = applyScaler(selectColumns('logreg', data.X, data.featureNames, this.featureNames), this.state.scaler);
    const z = [0, 0, 0];
    return rows.map((r) => {
      for (let k = 0; k < 3; k++) {
        let s = this.state.bias[k]!;
        for (let j = 0; j < r.length; j++) s += r[j]! * this.state.weights[j]![k]!;
        z[k] = s;
      }
      const m = Math.max(z[0]!, z[1]!, z[2]!);
      return finishProbs(Math.exp(z[0]! - m), Math.exp(z[1]! - m), Math.exp(z[2]! - m), 'logreg');
    });
  }

  serialize(): SerializedModel {
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames: [...this.featureNames], state: structuredClone(this.state) };
  }
}

/** Mean weighted log loss + l2·‖W‖² and its gradient; x = [W (d×3, row-major), b (3)]. */
export function logregObjective(rows: Float64Array[], y: Outcome[], w: Float64Array, l2: number): Objective {
  const d = rows[0]?.length ?? 0;
  let total = 0;
  for (const wi of w) total += wi;
  const z = new Float64Array(3);
  return (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let f = 0;
    rows.forEach((r, i) => {
      for (let k = 0; k < 3; k++) {
        let s = x[d * 3 + k]!;
        for (let j = 0; j < d; j++) s += r[j]! * x[j * 3 + k]!;
        z[k] = s;
      }
      const m = Math.max(z[0]!, z[1]!, z[2]!);
      const lse = m + Math.log(Math.exp(z[0]! - m) + Math.exp(z[1]! - m) + Math.exp(z[2]! - m));
      const wi = w[i]! / total;
      f -= wi * (z[y[i]!]! - lse);
      for (let k = 0; k < 3; k++) {
        const resid = wi * (Math.exp(z[k]! - lse) - (k === y[i] ? 1 : 0));
        grad[d * 3 + k]! += resid;
        for (let j = 0; j < d; j++) grad[j * 3 + k]! += resid * r[j]!;
      }
    });
    for (let i = 0; i < d * 3; i++) {
      f += l2 * x[i]! ** 2;
      grad[i]! += 2 * l2 * x[i]!;
    }
    return f;
  };
}

/** Fit logreg on all of data's features. */
export async function fitLogreg(data: Dataset, given: Partial<LogregParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<LogregParams>('logreg', LOGREG_PARAMS, given);
  const y = trainingOutcomes('logreg', data.matches);
  const names = [...data.featureNames];
  const raw = selectColumns('logreg', data.X, data.featureNames, names);
  const scaler: Scaler = fitScaler(raw, names.length);
  const rows = applyScaler(raw, scaler);
  const w = halfLifeWeights(data.matches, params.halfLifeDays);
  const d = names.length;
  // Start the intercepts at the log class frequencies: the optimum when features carry no signal.
  const x0 = new Float64Array(d * 3 + 3);
  const counts = [1, 1, 1];
  for (const o of y) counts[o]! += 1;
  for (let k = 0; k < 3; k++) x0[d * 3 + k] = Math.log(counts[k]! / (y.length + 3));
  const result = minimizeLbfgs(logregObjective(rows, y, w, params.l2), x0, {
    model: 'logreg',
    maxIter: params.maxIter,
    signal: options.signal,
    onIter: options.onEpoch ? (epoch, loss) => options.onEpoch?.({ epoch, loss }) : undefined,
    hint: () => nonFiniteHint(raw, names),
  });
  const weights = Array.from({ length: d }, (_, j) => [0, 1, 2].map((k) => result.x[j * 3 + k]!));
  const bias = [0, 1, 2].map((k) => result.x[d * 3 + k]!);
  return new LogregModel(params, names, { scaler, weights, bias, converged: result.converged });
}

/** Rebuild a logreg model from its serialised form. */
export function loadLogreg(serialized: SerializedModel): Model {
  const { state, params } = readState<LogregState, LogregParams>('logreg', LOGREG_PARAMS, serialized, stateSchema);
  const d = serialized.featureNames.length;
  if (state.weights.length !== d || state.scaler.mean.length !== d || state.scaler.std.length !== d) {
    throw new RangeError(`invalid serialized logreg model: ${d} feature names but ${state.weights.length} weight rows`);
  }
  return new LogregModel(params, [...serialized.featureNames], state);
}
