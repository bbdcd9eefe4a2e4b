/** Validation of hyperparameters against a model's ParamSpec list. */
import { InvalidParams, type ParamSpec, type ParamValue, type ParamValues } from './types.js';

/** One spec as `name (type min..max, default x)`, for error messages and help. */
export function describeParam(spec: ParamSpec): string {
  switch (spec.type) {
    case 'int':
    case 'float':
      return `${spec.name} (${spec.type} ${spec.min}..${spec.max}${spec.log ? ' log' : ''}${spec.auto ? ' or auto' : ''}, default ${spec.default}${spec.search ? `, tuned over ${spec.search.min}..${spec.search.max}${spec.search.log ? ' log' : ''}` : ''})`;
    case 'categorical':
      return `${spec.name} (one of ${spec.choices.join('|')}, default ${spec.default})`;
    case 'string':
      return `${spec.name} (string, default '${spec.default}')`;
  }
}

function invalid(model: string, specs: readonly ParamSpec[], problem: string): InvalidParams {
  const valid = specs.map(describeParam).join('; ');
  return new InvalidParams(`${model}: ${problem}. Valid parameters: ${valid}`);
}

// CLI flags and env vars arrive as strings; accept them for numeric params so callers need not pre-parse.
function toNumber(value: ParamValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

function check(model: string, specs: readonly ParamSpec[], spec: ParamSpec, value: ParamValue): ParamValue {
  const bad = (why: string): InvalidParams => invalid(model, specs, `${spec.name}=${String(value)} ${why}`);
  switch (spec.type) {
    case 'int':
    case 'float': {
      if (spec.auto && value === 'auto') return value;
      const n = toNumber(value);
      if (!Number.isFinite(n)) throw bad(spec.auto ? "is neither a finite number nor 'auto'" : 'is not a finite number');
      if (spec.type === 'int' && !Number.isInteger(n)) throw bad('is not an integer');
      if (n < spec.min || n > spec.max) throw bad(`is outside ${spec.min}..${spec.max}`);
      return n;
    }
    case 'categorical':
      if (typeof value !== 'string' || !spec.choices.includes(value)) throw bad(`is not one of ${spec.choices.join('|')}`);
      return value;
    case 'string':
      if (typeof value !== 'string') throw bad('is not a string');
      return value;
  }
}

/** Fill defaults and validate `given`: unknown names or out-of-range values throw InvalidParams. */
export function resolveWith<P extends ParamValues>(model: string, specs: readonly ParamSpec[], given: Readonly<Record<string, ParamValue | undefined>>): P {
  for (const key of Object.keys(given)) {
    if (!specs.some((s) => s.name === key)) throw invalid(model, specs, `unknown parameter '${key}'`);
  }
  const out: ParamValues = {};
  for (const spec of specs) {
    const value = given[spec.name];
    out[spec.name] = value === undefined ? spec.default : check(model, specs, spec, value);
  }
  return out as P;
}

/** Split a comma list ('a, b,,c') into trimmed non-empty items. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
