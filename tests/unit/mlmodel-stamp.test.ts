// The MLmodel stamp of a registration (MLflow 3 logged model or run artifacts) and how an old server is recognised.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mapHttpError } from '../../src/mlflow/http-errors.js';
import { isEndpointMissing } from '../../src/mlflow/logged-models.js';
import { modelSizeBytes, stampMlmodel } from '../../src/registry/mlmodel-stamp.js';
import { loggedModelName } from '../../src/registry/mlflow.js';

function packageDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oracx-stamp-'));
  writeFileSync(
    path.join(dir, 'MLmodel'),
    "artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\nmodel_uuid: abc\nutc_time_created: '2026-01-01 00:00:00.000'\n",
  );
  writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(100));
  writeFileSync(path.join(dir, 'metadata.json'), '{"a":1}');
  mkdirSync(path.join(dir, 'code'));
  writeFileSync(path.join(dir, 'code', 'loader.py'), 'x = 1\n');
  for (const f of ['conda.yaml', 'python_env.yaml', 'requirements.txt']) writeFileSync(path.join(dir, f), 'not counted\n');
  return dir;
}

describe('stampMlmodel', () => {
  it('writes model_id = model_uuid, the artifact URI as artifact_path, mlflow_version and model_size_bytes; keeps the rest', async () => {
    const dir = packageDir();
    const id = `m-${'0'.repeat(32)}`;
    await stampMlmodel(dir, { artifactPath: `mlflow-artifacts:/1/models/${id}/artifacts`, modelId: id, runId: 'r1', mlflowVersion: '3.17.2' });
    const text = readFileSync(path.join(dir, 'MLmodel'), 'utf8');
    expect(parse(text)).toEqual({
      artifact_path: `mlflow-artifacts:/1/models/${id}/artifacts`,
      flavors: { onnx: { data: 'model.onnx' } },
      model_uuid: id,
      model_id: id,
      run_id: 'r1',
      mlflow_version: '3.17.2',
      // model.onnx + metadata.json + code/loader.py: MLmodel and the environment files are not counted, as in MLflow.
      model_size_bytes: 100 + 7 + 6,
      utc_time_created: '2026-01-01 00:00:00.000',
    });
    // Untouched entries keep their formatting (a quoted time stays a string for Python's YAML 1.1 reader).
    expect(text).toContain("utc_time_created: '2026-01-01 00:00:00.000'");
    expect(await modelSizeBytes(dir)).toBe(113);
  });

  it('for run artifacts (MLflow 2.x): the folder below the run, no model_id, model_uuid kept', async () => {
    const dir = packageDir();
    await stampMlmodel(dir, { artifactPath: 'oracx-model-1234abcd', mlflowVersion: '2.22.0' });
    const doc = parse(readFileSync(path.join(dir, 'MLmodel'), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ artifact_path: 'oracx-model-1234abcd', model_uuid: 'abc', mlflow_version: '2.22.0', model_size_bytes: 113 });
    expect(doc).not.toHaveProperty('model_id');
  });
});

describe('isEndpointMissing', () => {
  const err = (status: number, body: string) => mapHttpError('POST', '/api/2.0/mlflow/logged-models', status, new TextEncoder().encode(body)).error;
  it('is true for an unknown route (404 page, or ENDPOINT_NOT_FOUND), false for a missing resource or other errors', () => {
    expect(isEndpointMissing(err(404, '<!doctype html><title>404 Not Found</title>'))).toBe(true);
    expect(isEndpointMissing(err(404, '{"error_code":"ENDPOINT_NOT_FOUND","message":"no such endpoint"}'))).toBe(true);
    expect(isEndpointMissing(err(404, '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"No Experiment with id=9"}'))).toBe(false);
    expect(isEndpointMissing(err(400, '{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}'))).toBe(false);
    expect(isEndpointMissing(new Error('404'))).toBe(false);
  });
});

describe('loggedModelName', () => {
  it('replaces what MLflow refuses in a logged model name', () => {
    expect(loggedModelName('oracx-e0')).toBe('oracx-e0');
    expect(loggedModelName('oracx.e0_v2')).toBe('oracx-e0_v2');
  });
});
