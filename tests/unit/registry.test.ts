import { describe, expect, it } from 'vitest';
import { aliasStack, currentActor, type AuditEntry } from '../../src/registry/audit.js';
import { parseVersionRef } from '../../src/registry/names.js';
import { mlmodelDocument } from '../../src/registry/package.js';
import { parse } from 'yaml';

let id = 0;
const entry = (action: AuditEntry['action'], toVersion: number | null, fromVersion: number | null = null): AuditEntry => ({
  id: ++id,
  modelName: 'm',
  action,
  alias: 'champion',
  fromVersion,
  toVersion,
  backend: 'local',
  actor: 'x',
  details: {},
  createdAt: '',
});

describe('aliasStack', () => {
  it('replays promotions and rollbacks into the versions a rollback walks back through', () => {
    expect(aliasStack([entry('promote', 1), entry('promote', 2), entry('promote', 3)])).toEqual([1, 2, 3]);
    expect(aliasStack([entry('promote', 1), entry('promote', 2), entry('promote', 3), entry('rollback', 2), entry('rollback', 1)])).toEqual([1]);
    // A rollback to an explicit version replaces the top; a promotion after a rollback pushes again.
    expect(aliasStack([entry('promote', 1), entry('promote', 2), entry('promote', 3), entry('rollback', 1, 3)])).toEqual([1, 2, 1]);
    expect(aliasStack([entry('promote', 1), entry('promote', 2), entry('rollback', 1), entry('promote', 4)])).toEqual([1, 4]);
    expect(aliasStack([entry('register', 1), entry('set-alias', 1), entry('delete-alias', null), entry('promote', 5)])).toEqual([5]);
  });
});

describe('parseVersionRef', () => {
  it('reads NAME, NAME@ALIAS, NAME/VERSION and models:/ URIs', () => {
    expect(parseVersionRef('oracx-e0')).toEqual({ name: 'oracx-e0', latest: true });
    expect(parseVersionRef('oracx-e0@champion')).toEqual({ name: 'oracx-e0', alias: 'champion' });
    expect(parseVersionRef('models:/oracx-e0/3')).toEqual({ name: 'oracx-e0', version: 3 });
    expect(() => parseVersionRef('a/b/c')).toThrow(/expected NAME, NAME@ALIAS or NAME\/VERSION/);
    expect(() => parseVersionRef('m@latest')).toThrow(/reserved/);
    expect(() => parseVersionRef('m@1x')).toThrow(/invalid alias/);
  });
});

describe('currentActor', () => {
  it('prefers ORACX_ACTOR, else user@host', () => {
    expect(currentActor({ ORACX_ACTOR: 'ci-bot' })).toBe('ci-bot');
    expect(currentActor({ USER: 'ana' })).toMatch(/^ana@/);
  });
});

describe('mlmodelDocument', () => {
  it('describes an onnx + python_function model with a tensor signature MLflow can parse', () => {
    const doc = parse(mlmodelDocument({ inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 4] }], outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 3] }] })) as {
      flavors: { onnx: { data: string }; python_function: { loader_module: string } };
      signature: { inputs: string };
    };
    expect(doc.flavors.onnx.data).toBe('model.onnx');
    expect(doc.flavors.python_function.loader_module).toBe('mlflow.onnx');
    expect(JSON.parse(doc.signature.inputs)).toEqual([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 4] }, name: 'features' }]);
  });
});
