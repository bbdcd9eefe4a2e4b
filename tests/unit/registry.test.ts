import { describe, expect, it } from 'vitest';
import { aliasStack, currentActor, type AuditEntry } from '../../src/registry/audit.js';
import { parseVersionRef } from '../../src/registry/names.js';
import { mlmodelDocument } from '../../src/registry/package.js';
import type { Dataset } from '../../src/ml/models/types.js';
import type { OnnxMetadata } from '../../src/onnx/metadata.js';
import { OUTPUT_COLUMNS, pyfuncExample, pyfuncInputs, pyfuncSignature, PYTHON_PINS, pythonRequirements } from '../../src/registry/pyfunc.js';
import { PYFUNC_MODULE } from '../../src/registry/pyfunc-source.js';
import { readFileSync } from 'node:fs';
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
  it('describes an onnx flavor and a python_function flavor with the oracx loader module and a column signature', () => {
    const signature = {
      inputs: [{ type: 'double' as const, name: 'elo_diff', required: true as const }],
      outputs: OUTPUT_COLUMNS.map((name) => ({ type: 'double' as const, name, required: true as const })),
      params: null,
    };
    const doc = parse(mlmodelDocument({ signature, runId: 'abc', inputExample: true, extra: { model_id: 'm-1' } })) as {
      flavors: { onnx: { data: string; onnx_version: string }; python_function: { loader_module: string; code: string; data: string } };
      signature: { inputs: string; outputs: string; params: null };
      saved_input_example_info: Record<string, string>;
      run_id: string;
      model_id: string;
    };
    expect(doc.flavors.onnx).toMatchObject({ data: 'model.onnx', onnx_version: PYTHON_PINS.onnx });
    expect(doc.flavors.python_function).toMatchObject({ loader_module: PYFUNC_MODULE, code: 'code', data: 'model.onnx' });
    expect(JSON.parse(doc.signature.inputs)).toEqual([{ type: 'double', name: 'elo_diff', required: true }]);
    expect(JSON.parse(doc.signature.outputs).map((c: { name: string }) => c.name)).toEqual(['home', 'draw', 'away']);
    expect(doc.saved_input_example_info).toEqual({
      artifact_path: 'input_example.json',
      pandas_orient: 'split',
      serving_input_path: 'serving_input_example.json',
      type: 'dataframe',
    });
    expect(doc.run_id).toBe('abc');
    expect(doc.model_id).toBe('m-1');
    expect((parse(mlmodelDocument({ signature })) as { saved_input_example_info: unknown }).saved_input_example_info).toBeNull();
  });
});

describe('package Python environment', () => {
  it('pins exactly the versions tests/python/requirements.txt installs (mlflow, onnx, onnxruntime, numpy, pandas)', () => {
    const lines = readFileSync(new URL('../python/requirements.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const tested = Object.fromEntries(lines.map((l) => l.split('==') as [string, string]));
    for (const [name, version] of Object.entries(PYTHON_PINS)) expect(tested[name], name).toBe(version);
    expect(pythonRequirements()).toEqual(
      Object.keys(PYTHON_PINS)
        .sort()
        .map((n) => `${n}==${tested[n]}`),
    );
  });
});

describe('pyfunc columns', () => {
  const meta = (over: Partial<OnnxMetadata>): OnnxMetadata => ({
    kind: 'logreg',
    format: 1,
    featureNames: [],
    featureSet: 'core@2',
    inputs: [],
    conventions: '',
    teams: null,
    competitions: null,
    quantized: false,
    members: null,
    params: {},
    irVersion: 8,
    opset: 17,
    docString: '',
    ...over,
  });
  const rating = { name: 'home', type: 'int64' as const, shape: ['N' as const], description: '' };
  const features = { name: 'features', type: 'float32' as const, shape: ['N' as const, 2], description: '' };
  const dc = meta({
    kind: 'dixon-coles',
    inputs: [rating, { ...rating, name: 'away' }, { ...rating, name: 'competition' }],
    teams: [7, 3],
    competitions: ['E0'],
  });
  const ensemble = meta({ kind: 'ensemble', inputs: [features, ...dc.inputs], featureNames: ['elo_diff', 'rest_diff'], teams: [7, 3], competitions: ['E0'] });
  const names = new Map([
    [3, 'Arsenal'],
    [7, 'Chelsea'],
    [9, 'Everton'],
  ]);

  it('feature models take one double per feature, in order; rating models names; ensembles both', () => {
    const logreg = pyfuncSignature(meta({ inputs: [features], featureNames: ['elo_diff', 'rest_diff'] }));
    expect(logreg.inputs.map((c) => `${c.name}:${c.type}`)).toEqual(['elo_diff:double', 'rest_diff:double']);
    expect(logreg.outputs.map((c) => `${c.name}:${c.type}`)).toEqual(['home:double', 'draw:double', 'away:double']);
    expect(logreg.params).toBeNull();
    expect(pyfuncSignature(dc).inputs.map((c) => `${c.name}:${c.type}`)).toEqual(['competition:string', 'home_team:string', 'away_team:string']);
    expect(pyfuncSignature(dc).params).toEqual([{ name: 'unknown_teams', default: 'error', shape: null, type: 'string' }]);
    expect(pyfuncSignature(ensemble).inputs.map((c) => c.name)).toEqual(['competition', 'home_team', 'away_team', 'elo_diff', 'rest_diff']);
  });

  it('carries the team vocabulary with store names, in vocabulary order, and refuses ids without a name', () => {
    expect(pyfuncInputs(dc, names)).toEqual({
      format: 1,
      kind: 'dixon-coles',
      featureNames: [],
      teams: [
        { id: 7, name: 'Chelsea' },
        { id: 3, name: 'Arsenal' },
      ],
      competitions: ['E0'],
    });
    expect(() => pyfuncInputs(dc, new Map([[7, 'Chelsea']]))).toThrow(/team id\(s\) 3 of the dixon-coles model's vocabulary have no name/);
  });

  it("writes the input example from dataset rows, picking the model's features by name", () => {
    const data: Dataset = {
      featureNames: ['rest_diff', 'other', 'elo_diff'],
      X: [Float64Array.from([2, 99, 150.5]), Float64Array.from([-1, 98, -20])],
      matches: [
        { id: 1, competition: 'E0', homeTeam: 3, awayTeam: 7 },
        { id: 2, competition: 'E0', homeTeam: 7, awayTeam: 3 },
      ] as Dataset['matches'],
    };
    expect(pyfuncExample(ensemble, pyfuncInputs(ensemble, names), data, 0, 2)).toEqual({
      columns: ['competition', 'home_team', 'away_team', 'elo_diff', 'rest_diff'],
      data: [
        ['E0', 'Arsenal', 'Chelsea', 150.5, 2],
        ['E0', 'Chelsea', 'Arsenal', -20, -1],
      ],
    });
    // A match with a team outside the vocabulary (Everton, id 9) is left out: the wrapper would refuse it.
    const withNewcomer: Dataset = { ...data, matches: [data.matches[0]!, { ...data.matches[1]!, awayTeam: 9 }] };
    expect(pyfuncExample(ensemble, pyfuncInputs(ensemble, names), withNewcomer, 0, 2).data).toHaveLength(1);
  });
});
