/** Feature-set definitions: plain types, defaults, validation, stable names and a content hash. */
import { createHash } from 'node:crypto';
import { MARGIN_METHODS } from '../margins.js';
import { eloNames, formNames, h2hNames, marketNames, piNames, restNames, shotRatingNames } from './names.js';
import {
  DEFAULT_ELO,
  DEFAULT_FORM,
  DEFAULT_H2H,
  DEFAULT_MARKET,
  DEFAULT_PI,
  DEFAULT_REST,
  DEFAULT_SHOT_RATINGS,
  GROUP_ORDER,
  SHOT_STATS,
  type FeatureGroups,
  type GroupName,
} from './params.js';

/** A named, versioned recipe for feature vectors: which groups, with which parameters. */
export interface FeatureSetDefinition {
  /** Lower-case identifier, e.g. "core"; referenced as name@version. */
  name: string;
  /** Positive integer; any change to groups must bump it. */
  version: number;
  /** Free text for humans; not part of definitionHash. */
  description: string;
  groups: FeatureGroups;
}

/** A definition as written by hand or read from JSON: every group parameter may be left to its default. */
export interface FeatureSetInput {
  name: string;
  version: number;
  description?: string;
  groups: { [G in GroupName]?: Partial<NonNullable<FeatureGroups[G]>> };
}

const DEFAULTS: { [G in GroupName]: Readonly<NonNullable<FeatureGroups[G]>> } = {
  elo: DEFAULT_ELO,
  pi: DEFAULT_PI,
  form: DEFAULT_FORM,
  rest: DEFAULT_REST,
  h2h: DEFAULT_H2H,
  shotRatings: DEFAULT_SHOT_RATINGS,
  market: DEFAULT_MARKET,
};

const NAME_RE = /^[a-z][a-z0-9_-]*$/;

/** Fills every omitted parameter with its default, validates the result and returns it deeply frozen. */
export function defineFeatureSet(input: FeatureSetInput): FeatureSetDefinition {
  const where = `feature set ${JSON.stringify(input?.name)}`;
  if (typeof input !== 'object' || input === null) throw new TypeError(`feature set: expected an object, got ${String(input)}`);
  if (typeof input.groups !== 'object' || input.groups === null) throw new TypeError(`${where}: groups must be an object`);
  const groups: Record<string, unknown> = {};
  for (const key of Object.keys(input.groups)) {
    if (!isGroupName(key)) throw new Error(`${where}: unknown group "${key}"; expected one of ${GROUP_ORDER.join(', ')}`);
    const given: unknown = input.groups[key];
    if (given === undefined) continue;
    if (typeof given !== 'object' || given === null) throw new TypeError(`${where}: groups.${key} must be an object of parameters`);
    // A copy, so freezing the result never freezes arrays the caller still owns.
    groups[key] = structuredClone({ ...DEFAULTS[key], ...given });
  }
  const def = { name: input.name, version: input.version, description: input.description ?? '', groups } as FeatureSetDefinition;
  validateDefinition(def);
  return deepFreeze(def);
}

/** Throws (RangeError for out-of-range values, TypeError/Error for bad shapes) unless def is a complete, valid definition. */
export function validateDefinition(def: FeatureSetDefinition): void {
  if (typeof def !== 'object' || def === null) throw new TypeError(`feature set: expected an object, got ${String(def)}`);
  if (typeof def.name !== 'string' || !NAME_RE.test(def.name)) {
    throw new Error(`feature set: name must match ${NAME_RE} (lower case, no "@"), got ${JSON.stringify(def.name)}`);
  }
  const where = `feature set "${def.name}"`;
  if (!Number.isSafeInteger(def.version) || def.version < 1)
    throw new RangeError(`${where}: version must be an integer ≥ 1, got ${JSON.stringify(def.version)}`);
  if (typeof def.description !== 'string') throw new TypeError(`${where}: description must be a string`);
  if (typeof def.groups !== 'object' || def.groups === null) throw new TypeError(`${where}: groups must be an object`);
  const keys = Object.keys(def.groups).filter((k) => (def.groups as Record<string, unknown>)[k] !== undefined);
  for (const k of keys) if (!isGroupName(k)) throw new Error(`${where}: unknown group "${k}"; expected one of ${GROUP_ORDER.join(', ')}`);
  if (keys.length === 0) throw new Error(`${where}: needs at least one group (${GROUP_ORDER.join(', ')})`);
  const g = def.groups;
  if (g.elo) {
    const p = params(where, 'elo', g.elo, ['k', 'homeAdvantage', 'initialRating', 'newcomerOffset', 'seasonRegression', 'marginRule']);
    num(p, 'k', (v) => v > 0 && v <= 1000, '> 0 and ≤ 1000');
    num(p, 'homeAdvantage', (v) => Math.abs(v) <= 1000, 'within ±1000');
    num(p, 'initialRating', () => true, 'finite');
    num(p, 'newcomerOffset', (v) => Math.abs(v) <= 1000, 'within ±1000');
    num(p, 'seasonRegression', (v) => v >= 0 && v <= 1, 'in [0, 1]');
    oneOf(p, 'marginRule', ['none', 'world-football']);
  }
  if (g.pi) {
    const p = params(where, 'pi', g.pi, ['lambda', 'gamma', 'b', 'c']);
    num(p, 'lambda', (v) => v > 0 && v <= 1, 'in (0, 1]');
    num(p, 'gamma', (v) => v >= 0 && v <= 1, 'in [0, 1]');
    num(p, 'b', (v) => v > 1 && v <= 1000, 'in (1, 1000]');
    num(p, 'c', (v) => v > 0 && v <= 100, 'in (0, 100]');
  }
  if (g.form) {
    const p = params(where, 'form', g.form, ['windows', 'shots', 'venueSplit']);
    const w: unknown = p.values.windows;
    if (!Array.isArray(w) || w.length === 0) throw new TypeError(`${p.where}.windows must be a non-empty array of integers, got ${JSON.stringify(w)}`);
    for (const n of w) {
      if (!Number.isSafeInteger(n) || n < 1 || n > 100)
        throw new RangeError(`${p.where}.windows: each window must be an integer in [1, 100], got ${JSON.stringify(n)}`);
    }
    if (new Set(w).size !== w.length) throw new RangeError(`${p.where}.windows: repeated window in ${JSON.stringify(w)}`);
    bool(p, 'shots');
    bool(p, 'venueSplit');
  }
  if (g.rest) {
    const p = params(where, 'rest', g.rest, ['capDays']);
    num(p, 'capDays', (v) => Number.isSafeInteger(v) && v >= 1 && v <= 3660, 'an integer in [1, 3660]');
  }
  if (g.h2h) {
    const p = params(where, 'h2h', g.h2h, ['window']);
    num(p, 'window', (v) => Number.isSafeInteger(v) && v >= 1 && v <= 100, 'an integer in [1, 100]');
  }
  if (g.shotRatings) {
    const p = params(where, 'shotRatings', g.shotRatings, ['stats', 'step', 'baseStep', 'seasonShrink', 'newcomerStrength']);
    const stats: unknown = p.values.stats;
    if (!Array.isArray(stats) || stats.length === 0) throw new TypeError(`${p.where}.stats must be a non-empty array, got ${JSON.stringify(stats)}`);
    for (const s of stats) {
      if (!(SHOT_STATS as readonly unknown[]).includes(s))
        throw new RangeError(`${p.where}.stats: each must be one of ${SHOT_STATS.join(', ')}, got ${JSON.stringify(s)}`);
    }
    if (new Set(stats).size !== stats.length) throw new RangeError(`${p.where}.stats: repeated statistic in ${JSON.stringify(stats)}`);
    num(p, 'step', (v) => v > 0 && v <= 1, 'in (0, 1]');
    num(p, 'baseStep', (v) => v >= 0 && v <= 1, 'in [0, 1]');
    num(p, 'seasonShrink', (v) => v >= 0 && v <= 1, 'in [0, 1]');
    num(p, 'newcomerStrength', (v) => Math.abs(v) <= 2, 'within ±2');
  }
  if (g.market) {
    const p = params(where, 'market', g.market, ['method'], ['logOdds', 'prices']);
    oneOf(p, 'method', MARGIN_METHODS);
    if (p.values.logOdds !== undefined) bool(p, 'logOdds');
    if (p.values.prices !== undefined) oneOf(p, 'prices', ['pre-match', 'closing']);
  }
}

/** The names of def's features, in vector order: groups in GROUP_ORDER, each group in its own fixed order. */
export function featureNames(def: FeatureSetDefinition): string[] {
  const g = def.groups;
  const names: string[] = [];
  if (g.elo) names.push(...eloNames());
  if (g.pi) names.push(...piNames());
  if (g.form) names.push(...formNames(g.form));
  if (g.rest) names.push(...restNames());
  if (g.h2h) names.push(...h2hNames());
  if (g.shotRatings) names.push(...shotRatingNames(g.shotRatings));
  if (g.market) names.push(...marketNames(g.market.logOdds === true));
  return names;
}

/** sha256 (hex) of the canonical JSON of {name, version, groups}: equal hashes mean equal feature values. */
export function definitionHash(def: FeatureSetDefinition): string {
  // The description is left out so that rewording it does not orphan features already stored under the old hash.
  return createHash('sha256')
    .update(canonicalJson({ name: def.name, version: def.version, groups: def.groups }))
    .digest('hex');
}

/** JSON with object keys sorted at every depth and undefined members dropped, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`canonicalJson: ${value} has no JSON form`);
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`canonicalJson: ${typeof value} has no JSON form`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((v: unknown) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

function isGroupName(key: string): key is GroupName {
  return (GROUP_ORDER as readonly string[]).includes(key);
}

interface ParamView {
  where: string;
  values: Record<string, unknown>;
}

/** Rejects unknown and missing parameter keys, which catch typos in hand-written or stored definitions. */
function params(where: string, group: string, value: object, allowed: readonly string[], optional: readonly string[] = []): ParamView {
  const at = `${where}: ${group}`;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${at} must be an object of parameters`);
  const values = value as Record<string, unknown>;
  for (const k of Object.keys(values)) {
    if (!allowed.includes(k) && !optional.includes(k)) throw new Error(`${at}: unknown parameter "${k}"; expected ${[...allowed, ...optional].join(', ')}`);
  }
  for (const k of allowed) if (values[k] === undefined) throw new Error(`${at}.${k} is missing (defineFeatureSet fills defaults)`);
  return { where: at, values };
}

function num(p: ParamView, key: string, ok: (v: number) => boolean, expected: string): void {
  const v = p.values[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${p.where}.${key} must be ${expected}, got ${JSON.stringify(v)}`);
}

function bool(p: ParamView, key: string): void {
  const v = p.values[key];
  if (typeof v !== 'boolean') throw new TypeError(`${p.where}.${key} must be true or false, got ${JSON.stringify(v)}`);
}

function oneOf(p: ParamView, key: string, allowed: readonly string[]): void {
  const v = p.values[key];
  if (typeof v !== 'string' || !allowed.includes(v)) throw new RangeError(`${p.where}.${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
