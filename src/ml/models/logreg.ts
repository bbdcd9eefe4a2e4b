/** Multinomial logistic regression on standardised features, fitted by L-BFGS in float64 (exact, fast, backend-free). */
import { z } from 'zod';
import type { Outcome, Probs } from '../types.js';
import { chosen, fallBack, holdOut, holdOutScores, pickIndex, round3, searchPath, tooSmall } from './auto-l2.js';
import { minimizeLbfgs, type LbfgsResult, type Objective } from './lbfgs.js';
import { applyScaler, finishProbs, fitScaler, halfLifeWeights, nonFiniteHint, selectColumns, trainingOutcomes, type Scaler } from './numeric.js';
import { resolveWith } from './params.js';
import { autoChoiceSchema, numbers, readState, scalerSchema } from './state.js';
import type { AutoChoice, Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of logreg ('auto' l2 only before fitting: a fitted model holds the value it used). */
export type LogregParams = { l2: number | 'auto'; maxIter: number; halfLifeDays: number };

/** Candidates of l2=auto: half-decades from 1e-4 (barely any penalty on standardised features) to 10 (intercepts only, nearly). */
export const LOGREG_L2_GRID: readonly number[] = [1e-4, 3.16e-4, 1e-3, 3.16e-3, 0.01, 0.0316, 0.1, 0.316, 1, 3.16, 10];
/** l2 of an l2=auto fit on a window too small to hold matches out: strong, since small windows are where weak penalties overfit. */
export const LOGREG_L2_FALLBACK = 1;
/** Share of the training window (its latest matches) held out to choose l2. */
export const LOGREG_HOLD_OUT = 0.25;

/** Parameter specs of logreg. */
export const LOGREG_PARAMS: readonly ParamSpec[] = [
  {
    name: 'l2',
    type: 'float',
    default: 'auto',
    auto: true,
    min: 0,
    max: 10,
    search: { min: 1e-4, max: 10, log: true },
    description: 'L2 penalty on standardised weights (added to the mean log loss); auto = chosen on the latest 25% of the training window',
  },
  { name: 'maxIter', type: 'int', default: 300, min: 10, max: 10_000, log: true, description: 'L-BFGS iterations at most' },
  { name: 'halfLifeDays', type: 'float', default: 0, min: 0, max: 3650, description: 'time-decay half-life of sample weights in days; 0 = off' },
];

const stateSchema = z.object({
  scaler: scalerSchema,
  weights: z.array(numbers.length(3)),
  bias: numbers.length(3),
  converged: z.boolean(),
  l2Auto: autoChoiceSchema.optional(),
});
type LogregState = z.infer<typeof stateSchema>;

/** Softmax of bias + r·W for standardised rows; W is d×3 as weights[j][k]. */
function predictRows(rows: readonly Float64Array[], weights: readonly (readonly number[])[], bias: readonly number[]): Probs[] {
  const z = [0, 0, 0];
  return rows.map((r) => {
    for (let k = 0; k < 3; k++) {
      let s = bias[k]!;
      for (let j = 0; j < r.length; j++) s += r[j]! * weights[j]![k]!;
      z[k] = s;
    }
    const m = Math.max(z[0]!, z[1]!, z[2]!);
    return finishProbs(Math.exp(z[0]! - m), Math.exp(z[1]! - m), Math.exp(z[2]! - m), 'logreg');
  });
}

/** Weights and bias out of the optimiser's x = [W (d×3, row-major), b (3)]. */
function unpack(x: Float64Array, d: number): { weights: number[][]; bias: number[] } {
  return { weights: Array.from({ length: d }, (_, j) => [0, 1, 2].map((k) => x[j * 3 + k]!)), bias: [0, 1, 2].map((k) => x[d * 3 + k]!) };
}

class LogregModel implements Model {
  readonly kind = 'logreg' as const;
  readonly auto?: Readonly<Record<string, AutoChoice>>;
  constructor(
    readonly params: Readonly<LogregParams>,
    private readonly featureNames: string[],
    private readonly state: LogregState,
  ) {
    if (state.l2Auto) this.auto = { l2: state.l2Auto };
  }

  predict(data: Dataset): Probs[] {
    const rows = applyScaler(selectColumns('logreg', data.X, data.featureNames, this.featureNames), this.state.scaler);
    return predictRows(rows, this.state.weights, this.state.bias);
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

/** Intercepts at the log class frequencies (the optimum when features carry no signal), weights 0. */
function startingPoint(y: readonly Outcome[], d: number): Float64Array {
  const x0 = new Float64Array(d * 3 + 3);
  const counts = [1, 1, 1];
  for (const o of y) counts[o]! += 1;
  for (let k = 0; k < 3; k++) x0[d * 3 + k] = Math.log(counts[k]! / (y.length + 3));
  return x0;
}

const sum = (w: Float64Array): number => w.reduce((s, v) => s + v, 0);

/**
 * l2=auto: candidates from the strongest penalty down (see searchPath), each warm-started from the last, fitted on
 * all but the latest LOGREG_HOLD_OUT of the window (scaled with that part's statistics only) and scored on that
 * tail. The winner is then rescaled for the refit on the whole window: the penalty is added to a weighted *mean*
 * loss, so the same prior strength on more data is a smaller l2 (l2 × fitted weight / total weight), as
 * LogisticRegressionCV reuses a C that multiplies a sum.
 */
async function chooseL2(
  raw: Float64Array[],
  y: Outcome[],
  w: Float64Array,
  data: Dataset,
  params: LogregParams,
  options: FitOptions,
  hint: () => string,
): Promise<AutoChoice> {
  const split = holdOut(data.matches, LOGREG_HOLD_OUT);
  const small = tooSmall(split, LOGREG_HOLD_OUT);
  if (small !== null) return fallBack('logreg', LOGREG_L2_FALLBACK, small, options);
  const d = raw[0]!.length;
  const part = (idx: number[]) => ({ raw: idx.map((i) => raw[i]!), y: idx.map((i) => y[i]!), w: Float64Array.from(idx, (i) => w[i]!) });
  const fit = part(split.fit);
  const val = part(split.validation);
  const scaler = fitScaler(fit.raw, d);
  const fitRows = applyScaler(fit.raw, scaler);
  const valRows = applyScaler(val.raw, scaler);
  let x = startingPoint(fit.y, d);
  const path = await searchPath(LOGREG_L2_GRID, async (l2) => {
    // Looser than the final fit: hold-out losses agree to ~1e-5 (far inside TIE_TOLERANCE) in half the iterations.
    const result = minimizeLbfgs(logregObjective(fitRows, fit.y, fit.w, l2), x, {
      model: 'logreg',
      maxIter: params.maxIter,
      gtol: 1e-5,
      ftol: 1e-9,
      signal: options.signal,
      hint,
    });
    x = result.x;
    const { weights, bias } = unpack(result.x, d);
    return holdOutScores(predictRows(valRows, weights, bias), val.y, val.w);
  });
  const share = sum(fit.w) / sum(w);
  const best = path.grid[pickIndex(path.grid, path.valLogLoss)]!;
  return chosen('logreg', {
    ...path,
    candidates: LOGREG_L2_GRID,
    value: round3(best * share),
    fitMatches: split.fit.length,
    validation: split.validation.map((i) => data.matches[i]!),
    how: `× ${share.toFixed(3)} (the fitted share of the sample weight) for the refit on the whole window`,
  });
}

/** Fit logreg on all of data's features. */
export async function fitLogreg(data: Dataset, given: Partial<LogregParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<LogregParams>('logreg', LOGREG_PARAMS, given);
  const y = trainingOutcomes('logreg', data.matches);
  const names = [...data.featureNames];
  const raw = selectColumns('logreg', data.X, data.featureNames, names);
  const w = halfLifeWeights(data.matches, params.halfLifeDays);
  const hint = () => nonFiniteHint(raw, names);
  const auto = params.l2 === 'auto' ? await chooseL2(raw, y, w, data, params, options, hint) : undefined;
  const l2 = auto ? auto.value : (params.l2 as number);
  const scaler: Scaler = fitScaler(raw, names.length);
  const rows = applyScaler(raw, scaler);
  const d = names.length;
  // A cold start, as a pinned fit makes: pinning the chosen l2 reproduces this model exactly.
  const result: LbfgsResult = minimizeLbfgs(logregObjective(rows, y, w, l2), startingPoint(y, d), {
    model: 'logreg',
    maxIter: params.maxIter,
    signal: options.signal,
    onIter: options.onEpoch ? (epoch, loss) => options.onEpoch?.({ epoch, loss }) : undefined,
    hint,
  });
  const { weights, bias } = unpack(result.x, d);
  return new LogregModel({ ...params, l2 }, names, { scaler, weights, bias, converged: result.converged, ...(auto ? { l2Auto: auto } : {}) });
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
