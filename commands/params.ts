/** Reading model hyperparameters from `--param k=v` flags and a JSON params file. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError, UsageError } from '../src/errors.js';
import type { ParamValue } from '../src/ml/models/index.js';

/** Collects repeated `--param key=value` flags. */
export function collectParam(value: string, previous: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error(`expected key=value, got "${value}"`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  const parsed: ParamValue = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  return { ...previous, [key]: parsed };
}

/** Params from a JSON or YAML file (an object, or `{ "params": {…} }` as `tune` writes it), overridden by flags. */
export async function loadParams(file: string | undefined, flags: Record<string, ParamValue> | undefined, cwd: string): Promise<Record<string, ParamValue>> {
  const fromFile: Record<string, ParamValue> = {};
  if (file) {
    const full = path.resolve(cwd, file);
    let data: unknown;
    try {
      const text = readFileSync(full, 'utf8');
      data = /\.ya?ml$/i.test(full) ? (await import('yaml')).parse(text) : JSON.parse(text);
    } catch (error) {
      throw new UserError(`cannot read params file ${file}: ${(error as Error).message}`);
    }
    const obj = (data && typeof data === 'object' && 'params' in data ? (data as { params: unknown }).params : data) as unknown;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new UsageError(`params file ${file} must hold an object of name: value`);
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
        throw new UserError(`params file ${file}: "${k}" must be a number, string or boolean`);
      }
      fromFile[k] = v;
    }
  }
  return { ...fromFile, ...flags };
}
