import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { rps } from '../../src/ml/metrics.js';
import { getModel, type Model } from '../../src/ml/models/index.js';
import { outcomeOf, type Outcome } from '../../src/ml/types.js';
import { exportOnnx, keepInt8, quantizable, quantizeDecision, QUANTIZATION_RPS_TOLERANCE, readOnnxMetadata } from '../../src/onnx/index.js';
import { evaluation, train } from './onnx-fixtures.js';

const models = new Map<string, Model>();
beforeAll(async () => {
  models.set('logreg', await getModel('logreg').fit(train, {}, { seed: 3 }));
  models.set('mlp', await getModel('mlp').fit(train, { epochs: 15, hiddenUnits: 64 }, { seed: 3 }));
  models.set('ensemble', await getModel('ensemble').fit(train, { members: 'dixon-coles,logreg', calibrate: 'none' }, { seed: 3 }));
  models.set('dixon-coles', await getModel('dixon-coles').fit(train, {}, { seed: 3 }));
});

const tsRps = (model: Model): number => {
  const preds = model.predict(evaluation);
  return preds.reduce((s, p, i) => s + rps(p, outcomeOf(evaluation.matches[i]!) as Outcome), 0) / preds.length;
};

describe('the keep rule', () => {
  it('keeps int8 when RPS moves by at most 0.0005 either way', () => {
    expect(QUANTIZATION_RPS_TOLERANCE).toBe(0.0005);
    expect(keepInt8(0.2, 0.2)).toBe(true);
    expect(keepInt8(0.2, 0.2004)).toBe(true);
    expect(keepInt8(0.2, 0.1996)).toBe(true);
    expect(keepInt8(0.2, 0.2006)).toBe(false);
    expect(keepInt8(0.2, 0.1994)).toBe(false);
    expect(keepInt8(0.2, 0.2001, 0)).toBe(false);
  });

  it('applies to models with logreg or mlp weight matrices only', () => {
    expect(quantizable(models.get('logreg')!)).toBe(true);
    expect(quantizable(models.get('mlp')!.serialize())).toBe(true);
    expect(quantizable(models.get('ensemble')!)).toBe(true);
    expect(quantizable(models.get('dixon-coles')!)).toBe(false);
  });
});

describe.each(['logreg', 'mlp', 'ensemble'])('%s with int8 weights', (name) => {
  it('is decided on RPS against the float export, which scores as the TS model does', async () => {
    const model = models.get(name)!;
    const d = await quantizeDecision(model, evaluation, { featureSet: 'synthetic@1' });
    console.log(
      `[onnx int8] ${name}: RPS float ${d.rpsFloat.toFixed(6)}, int8 ${d.rpsInt8.toFixed(6)}, Δ ${d.delta.toExponential(2)} → ${d.kept ? 'kept' : 'not kept'}: ${d.reason}`,
    );
    expect(Math.abs(d.rpsFloat - tsRps(model))).toBeLessThan(1e-6);
    expect(d.delta).toBeCloseTo(d.rpsInt8 - d.rpsFloat, 15);
    expect(d.kept).toBe(Math.abs(d.delta) <= 0.0005 && d.sizeInt8 < d.sizeFloat);
    // Eight features make the logreg matrix too small to gain from int8; the 64-unit mlp gains.
    expect(d.kept).toBe(name === 'mlp');
    const shipped = readOnnxMetadata(d.bytes);
    expect(shipped.quantized).toBe(d.kept);
    expect(shipped.featureSet).toBe('synthetic@1');
    expect(Buffer.from(d.bytes).equals(Buffer.from(exportOnnx(model, { featureSet: 'synthetic@1', quantize: d.kept })))).toBe(true);
  });

  it('stores the weight matrices as int8 behind DequantizeLinear', () => {
    const bytes = exportOnnx(models.get(name)!, { quantize: true });
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    const int8 = graph.initializer.filter((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8 && t.dims.length === 2);
    expect(int8.length).toBe(name === 'mlp' ? 2 : 1);
    expect(graph.node.filter((n) => n.opType === 'DequantizeLinear').length).toBe(int8.length);
    expect(graph.initializer.some((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.FLOAT && t.dims.length === 2)).toBe(false);
  });
});

describe('quantizeDecision', () => {
  it('keeps the float export when the tolerance is 0 and the int8 RPS differs', async () => {
    const model = models.get('mlp')!;
    const d = await quantizeDecision(model, evaluation, { tolerance: 0 });
    expect(d.delta).not.toBe(0);
    expect(d.kept).toBe(false);
    expect(d.reason).toMatch(/RPS changes by .*, more than ±0/);
    expect(Buffer.from(d.bytes).equals(Buffer.from(exportOnnx(model)))).toBe(true);
    expect(d.sizeInt8).toBeLessThan(d.sizeFloat);
  });

  it('needs finished matches and a quantizable model', async () => {
    const model = models.get('logreg')!;
    const unfinished = { ...evaluation, matches: evaluation.matches.map((m, i) => (i === 5 ? { ...m, homeGoals: null, awayGoals: null } : m)) };
    await expect(quantizeDecision(model, unfinished)).rejects.toThrow(/match \d+ \(.*\) has no result/);
    await expect(quantizeDecision(model, { ...evaluation, X: [], matches: [] })).rejects.toThrow(/the dataset is empty/);
    await expect(quantizeDecision(models.get('dixon-coles')!, evaluation)).rejects.toThrow(/cannot quantise a dixon-coles model/);
  });
});
