import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/ml/models/index.js';
import { exportOnnx, onnxFeeds, OnnxScorer, readOnnxMetadata } from '../../src/onnx/index.js';
import { CASES, evaluation } from './onnx-fixtures.js';

const PARITY = 1e-5;

/** Max |TS − ONNX| over all rows and classes, and max |row sum − 1| of the ONNX output. */
function compare(model: Model, got: Float32Array): { maxAbsDiff: number; maxSumError: number } {
  const expected = model.predict(evaluation);
  expect(got.length).toBe(expected.length * 3);
  let maxAbsDiff = 0;
  let maxSumError = 0;
  expected.forEach((p, i) => {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      const v = got[i * 3 + k]!;
      expect(v >= 0 && v <= 1, `row ${i} class ${k}: ${v}`).toBe(true);
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[k] - v));
      sum += v;
    }
    maxSumError = Math.max(maxSumError, Math.abs(sum - 1));
  });
  return { maxAbsDiff, maxSumError };
}

describe.each(CASES)('$name', ({ name, fit }) => {
  let model: Model;
  let bytes: Uint8Array;
  beforeAll(async () => {
    model = await fit();
    bytes = exportOnnx(model, { featureSet: 'synthetic@1' });
  });

  it(`matches model.predict on ${evaluation.matches.length} rows within ${PARITY} (optimised session), rows summing to 1`, async () => {
    const scorer = await OnnxScorer.create(bytes);
    try {
      const { maxAbsDiff, maxSumError } = compare(model, await scorer.scoreDataset(evaluation, { batchSize: 4096 }));
      console.log(`[onnx parity] ${name}: max abs diff ${maxAbsDiff.toExponential(2)}, max |sum − 1| ${maxSumError.toExponential(2)}, ${bytes.length} bytes`);
      expect(maxAbsDiff).toBeLessThan(PARITY);
      expect(maxSumError).toBeLessThan(1e-6);
    } finally {
      await scorer.release();
    }
  });

  it('matches with graph optimisation disabled, in one run on the whole tensor', async () => {
    const scorer = await OnnxScorer.create(bytes, { optimize: false, intraOpNumThreads: 1 });
    try {
      const feeds = onnxFeeds(scorer.metadata, evaluation);
      expect(compare(model, await scorer.score(feeds)).maxAbsDiff).toBeLessThan(PARITY);
    } finally {
      await scorer.release();
    }
  });

  it('is deterministic: the same model gives the same bytes', () => {
    expect(Buffer.from(exportOnnx(model, { featureSet: 'synthetic@1' })).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(exportOnnx(model.serialize(), { featureSet: 'synthetic@1' })).equals(Buffer.from(bytes))).toBe(true);
  });

  it('records kind, opset, feature names and feature set in the metadata', () => {
    const meta = readOnnxMetadata(bytes);
    expect(meta.kind).toBe(model.kind);
    expect(meta.irVersion).toBe(8);
    expect(meta.opset).toBe(17);
    expect(meta.featureSet).toBe('synthetic@1');
    expect(meta.featureNames).toEqual(meta.inputs.some((i) => i.name === 'features') ? model.serialize().featureNames : []);
  });
});
