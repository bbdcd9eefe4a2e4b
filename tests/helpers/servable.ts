// The one recipe every serving test's store starts from: the bundled E0 seasons (plus any extra inputs) collected,
// Dixon–Coles trained up to 2019-06-30 and registered as oracx-e0@champion in the local registry.
import path from 'node:path';
import { expect } from 'vitest';
import { FIXTURES, type CliResult } from './cli.js';

/** The registered model every serving test serves. */
export const MODEL = 'oracx-e0';
/** The training window of the champion: the 2019-20 season is left to forecast and evaluate. */
export const TRAIN_WINDOW = ['--competitions', 'E0', '--train-until', '2019-06-30'] as const;

/** Asserts a CLI run succeeded (naming what it was) and returns it. */
export function expectOk(r: CliResult, what: string): CliResult {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  return r;
}

/** Collects, trains and registers the champion with `cli` (a CLI bound to a store and folder); returns the run and version. */
export async function registerChampion(
  cli: (args: string[]) => Promise<CliResult>,
  extraInputs: readonly string[] = [],
): Promise<{ runId: number; version: number }> {
  expectOk(await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), ...extraInputs, '-q']), 'collect');
  const { runId } = expectOk(await cli(['train', '--model', 'dixon-coles', ...TRAIN_WINDOW, '--json']), 'train dixon-coles').json<{ runId: number }>();
  const registered = expectOk(
    await cli(['register', '--run', String(runId), '--name', MODEL, '--alias', 'champion', '--registry', 'local', '--json']),
    'register',
  );
  return { runId, version: registered.json<{ version: { version: number } }>().version.version };
}

/**
 * The files of a registered package (MLmodel and its pyfunc wrapper, ONNX graph, oracx's model, examples, pinned
 * environment), relative to the package folder: what a registry, local or MLflow, must hand back whole.
 */
export const PACKAGE_FILES_LISTED = [
  'MLmodel',
  'code/oracx_pyfunc.py',
  'conda.yaml',
  'input_example.json',
  'metadata.json',
  'model.onnx',
  'oracx-model.json',
  'pyfunc-inputs.json',
  'python_env.yaml',
  'requirements.txt',
  'serving_input_example.json',
].sort();
