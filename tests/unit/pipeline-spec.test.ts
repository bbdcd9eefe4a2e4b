// oracx.yaml validation: misspelt kinds and keys name the line and the closest valid name; cycles name their path.
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../pipelines/pipeline-spec.js';
import { UserError } from '../../src/errors.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const error = (text: string): string => {
  try {
    parsePipeline(text, 'oracx.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const u = e as UserError;
    return u.hint ? `${u.message} — ${u.hint}` : u.message;
  }
  throw new Error('expected a UserError');
};

const BASE = `name: p
stages:
  collect:
    inputs: [data]
  train:
    competitions: [E0]
  evaluate:
    seasons: [2019-2020]
`;

describe('oracx.yaml', () => {
  it('orders stages by explicit and implied dependencies', () => {
    const spec = parsePipeline(
      `stages:\n  check:\n    kind: evaluate\n    seasons: [2019-2020]\n  fit:\n    kind: train\n    deps: [get]\n  get:\n    kind: collect\n    inputs: [x]\n`,
      'f.yaml',
    );
    expect(spec.stages.map((s) => s.name)).toEqual(['get', 'fit', 'check']);
    expect(spec.stages[2]!.deps).toEqual(['fit']);
    expect(spec.stages[1]).toMatchObject({ kind: 'train', params: { model: 'logreg', features: 'core@2', seed: 0, params: {} } });
    expect(spec.name).toBe('default');
  });

  it('a misspelt stage kind names the line and the closest kind', () => {
    expect(error(BASE.replace('  evaluate:', '  evalute:'))).toMatch(/^oracx\.yaml:7: stage "evalute" has unknown kind "evalute" — did you mean "evaluate"\?/);
    expect(error(`stages:\n  check:\n    kind: promot\n`)).toMatch(/^oracx\.yaml:3: stage "check" has unknown kind "promot" — did you mean "promote"\?/);
  });

  it('a misspelt or unknown key names the line and suggests the closest key', () => {
    expect(error(BASE.replace('    competitions: [E0]', '    competitons: [E0]'))).toMatch(
      /^oracx\.yaml:6: unknown key "competitons" in stage "train" \(train\) — did you mean "competitions"\? — valid keys: .*train-until/,
    );
    expect(error(BASE.replace('stages:', 'stage:'))).toMatch(/^oracx\.yaml:2: unknown key "stage" in the pipeline file — did you mean "stages"\?/);
    expect(error(`${BASE}    walk-forward: season\n`)).toMatch(/^oracx\.yaml:9: unknown key "walk-forward" in stage "evaluate"/);
  });

  it('refuses bad values at their line', () => {
    expect(error(BASE.replace('[2019-2020]', '[2019-20]'))).toMatch(/^oracx\.yaml:8: stage "evaluate" \(evaluate\): "seasons\.0": expected a season yyyy-yyyy/);
    expect(error(`${BASE}    gate: ["rps<<0.2"]\n`)).toMatch(/^oracx\.yaml:9: /);
    expect(error('stages:\n  collect: {}\n')).toMatch(/^oracx\.yaml:2: stage "collect" \(collect\): "inputs"/);
    expect(error('stages: [\n')).toMatch(/^oracx\.yaml:\d+:\d+: invalid YAML/);
    expect(error('stages: {}\n')).toMatch(/no stages declared/);
  });

  it('a cycle names its path; a dangling dependency the closest stage', () => {
    expect(error(BASE.replace('    inputs: [data]', '    inputs: [data]\n    deps: [evaluate]'))).toMatch(
      /^oracx\.yaml:3: dependency cycle collect → evaluate → train → collect \(→: depends on\)/,
    );
    expect(error(BASE.replace('    competitions: [E0]', '    competitions: [E0]\n    deps: [colect]'))).toMatch(
      /^oracx\.yaml:7: stage "train" depends on "colect", which is not declared — did you mean "collect"\?/,
    );
  });

  it('oracx run refuses a bad file with exit 1 before touching the store', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'oracx.yaml'), BASE.replace('  evaluate:', '  evalute:'));
    const r = await runCli(['run'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('oracx.yaml:7: stage "evalute" has unknown kind "evalute" — did you mean "evaluate"?');
    // An unknown model param is refused as `train --param` refuses it, before anything is collected.
    const real = BASE.replace('[data]', JSON.stringify([path.join(FIXTURES, 'full')]));
    writeFileSync(path.join(dir, 'oracx.yaml'), real.replace('    competitions: [E0]', '    competitions: [E0]\n    params: { l2x: 1 }'));
    const param = await runCli(['run', '--json'], { cwd: dir });
    expect(param.code).toBe(1);
    expect(param.stderr).toMatch(/stage "train" \(train\): .*l2x/);
    expect(param.json()).toMatchObject({ ok: false, error: { message: expect.stringMatching(/unknown parameter 'l2x'/) } });
    expect(existsSync(path.join(dir, '.oracx'))).toBe(false);
    const { openStore } = await import('../../src/store/connect.js');
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      expect(await store.db.selectFrom('matches').select('id').execute()).toEqual([]);
      expect(await store.db.selectFrom('pipeline_runs').select('id').execute()).toEqual([]);
    } finally {
      await store.close();
    }
    const missing = await runCli(['run', '--file', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read nope.yaml: no such file');
  });
});
