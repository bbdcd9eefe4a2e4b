/**
 * oracx.yaml: the declared stages of a pipeline, validated with zod. Errors name the file, line and key, and suggest
 * the closest valid name for a misspelt kind or key; dependencies (explicit `deps:` plus the implied ones, e.g.
 * evaluate after train) are ordered topologically, and a cycle or a dangling dependency is refused with its path.
 */
import { z } from 'zod';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { UserError } from '../src/errors.js';
import { closest } from '../src/predict/directory.js';
import { parseGate, type Gate } from '../src/ml/evaluation/gates.js';

export const STAGE_KINDS = ['collect', 'features', 'train', 'evaluate', 'register', 'promote'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

const scalarParam = z.union([z.number(), z.string(), z.boolean()]);
const codes = z.array(z.string().min(1)).min(1);
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date yyyy-mm-dd');
const season = z.string().regex(/^\d{4}-\d{4}$/, 'expected a season yyyy-yyyy');
const common = { kind: z.enum(STAGE_KINDS).optional(), deps: z.array(z.string()).optional() };
const registryChoice = z.enum(['auto', 'local', 'mlflow']).default('auto');

/**
 * Each stage kind's keys: the flags of the command it mirrors, kebab-case, with the command's defaults. Built on first
 * use: a file declares a few of the six kinds, and building a zod schema costs (a no-change `oracx run` is a start-up).
 */
export const STAGE_SCHEMAS = builtOnUse({
  collect: () => z.strictObject({ ...common, inputs: z.array(z.string().min(1)).min(1), season: season.optional() }),
  features: () => z.strictObject({ ...common, set: z.string().default('core@2') }),
  train: () =>
    z.strictObject({
      ...common,
      model: z.string().default('logreg'),
      features: z.string().default('core@2'),
      competitions: codes.optional(),
      'train-from': date.optional(),
      'train-until': date.optional(),
      seed: z.number().int().min(0).default(0),
      params: z.record(z.string(), scalarParam).default({}),
      artifacts: z.string().default('.oracx/artifacts'),
    }),
  evaluate: () =>
    z.strictObject({
      ...common,
      competitions: codes.optional(),
      seasons: z.array(season).min(1).optional(),
      'last-seasons': z.number().int().min(1).optional(),
      bookmaker: z.boolean().default(true),
      margin: z.enum(['multiplicative', 'additive', 'power', 'shin']).default('multiplicative'),
      gate: z.array(z.string()).default([]),
      betting: z.boolean().default(false),
    }),
  register: () =>
    z.strictObject({
      ...common,
      name: z.string().min(1),
      alias: z.string().optional(),
      description: z.string().optional(),
      quantize: z.boolean().default(false),
      registry: registryChoice,
    }),
  promote: () =>
    z.strictObject({
      ...common,
      name: z.string().min(1).optional(),
      alias: z.string().default('champion'),
      require: z.array(z.string()).default([]),
      competitions: codes.optional(),
      seasons: z.array(season).min(1).optional(),
      'last-seasons': z.number().int().min(1).optional(),
      'allow-feature-change': z.boolean().default(false),
      registry: registryChoice,
    }),
});

/** An object whose properties are the builders' results, each built on its first read and kept. */
function builtOnUse<T extends Record<string, () => unknown>>(builders: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const built = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const key of Object.keys(builders) as (keyof T)[]) {
    Object.defineProperty(built, key, {
      enumerable: true,
      configurable: true,
      get: () => Object.defineProperty(built, key, { value: builders[key]!(), enumerable: true })[key],
    });
  }
  return built;
}

export type StageParams<K extends StageKind> = z.output<(typeof STAGE_SCHEMAS)[K]>;

/** One validated stage, with its dependencies resolved (explicit plus implied). */
export type Stage = { [K in StageKind]: { name: string; kind: K; params: Omit<StageParams<K>, 'kind' | 'deps'>; deps: string[]; gates: Gate[] } }[StageKind];

export interface PipelineSpec {
  name: string;
  file: string;
  /** In dependency order. */
  stages: Stage[];
}

/** Which earlier kinds a stage implicitly depends on (every stage of that kind in the file). */
const IMPLIED: Record<StageKind, StageKind[]> = {
  collect: [],
  features: ['collect'],
  train: ['collect', 'features'],
  evaluate: ['train'],
  register: ['train', 'evaluate'],
  promote: ['register'],
};

const TOP = z.strictObject({
  name: z
    .string()
    .regex(/^[\w.-]+$/, 'letters, digits, ".", "_" or "-"')
    .default('default'),
  stages: z.record(z.string(), z.unknown()),
});

/** Parses and validates oracx.yaml text; `file` is used in messages. */
export function parsePipeline(text: string, file: string): PipelineSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lines.linePos(e.pos[0]);
    throw new UserError(`${file}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const where = (path: readonly (string | number)[]) => {
    const line = lineOf(doc, lines, path);
    return line ? `${file}:${line}` : file;
  };
  const top = TOP.safeParse(doc.toJS() ?? {});
  if (!top.success) throw zodError(top.error, [], where, ['name', 'stages']);
  const entries = Object.entries(top.data.stages);
  if (entries.length === 0) throw new UserError(`${where(['stages'])}: no stages declared`, { hint: `declare at least one of ${STAGE_KINDS.join(', ')}` });
  const raw = new Map<string, Stage>();
  for (const [name, value] of entries) {
    if (!/^[\w.-]+$/.test(name)) throw new UserError(`${where(['stages', name])}: stage name "${name}" may only hold letters, digits, ".", "_" or "-"`);
    const obj = (value ?? {}) as Record<string, unknown>;
    if (typeof obj !== 'object' || Array.isArray(obj)) throw new UserError(`${where(['stages', name])}: stage "${name}" must be a mapping of keys`);
    const kindValue = obj.kind ?? name;
    if (typeof kindValue !== 'string' || !(STAGE_KINDS as readonly string[]).includes(kindValue)) {
      const given = String(kindValue);
      const near = closest(given, STAGE_KINDS, 1);
      const whereKind = obj.kind === undefined ? where(['stages', name]) : where(['stages', name, 'kind']);
      throw new UserError(`${whereKind}: stage "${name}" has unknown kind "${given}"${near.length ? ` — did you mean "${near[0]}"?` : ''}`, {
        hint:
          obj.kind === undefined ? `name the stage after its kind or add kind: (one of ${STAGE_KINDS.join(', ')})` : `kind is one of ${STAGE_KINDS.join(', ')}`,
      });
    }
    const kind = kindValue as StageKind;
    const schema = STAGE_SCHEMAS[kind];
    const parsed = schema.safeParse(obj);
    if (!parsed.success) throw zodError(parsed.error, ['stages', name], where, Object.keys(schema.shape), `stage "${name}" (${kind})`);
    const { kind: _k, deps, ...params } = parsed.data as { kind?: string; deps?: string[] } & Record<string, unknown>;
    const gateTexts = kind === 'evaluate' ? (params.gate as string[]) : kind === 'promote' ? (params.require as string[]) : [];
    const gates = gateTexts.map((g, i) => {
      try {
        return kind === 'promote' ? parseGate(g, ['bookmaker', 'naive', 'elo', 'champion']) : parseGate(g);
      } catch (error) {
        throw new UserError(`${where(['stages', name, kind === 'promote' ? 'require' : 'gate', i])}: ${(error as Error).message}`);
      }
    });
    raw.set(name, { name, kind, params, deps: deps ?? [], gates } as Stage);
  }
  for (const stage of raw.values()) {
    for (const dep of stage.deps) {
      if (!raw.has(dep)) {
        const near = closest(dep, [...raw.keys()], 1);
        throw new UserError(
          `${where(['stages', stage.name, 'deps'])}: stage "${stage.name}" depends on "${dep}", which is not declared${near.length ? ` — did you mean "${near[0]}"?` : ''}`,
        );
      }
      if (dep === stage.name) throw new UserError(`${where(['stages', stage.name, 'deps'])}: stage "${stage.name}" depends on itself`);
    }
    const implied = [...raw.values()].filter((s) => s !== stage && IMPLIED[stage.kind].includes(s.kind)).map((s) => s.name);
    stage.deps = [...new Set([...stage.deps, ...implied])];
  }
  return { name: top.data.name, file, stages: topoSort(raw, where) };
}

/** Stages in dependency order (declaration order among independent ones); a cycle is refused with its path. */
function topoSort(stages: Map<string, Stage>, where: (path: readonly (string | number)[]) => string): Stage[] {
  const order: Stage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new UserError(`${where(['stages', cycle[0]!])}: dependency cycle ${cycle.join(' → ')} (→: depends on)`, {
        hint: 'remove one of these deps (evaluate, register and promote already run after train, features after collect)',
      });
    }
    state.set(name, 'visiting');
    const stage = stages.get(name)!;
    for (const dep of stage.deps) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(stage);
  };
  for (const name of stages.keys()) visit(name, []);
  return order;
}

/** A zod failure as one message at the offending key's line, with the closest valid key for an unknown one. */
function zodError(
  error: z.ZodError,
  base: (string | number)[],
  where: (path: readonly (string | number)[]) => string,
  validKeys: string[],
  what = 'the pipeline file',
): UserError {
  // An unknown key is usually a misspelt one: name it before the required key it then leaves missing.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), key];
    const near = closest(
      key,
      validKeys.filter((k) => k !== 'kind' && k !== 'deps'),
      1,
    );
    return new UserError(`${where(path)}: unknown key "${key}" in ${what}${near.length ? ` — did you mean "${near[0]}"?` : ''}`, {
      hint: `valid keys: ${validKeys.join(', ')}`,
    });
  }
  const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const key = path.slice(base.length).join('.') || path.join('.');
  return new UserError(`${where(path)}: ${what === 'the pipeline file' ? '' : `${what}: `}"${key}": ${issue.message}`);
}

/** The 1-based line of the key (or item) at `path`, or of its nearest existing parent. */
function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number | null {
  let node: unknown = doc.contents;
  let found: number | null = null;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) break;
      const range = (pair.key as Node).range;
      if (range) found = lines.linePos(range[0]).line;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof step === 'number') {
      const item = (node as { items: unknown[] }).items[step] as Node | undefined;
      if (!item) break;
      if (item.range) found = lines.linePos(item.range[0]).line;
      node = item;
    } else break;
  }
  return found;
}
