// Every exported model through the reference tooling: onnx.checker (full_check) and Python onnxruntime on the same
// feeds as onnxruntime-node, in one Python process for all models (its start-up is the slow part).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { exportOnnx, onnxFeeds, OnnxScorer } from '../../src/onnx/index.js';
import { tempDir } from '../helpers/stores.js';
import { CASES, evaluation } from '../unit/onnx-fixtures.js';

const python = inject('python');
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
if (!python) {
  if (ci) throw new Error('the Python test venv (onnx, onnxruntime) is required under CI=true but is unavailable');
  console.warn('[oracx tests] skipping the ONNX cross-check with Python onnx/onnxruntime: the test venv is unavailable (npm run setup:python)');
}

// biome-ignore lint/complexity/noUselessStringRaw: Python source; String.raw keeps any backslash it gains literal
const CHECK = String.raw`
import json, sys
import numpy as np
import onnx
import onnxruntime as ort

manifest = json.load(open(sys.argv[1]))
results = {}
for entry in manifest:
    out = {"checked": False, "maxAbsDiff": None, "error": None}
    try:
        model = onnx.load(entry["model"])
        onnx.checker.check_model(model, full_check=True)
        out["checked"] = True
        sess = ort.InferenceSession(entry["model"], providers=["CPUExecutionProvider"])
        feeds = {name: np.fromfile(f["file"], dtype=f["dtype"]).reshape(f["shape"]) for name, f in entry["feeds"].items()}
        (probs,) = sess.run(["probs"], feeds)
        node = np.fromfile(entry["node"], dtype="float32").reshape(probs.shape)
        out["maxAbsDiff"] = float(np.max(np.abs(probs.astype(np.float64) - node.astype(np.float64))))
        out["dtype"] = str(probs.dtype)
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {e}"
    results[entry["name"]] = out
print(json.dumps({"onnx": onnx.__version__, "onnxruntime": ort.__version__, "results": results}))
`;

interface PyResult {
  checked: boolean;
  maxAbsDiff: number | null;
  error: string | null;
  dtype?: string;
}

describe.skipIf(!python)('exported models in Python onnx and onnxruntime', () => {
  const names: string[] = [];
  let report: { onnx: string; onnxruntime: string; results: Record<string, PyResult> };

  beforeAll(async () => {
    const dir = tempDir('oracx-onnx-py-');
    const manifest: unknown[] = [];
    const variants = CASES.flatMap((c) => [
      { ...c, quantize: false },
      ...(/^(logreg|mlp)/.test(c.name) ? [{ ...c, name: `${c.name} int8`, quantize: true }] : []),
    ]);
    for (const [i, c] of variants.entries()) {
      const bytes = exportOnnx(await c.fit(), { quantize: c.quantize, featureSet: 'synthetic@1' });
      const model = path.join(dir, `model${i}.onnx`);
      writeFileSync(model, bytes);
      const scorer = await OnnxScorer.create(bytes);
      try {
        const feeds = onnxFeeds(scorer.metadata, evaluation);
        const files: Record<string, { file: string; dtype: string; shape: number[] }> = {};
        for (const [name, tensor] of Object.entries(feeds)) {
          const file = path.join(dir, `model${i}.${name}.bin`);
          const data = tensor.data as Float32Array | BigInt64Array;
          writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          files[name] = { file, dtype: tensor.type === 'int64' ? '<i8' : '<f4', shape: [...tensor.dims] };
        }
        const node = path.join(dir, `model${i}.node.bin`);
        const probs = await scorer.score(feeds);
        writeFileSync(node, new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength));
        manifest.push({ name: c.name, model, feeds: files, node });
        names.push(c.name);
      } finally {
        await scorer.release();
      }
    }
    const manifestFile = path.join(dir, 'manifest.json');
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const script = path.join(dir, 'check.py');
    writeFileSync(script, CHECK);
    const { stdout } = await promisify(execFile)(python, [script, manifestFile], { maxBuffer: 16 << 20 });
    report = JSON.parse(stdout) as typeof report;
    console.log(`[onnx python] onnx ${report.onnx}, onnxruntime ${report.onnxruntime}`);
  }, 120_000);

  it('passes onnx.checker.check_model(full_check=True) and agrees with onnxruntime-node within 1e-5 for every model', () => {
    expect(Object.keys(report.results)).toEqual(names);
    for (const name of names) {
      const r = report.results[name]!;
      console.log(`[onnx python] ${name}: checker ${r.checked ? 'ok' : 'FAILED'}, max |python − node| ${r.maxAbsDiff?.toExponential(2) ?? r.error}`);
      expect(r.error, name).toBeNull();
      expect(r.checked, name).toBe(true);
      expect(r.dtype, name).toBe('float32');
      expect(r.maxAbsDiff!, name).toBeLessThan(1e-5);
    }
  });
});
