/** Search spaces for tuning: the tunable dimensions of a model's ParamSpec list, optionally narrowed. */
import { describeParam } from '../models/params.js';
import { InvalidParams, type ParamSpec, type ParamValues } from '../models/types.js';

/** A numeric dimension; `log` means sample (and model densities) on a log scale, which needs min > 0. */
export interface NumericDimension {
  readonly name: string;
  readonly type: 'int' | 'float';
  readonly min: number;
  readonly max: number;
  readonly log: boolean;
}

/** A dimension with a fixed set of string values. */
export interface CategoricalDimension {
  readonly name: string;
  readonly type: 'categorical';
  readonly choices: readonly string[];
}

/** One tunable hyperparameter. */
export type Dimension = NumericDimension | CategoricalDimension;

/** Narrowing of one dimension: a sub-range (and scale) for numbers, a subset of choices for categoricals. */
export interface DimensionOverride {
  min?: number;
  max?: number;
  log?: boolean;
  choices?: readonly string[];
}

/** Which specs to tune and how to narrow them; include is applied before exclude, which may also name string params. */
export interface SearchSpaceOptions {
  include?: readonly string[];
  exclude?: readonly string[];
  overrides?: Readonly<Record<string, DimensionOverride>>;
}

type TunableSpec = Exclude<ParamSpec, { type: 'string' }>;

function isTunable(spec: ParamSpec): spec is TunableSpec {
  return spec.type !== 'string';
}

// Every error lists the valid names with their ranges, so a typo in a CLI flag is fixable from the message alone.
function invalid(tunable: readonly TunableSpec[], problem: string): InvalidParams {
  const valid = tunable.length === 0 ? '(none)' : tunable.map(describeParam).join('; ');
  return new InvalidParams(`search space: ${problem}. Tunable parameters: ${valid}`);
}

function checkNames(what: string, names: readonly string[], specs: readonly ParamSpec[], tunable: readonly TunableSpec[]): void {
  const unknown = names.filter((n) => !tunable.some((s) => s.name === n) && !(what === 'exclude' && specs.some((s) => s.name === n)));
  // Excluding a string param is a harmless no-op (callers exclude every fixed param), so only include/overrides reject them.
  if (unknown.length === 0) return;
  // String params exist but cannot be sampled; say so rather than calling them unknown.
  const strings = unknown.filter((n) => specs.some((s) => s.name === n && s.type === 'string'));
  const others = unknown.filter((n) => !strings.includes(n));
  const parts: string[] = [];
  if (others.length > 0) parts.push(`unknown parameter${others.length > 1 ? 's' : ''} ${others.map((n) => `'${n}'`).join(', ')}`);
  if (strings.length > 0)
    parts.push(`${strings.map((n) => `'${n}'`).join(', ')} ${strings.length > 1 ? 'are string parameters' : 'is a string parameter'} and cannot be tuned`);
  throw invalid(tunable, `${what}: ${parts.join('; ')}`);
}

function toDimension(spec: TunableSpec, override: DimensionOverride | undefined, tunable: readonly TunableSpec[]): Dimension {
  const bad = (why: string): InvalidParams => invalid(tunable, `override of ${spec.name}: ${why}`);
  if (spec.type === 'categorical') {
    if (override?.min !== undefined || override?.max !== undefined || override?.log !== undefined) {
      throw bad('min/max/log apply to numeric parameters only; use choices');
    }
    const choices = override?.choices ?? spec.choices;
    const foreign = choices.filter((c) => !spec.choices.includes(c));
    if (foreign.length > 0) throw bad(`${foreign.join('|')} not among ${spec.choices.join('|')}`);
    if (choices.length === 0) throw bad('choices must not be empty');
    return { name: spec.name, type: 'categorical', choices: [...new Set(choices)] };
  }
  if (override?.choices !== undefined) throw bad('choices apply to categorical parameters only; use min/max');
  // What is not overridden comes from the spec's search range (when it has one), else from its whole valid range.
  const range = spec.search ?? { min: spec.min, max: spec.max, log: spec.log ?? false };
  const min = override?.min ?? range.min;
  const max = override?.max ?? range.max;
  const log = override?.log ?? range.log;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw bad(`range ${min}..${max} is empty or not finite`);
  // A wider range than the spec would sample values the model then rejects; only narrowing is allowed.
  if (min < spec.min || max > spec.max) throw bad(`range ${min}..${max} is outside ${spec.min}..${spec.max}`);
  if (spec.type === 'int' && (!Number.isInteger(min) || !Number.isInteger(max))) throw bad(`range ${min}..${max} must be integers`);
  if (log && min <= 0) throw bad(`a log scale needs min > 0, got ${min}`);
  return { name: spec.name, type: spec.type, min, max, log };
}

/** The tunable dimensions of specs (string params skipped), filtered and narrowed; bad names throw InvalidParams listing valid ones. */
export function searchSpace(specs: readonly ParamSpec[], options: SearchSpaceOptions = {}): Dimension[] {
  const tunable = specs.filter(isTunable);
  const { include, exclude, overrides = {} } = options;
  if (include !== undefined) checkNames('include', include, specs, tunable);
  if (exclude !== undefined) checkNames('exclude', exclude, specs, tunable);
  checkNames('overrides', Object.keys(overrides), specs, tunable);
  const chosen = tunable.filter((s) => (include === undefined || include.includes(s.name)) && !(exclude ?? []).includes(s.name));
  return chosen.map((s) => toDimension(s, overrides[s.name], tunable));
}

/** Whether value lies in the dimension (integral for ints, one of the choices for categoricals). */
export function inDimension(dim: Dimension, value: unknown): boolean {
  if (dim.type === 'categorical') return typeof value === 'string' && dim.choices.includes(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (dim.type === 'int' && !Number.isInteger(value)) return false;
  return value >= dim.min && value <= dim.max;
}

/** Problems with params against dims (missing, out of range, extra names); empty when params lie in the space. */
export function spaceProblems(dims: readonly Dimension[], params: Readonly<ParamValues>): string[] {
  const problems: string[] = [];
  for (const dim of dims) {
    const value = params[dim.name];
    if (value === undefined) problems.push(`${dim.name} is missing`);
    else if (!inDimension(dim, value)) {
      const range = dim.type === 'categorical' ? `one of ${dim.choices.join('|')}` : `${dim.type} in ${dim.min}..${dim.max}`;
      problems.push(`${dim.name}=${String(value)} is not ${range}`);
    }
  }
  for (const name of Object.keys(params)) {
    if (!dims.some((d) => d.name === name)) problems.push(`${name} is not a dimension of the space`);
  }
  return problems;
}

/** Whether params hold exactly the space's dimensions, each with a value inside it. */
export function inSpace(dims: readonly Dimension[], params: Readonly<ParamValues>): boolean {
  return spaceProblems(dims, params).length === 0;
}
