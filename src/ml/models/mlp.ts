/** Multilayer perceptron (1–2 ReLU hidden layers, softmax output): trained in tfjs, predicted in plain TS. */
import { z } from 'zod';
import type { Probs } from '../types.js';
import { trainMlp } from './mlp-train.js';
import { applyScaler, finishProbs, fitScaler, nonFiniteHint, selectColumns, trainingOutcomes } from './numeric.js';
import { resolveWith } from './params.js';
import { numbers, readState, scalerSchema } from './state.js';
import type { Dataset, FitOptions, Model, ParamSpec, SerializedModel } from './types.js';

/** Hyperparameters of mlp. */
export type MlpParams = {
  hiddenUnits: number;
  layers: number;
  dropout: number;
  l2: number;
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
  { name: 'l2', type: 'float', default: 1e-4, min: 0, max: 1, description: 'L2 penalty on weights (added to the mean cross-entropy)' },
  { name: 'lr', type: 'float', default: 3e-3, min: 1e-5, max: 1, log: true, description: 'Adam learning rate' },
  { name: 'epochs', type: 'int', default: 100, min: 1, max: 2000, log: true, description: 'passes over the training data at most' },
  { name: 'batchSize', type: 'int', default: 64, min: 8, max: 4096, log: true, description: 'mini-batch size' },
  { name: 'patience', type: 'int', default: 10, min: 0, max: 200, description: 'epochs without validation improvement before stopping; 0 = never stop early' },
  { name: 'validationFraction', type: 'float', default: 0.15, min: 0, max: 0.5, description: 'latest fraction of training matches held out for early stopping; 0 = none' },
];

const layerSchema = z.object({ rows: z.number().int().positive(), cols: z.number().int().positive(), weights: numbers, bias: numbers });
const stateSchema = z.object({ scaler: scalerSchema, layers: z.array(layerSchema).min(2), bestEpoch: z.number().int(), epochsRun: z.number().int() });
type MlpState = z.infer<typeof stateSchema>;
/** One dense layer: weights row-major [rows = inputs][cols = outputs]. */
export type DenseLayer = z.infer<typeof layerSchema>;

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
  constructor(
    readonly params: Readonly<MlpParams>,
    private readonly featureNames: string[],
    private readonly state: MlpState,
  ) {}

  predict(data: Dataset): Probs[] {
    const rows = applyScaler(selectColumns('mlp', data.X, data.featureNames, this.featureNames), this.state.scaler);
    return rows.map((r) => forward(this.state.layers, r));
  }

  serialize(): SerializedModel {
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames: [...this.featureNames], state: structuredClone(this.state) };
  }
}

/** Indices of data.matches in chronological order (date, kickoff, id), so the validation tail is the latest matches. */
function chronological(data: Dataset): number[] {
  const key = (i: number): string => {
    const m = data.matches[i]!;
    return `${m.date} ${m.kickoff ?? '99:99'}`;
  };
  return data.matches.map((_, i) => i).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : data.matches[a]!.id - data.matches[b]!.id));
}

/** Fit the MLP on all of data's features; the same data, params and seed give identical weights on a given backend. */
export async function fitMlp(data: Dataset, given: Partial<MlpParams>, options: FitOptions): Promise<Model> {
  const params = resolveWith<MlpParams>('mlp', MLP_PARAMS, given);
  const y = trainingOutcomes('mlp', data.matches);
  const names = [...data.featureNames];
  if (names.length === 0) throw new RangeError('mlp: needs at least one feature, the dataset has none');
  const raw = selectColumns('mlp', data.X, data.featureNames, names);
  const order = chronological(data);
  const nVal = Math.min(order.length - 1, Math.floor(order.length * params.validationFraction));
  const trainIdx = order.slice(0, order.length - nVal);
  const valIdx = order.slice(order.length - nVal);
  // Scale on the training part only: the validation tail must not inform any statistic.
  const scaler = fitScaler(
    trainIdx.map((i) => raw[i]!),
    names.length,
  );
  const X = applyScaler(raw, scaler);
  const result = await trainMlp({
    params,
    xTrain: trainIdx.map((i) => X[i]!),
    yTrain: trainIdx.map((i) => y[i]!),
    xVal: valIdx.map((i) => X[i]!),
    yVal: valIdx.map((i) => y[i]!),
    options,
    hint: () => nonFiniteHint(raw, names),
  });
  return new MlpModel(params, names, { scaler, ...result });
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
