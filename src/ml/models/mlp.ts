/** Multilayer perceptron (1–2 ReLU hidden layers, softmax output): trained in tfjs, predicted in plain TS. */
import { z } from 'zod';
import type { Outcome, Probs } from '../types.js';
import { chosen, fallBack, holdOut, holdOutScores, pickIndex, round3, searchPath, tooSmall } from './auto-l2.js';
import { trainMlp, type TrainResult } from './mlp-train.js';
import { applyScaler, chronological, finishProbs, fitScaler, nonFiniteHint, selectColumns, trainingOutcomes, type Scaler } from './numeric.js';
import { resolveWith } from './params.js';
import { autoChoiceSchema, numbers, readState, scalerSchema } from './state.js';
import type { AutoChoice, Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of mlp ('auto' l2 only before fitting: a fitted model holds the value it used). */
export type MlpParams = {
  hiddenUnits: number;
  layers: number;
  dropout: number;
  l2: number | 'auto';
  lr: number;
  epochs: number;
  batchSize: number;
  patience: number;
  validationFraction: number;
};

/** Parameter specs of mlp. */
export const MLP_PARAMS: readonly ParamSpec[] = [
  { name: 'hiddenUnits', type: 'int', default: 16, min: 2, max: 256, log: true, description: 'units per hidden layer' },
  { name: 'layers', type: 'int', default: 1, min: 1, max: 2, description: 'hidden layers' },
  { name: 'dropout', type: 'float', default: 0.1, min: 0, max: 0.8, description: 'dropout rate after each hidden layer (training only)' },
  {
    name: 'l2',
    type: 'float',
    default: 'auto',
    auto: true,
    min: 0,
    max: 1,
    search: { min: 1e-4, max: 1, log: true },
    description: 'L2 penalty on weights (added to the mean cross-entropy); auto = chosen on the latest 25% of the training window',
  },
  { name: 'lr', type: 'float', default: 3e-3, min: 1e-5, max: 1, log: true, description: 'Adam learning rate' },
  { name: 'epochs', type: 'int', default: 100, min: 1, max: 2000, log: true, description: 'passes over the training data at most' },
  { name: 'batchSize', type: 'int', default: 64, min: 8, max: 4096, log: true, description: 'mini-batch size' },
  { name: 'patience', type: 'int', default: 10, min: 0, max: 200, description: 'epochs without validation improvement before stopping; 0 = never stop early' },
  {
    name: 'validationFraction',
    type: 'float',
    default: 0.15,
    min: 0,
    max: 0.5,
    description: 'latest fraction of training matches held out for early stopping; 0 = none',
  },
];

const layerSchema = z.object({ rows: z.number().int().positive(), cols: z.number().int().positive(), weights: numbers, bias: numbers });
const stateSchema = z.object({
  scaler: scalerSchema,
  layers: z.array(layerSchema).min(2),
  bestEpoch: z.number().int(),
  epochsRun: z.number().int(),
  l2Auto: autoChoiceSchema.optional(),
});
type MlpState = z.infer<typeof stateSchema>;
/** One dense layer: weights row-major [rows = inputs][cols = outputs]. */
export type DenseLayer = z.infer<typeof layerSchema>;

/**
 * Candidates of l2=auto: half-decades from 1e-3 (below it the penalty barely moves a network this size) to 0.316
 * (close to intercepts only). Six, because each is a full tfjs training run.
 */
export const MLP_L2_GRID: readonly number[] = [1e-3, 3.16e-3, 0.01, 0.0316, 0.1, 0.316];
/** l2 of an l2=auto fit on a window too small to hold matches out: strong, as small windows need. */
export const MLP_L2_FALLBACK = 0.1;
/** Share of the training window (its latest matches) held out to choose l2. */
export const MLP_HOLD_OUT = 0.25;

/** Forward pass in float64: ReLU hidden layers, softmax output. */
function forward(layers: readonly DenseLayer[], input: Float64Array): Probs {
  let h: Float64Array = input;
  layers.forEach((layer, li) => {
    const out = Float64Array.from(layer.bias);
    for (let i = 0; i < layer.rows; i++) {
      const v = h[i]!;
      if (v === 0) continue;
      for (let j = 0; j < layer.cols; j++) out[j]! += v * layer.weights[i * layer.cols + j]!;
    }
    if (li < layers.length - 1) for (let j = 0; j < out.length; j++) out[j] = Math.max(0, out[j]!);
    h = out;
  });
  const m = Math.max(h[0]!, h[1]!, h[2]!);
  return finishProbs(Math.exp(h[0]! - m), Math.exp(h[1]! - m), Math.exp(h[2]! - m), 'mlp');
}

class MlpModel implements Model {
  readonly kind = 'mlp' as const;
  readonly auto?: Readonly<Record<string, AutoChoice>>;
  constructor(
    readonly params: Readonly<MlpParams>,
    private readonly featureNames: string[],
    private readonly state: MlpState,
  ) {
    if (state.l2Auto) this.auto = { l2: state.l2Auto };
  }

  predict(data: Dataset): Probs[] {
    const rows = applyScaler(selectColumns('mlp', data.X, data.featureNames, this.featureNames), this.state.scaler);
    return rows.map((r) => forward(this.state.layers, r));
  }

  serialize(): SerializedModel {
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames: [...this.featureNames], state: structuredClone(this.state) };
  }
}

/** A network trained on the rows `idx` of raw: their latest validationFraction early-stops it, the rest scales and trains it. */
async function trainOn(
  idx: readonly number[],
  raw: readonly Float64Array[],
  y: readonly Outcome[],
  params: MlpParams & { l2: number },
  options: FitOptions,
  hint: () => string,
): Promise<{ scaler: Scaler } & TrainResult> {
  const nVal = Math.min(idx.length - 1, Math.floor(idx.length * params.validationFraction));
  const trainIdx = idx.slice(0, idx.length - nVal);
  const valIdx = idx.slice(idx.length - nVal);
  // Scale on the training part only: the validation tail must not inform any statistic.
  const scaler = fitScaler(
    trainIdx.map((i) => raw[i]!),
    raw[0]!.length,
  );
  const rows = (part: readonly number[]) =>
    applyScaler(
      part.map((i) => raw[i]!),
      scaler,
    );
  const result = await trainMlp({
    params,
    xTrain: rows(trainIdx),
    yTrain: trainIdx.map((i) => y[i]!),
    xVal: rows(valIdx),
    yVal: valIdx.map((i) => y[i]!),
    options,
    hint,
  });
  return { scaler, ...result };
}

/** Fit the MLP on all of data's features; the same data, params and seed give identical weights on a given backend. */
export async function fitMlp(data: Dataset, given: Partial<MlpParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<MlpParams>('mlp', MLP_PARAMS, given);
  const y = trainingOutcomes('mlp', data.matches);
  const names = [...data.featureNames];
  if (names.length === 0) throw new RangeError('mlp: needs at least one feature, the dataset has none');
  const raw = selectColumns('mlp', data.X, data.featureNames, names);
  const hint = () => nonFiniteHint(raw, names);
  const auto = params.l2 === 'auto' ? await chooseL2(data, raw, y, params, options, hint) : undefined;
  const l2 = auto ? auto.value : (params.l2 as number);
  const state = await trainOn(chronological(data.matches), raw, y, { ...params, l2 }, options, hint);
  return new MlpModel({ ...params, l2 }, names, { ...state, ...(auto ? { l2Auto: auto } : {}) });
}

/**
 * l2=auto, as logreg's: one network per candidate on all but the latest MLP_HOLD_OUT of the window (each early-stopped
 * on the tail of that part), scored on the held-out matches, then a refit on the whole window with the winner × the
 * fitted share. The hold-out must not be the early-stopping tail: a tail that picks the epoch flatters the most
 * flexible networks (on E0 2017–19 it scored l2=0.001 at log loss 0.85, a fresh hold-out at 1.00). All candidates
 * share the seed (same initial weights, shuffles, dropout masks), so only l2 differs. Costs a training run per
 * candidate tried (largest first, see searchPath) on 75% of the data, plus the refit; only the refit reports epochs.
 */
async function chooseL2(data: Dataset, raw: Float64Array[], y: Outcome[], params: MlpParams, options: FitOptions, hint: () => string): Promise<AutoChoice> {
  const split = holdOut(data.matches, MLP_HOLD_OUT);
  const small = tooSmall(split, MLP_HOLD_OUT);
  if (small !== null) return fallBack('mlp', MLP_L2_FALLBACK, small, options);
  const quiet: FitOptions = { seed: options.seed, signal: options.signal };
  const valY = split.validation.map((i) => y[i]!);
  const path = await searchPath(MLP_L2_GRID, async (l2) => {
    const net = await trainOn(split.fit, raw, y, { ...params, l2 }, quiet, hint);
    return holdOutScores(
      applyScaler(
        split.validation.map((i) => raw[i]!),
        net.scaler,
      ).map((r) => forward(net.layers, r)),
      valY,
    );
  });
  const share = split.fit.length / data.matches.length;
  const best = path.grid[pickIndex(path.grid, path.valLogLoss)]!;
  return chosen('mlp', {
    ...path,
    candidates: MLP_L2_GRID,
    value: round3(best * share),
    fitMatches: split.fit.length,
    validation: split.validation.map((i) => data.matches[i]!),
    how: `× ${share.toFixed(3)} (the fitted share of the window) for the refit on all of it`,
  });
}

/** Rebuild an mlp model from its serialised form. */
export function loadMlp(serialized: SerializedModel): Model {
  const { state, params } = readState<MlpState, MlpParams>('mlp', MLP_PARAMS, serialized, stateSchema);
  let width = serialized.featureNames.length;
  for (const layer of state.layers) {
    if (layer.rows !== width || layer.weights.length !== layer.rows * layer.cols || layer.bias.length !== layer.cols) {
      throw new RangeError(`invalid serialized mlp model: layer shapes do not chain from ${serialized.featureNames.length} features`);
    }
    width = layer.cols;
  }
  if (width !== 3) throw new RangeError(`invalid serialized mlp model: output layer has ${width} units, expected 3`);
  return new MlpModel(params, [...serialized.featureNames], state);
}
