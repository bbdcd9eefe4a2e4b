/** The tfjs training loop of the MLP: seeded initialisation, shuffles and dropout; early stopping on a validation tail. */
import type { Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import { mulberry32, shuffleInPlace } from '../random.js';
import type { Outcome } from '../types.js';
import { initBackend, loadTf, type Tf } from './backend.js';
import type { DenseLayer, MlpParams } from './mlp.js';
import { deriveSeed } from './numeric.js';
import { TrainingDiverged, type FitOptions } from './types.js';

/** Inputs of trainMlp: standardised rows split chronologically into train and validation. */
export interface TrainInput {
  /** With l2 settled (l2=auto trains one network per candidate). */
  params: MlpParams & { l2: number };
  xTrain: Float64Array[];
  yTrain: Outcome[];
  xVal: Float64Array[];
  yVal: Outcome[];
  options: FitOptions;
  hint: () => string;
}

/** Trained layers plus where training stopped. */
export interface TrainResult {
  layers: DenseLayer[];
  bestEpoch: number;
  epochsRun: number;
}

/** Glorot-uniform weights from our own PRNG (not tfjs initialisers), so weights are identical across backends. */
function initialLayers(sizes: number[], seed: number): DenseLayer[] {
  const rng = mulberry32(deriveSeed(seed, 1));
  return sizes.slice(1).map((cols, l) => {
    const rows = sizes[l]!;
    const limit = Math.sqrt(6 / (rows + cols));
    return { rows, cols, weights: Array.from({ length: rows * cols }, () => (2 * rng() - 1) * limit), bias: new Array<number>(cols).fill(0) };
  });
}

function toTensors(tf: Tf, x: Float64Array[], y: Outcome[], width: number): [Tensor2D, Tensor2D] {
  const flat = new Float32Array(x.length * width);
  x.forEach((r, i) => {
    flat.set(r, i * width);
  });
  return tf.tidy(() => [tf.tensor2d(flat, [x.length, width]), tf.oneHot(tf.tensor1d(y, 'int32'), 3).toFloat() as Tensor2D]);
}

/** Train with Adam; every tensor created here is disposed before returning, also on errors and aborts. */
export async function trainMlp(input: TrainInput): Promise<TrainResult> {
  const { params, options } = input;
  await initBackend();
  const tf = await loadTf();
  const width = input.xTrain[0]?.length ?? 0;
  const sizes = [width, ...new Array<number>(params.layers).fill(params.hiddenUnits), 3];
  let best: DenseLayer[] = initialLayers(sizes, options.seed);
  const vars: { w: Variable; b: Variable }[] = best.map((layer) =>
    tf.tidy(() => ({ w: tf.variable(tf.tensor2d(layer.weights, [layer.rows, layer.cols])), b: tf.variable(tf.tensor1d(layer.bias)) })),
  );
  const [xTrain, yTrain] = toTensors(tf, input.xTrain, input.yTrain, width);
  const [xVal, yVal] = toTensors(tf, input.xVal, input.yVal, width);
  const optimizer = tf.train.adam(params.lr);
  const rng = mulberry32(deriveSeed(options.seed, 2));

  const logits = (x: Tensor, dropoutSeed: number | null): Tensor => {
    let h = x;
    vars.forEach((v, l) => {
      h = tf.add(tf.matMul(h, v.w), v.b);
      if (l < vars.length - 1) {
        h = tf.relu(h);
        if (dropoutSeed !== null && params.dropout > 0) h = tf.dropout(h, params.dropout, undefined, dropoutSeed + l);
      }
    });
    return h;
  };
  const crossEntropy = (x: Tensor, y: Tensor, dropoutSeed: number | null): Tensor => tf.losses.softmaxCrossEntropy(y, logits(x, dropoutSeed));
  const evaluate = (x: Tensor2D, y: Tensor2D): number => {
    const t = tf.tidy(() => crossEntropy(x, y, null));
    const v = t.dataSync()[0]!;
    t.dispose();
    return v;
  };
  const snapshot = (): DenseLayer[] => vars.map((v, l) => ({ ...sizesOf(best[l]!), weights: Array.from(v.w.dataSync()), bias: Array.from(v.b.dataSync()) }));

  try {
    const order = input.xTrain.map((_, i) => i);
    const hasVal = input.xVal.length > 0;
    let bestLoss = Infinity;
    let bestEpoch = 0;
    let epoch = 0;
    while (epoch < params.epochs) {
      options.signal?.throwIfAborted();
      epoch++;
      shuffleInPlace(order, rng);
      for (let start = 0; start < order.length; start += params.batchSize) {
        const batch = order.slice(start, start + params.batchSize);
        const dropoutSeed = Math.floor(rng() * 2 ** 30);
        tf.tidy(() => {
          const idx = tf.tensor1d(batch, 'int32');
          const xb = tf.gather(xTrain, idx);
          const yb = tf.gather(yTrain, idx);
          optimizer.minimize(
            () => {
              let loss = crossEntropy(xb, yb, dropoutSeed);
              if (params.l2 > 0) for (const v of vars) loss = tf.add(loss, tf.mul(params.l2, tf.sum(tf.square(v.w))));
              return loss as Scalar;
            },
            false,
            vars.flatMap((v) => [v.w, v.b]),
          );
        });
      }
      const loss = evaluate(xTrain, yTrain);
      const valLoss = hasVal ? evaluate(xVal, yVal) : undefined;
      if (!Number.isFinite(loss)) throw new TrainingDiverged('mlp', epoch, loss, input.hint());
      if (valLoss !== undefined && !Number.isFinite(valLoss)) throw new TrainingDiverged('mlp', epoch, valLoss, `validation loss. ${input.hint()}`);
      options.onEpoch?.(valLoss === undefined ? { epoch, loss } : { epoch, loss, valLoss });
      // Early stopping watches the validation tail when there is one; otherwise the last epoch wins.
      const watched = valLoss ?? loss;
      if (!hasVal || watched < bestLoss) {
        bestLoss = watched;
        bestEpoch = epoch;
        best = snapshot();
      } else if (params.patience > 0 && epoch - bestEpoch >= params.patience) {
        break;
      }
      // Yield to the event loop between epochs so an AbortSignal (Ctrl-C) can land.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { layers: best, bestEpoch, epochsRun: epoch };
  } finally {
    optimizer.dispose();
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    tf.dispose([xTrain, yTrain, xVal, yVal]);
  }
}

function sizesOf(layer: DenseLayer): { rows: number; cols: number } {
  return { rows: layer.rows, cols: layer.cols };
}
