/** The oracx entries of an exported model's metadata_props: what they hold, how they are written and read back. */
import { z } from 'zod';
import { MODEL_NAMES } from '../ml/models/index.js';
import type { ModelName, ParamValues } from '../ml/models/types.js';
import { decodeModel } from './graph.js';

/** Version of the metadata layout below; readers refuse layouts they do not know. */
export const METADATA_FORMAT = 1;

/** metadata_props keys (all prefixed `oracx.`). */
export const META_KEYS = {
  kind: 'oracx.kind',
  format: 'oracx.format',
  featureNames: 'oracx.feature_names',
  featureSet: 'oracx.feature_set',
  inputs: 'oracx.inputs',
  conventions: 'oracx.input_conventions',
  teams: 'oracx.teams',
  competitions: 'oracx.competitions',
  quantized: 'oracx.quantized',
  members: 'oracx.members',
  params: 'oracx.params',
} as const;

/** One graph input: its name, element type, shape ('N' = rows) and meaning. */
export interface OnnxInputSpec {
  name: string;
  type: 'float32' | 'int64';
  shape: Array<number | 'N'>;
  description: string;
}

/** One ensemble member as recorded in the metadata. */
export interface OnnxMemberInfo {
  kind: ModelName;
  weight: number;
  temperature: number;
  featureNames: string[];
}

/** Everything an exported model says about itself, enough to build its feeds (see onnxFeeds). */
export interface OnnxMetadata {
  kind: ModelName;
  format: typeof METADATA_FORMAT;
  /** Columns of the `features` input in order; empty when the model takes no features. */
  featureNames: string[];
  featureSet: string | null;
  inputs: OnnxInputSpec[];
  /** Human-readable input conventions (also in docs/onnx.md). */
  conventions: string;
  /** Team vocabulary of the `home`/`away` inputs: index i is store team id teams[i]; null without those inputs. */
  teams: number[] | null;
  /** Competition vocabulary of the `competition` input; null without it. */
  competitions: string[] | null;
  /** Whether some weight matrix is stored as int8. */
  quantized: boolean;
  members: OnnxMemberInfo[] | null;
  params: ParamValues;
  /** From the ModelProto itself. */
  irVersion: number;
  opset: number;
  docString: string;
}

/** The metadata_props entries for meta (the ModelProto fields irVersion, opset and docString are set elsewhere). */
export function metadataProps(meta: Omit<OnnxMetadata, 'irVersion' | 'opset' | 'docString'>): Record<string, string> {
  const props: Record<string, string> = {
    [META_KEYS.kind]: meta.kind,
    [META_KEYS.format]: String(meta.format),
    [META_KEYS.featureNames]: JSON.stringify(meta.featureNames),
    [META_KEYS.inputs]: JSON.stringify(meta.inputs),
    [META_KEYS.conventions]: meta.conventions,
    [META_KEYS.quantized]: meta.quantized ? 'int8-weights' : 'none',
    [META_KEYS.params]: JSON.stringify(meta.params),
  };
  if (meta.featureSet !== null) props[META_KEYS.featureSet] = meta.featureSet;
  if (meta.teams !== null) props[META_KEYS.teams] = JSON.stringify(meta.teams);
  if (meta.competitions !== null) props[META_KEYS.competitions] = JSON.stringify(meta.competitions);
  if (meta.members !== null) props[META_KEYS.members] = JSON.stringify(meta.members);
  return props;
}

/** Plain-text input conventions of a model with these inputs (stored in the model and shown by tools). */
export function describeInputs(inputs: readonly OnnxInputSpec[]): string {
  const lines = inputs.map((i) => `${i.name}: ${i.type} [${i.shape.join(', ')}], ${i.description}`);
  lines.push('output probs: float32 [N, 3] = [P(home win), P(draw), P(away win)] per row, each row summing to 1');
  return lines.join('\n');
}

const kindSchema = z.enum(MODEL_NAMES as [ModelName, ...ModelName[]]);
const jsonOf = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
const inputSchema = z.object({
  name: z.string(),
  type: z.enum(['float32', 'int64']),
  shape: z.array(z.union([z.number().int().nonnegative(), z.literal('N')])),
  description: z.string(),
});
const propsSchema = z.object({
  [META_KEYS.kind]: kindSchema,
  [META_KEYS.format]: z.literal(String(METADATA_FORMAT)),
  [META_KEYS.featureNames]: jsonOf(z.array(z.string())),
  [META_KEYS.featureSet]: z.string().optional(),
  [META_KEYS.inputs]: jsonOf(z.array(inputSchema).min(1)),
  [META_KEYS.conventions]: z.string(),
  [META_KEYS.teams]: jsonOf(z.array(z.number().int())).optional(),
  [META_KEYS.competitions]: jsonOf(z.array(z.string())).optional(),
  [META_KEYS.quantized]: z.enum(['none', 'int8-weights']),
  [META_KEYS.members]: jsonOf(
    z.array(z.object({ kind: kindSchema, weight: z.number(), temperature: z.number(), featureNames: z.array(z.string()) })),
  ).optional(),
  [META_KEYS.params]: jsonOf(z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]))),
});

/** protobufjs gives int64 fields as numbers or Long objects, depending on whether `long` is installed. */
function toInt(x: number | { toNumber(): number }): number {
  return typeof x === 'number' ? x : x.toNumber();
}

/** Read the oracx metadata back from exported model bytes; a model not exported by oracx (or corrupt) is a RangeError. */
export function readOnnxMetadata(bytes: Uint8Array): OnnxMetadata {
  const model = decodeModel(bytes);
  const props: Record<string, string> = {};
  for (const p of model.metadataProps) if (p.key) props[p.key] = p.value ?? '';
  if (!(META_KEYS.kind in props)) throw new RangeError(`not an oracx ONNX export: metadata_props has no ${META_KEYS.kind} entry`);
  const parsed = propsSchema.safeParse(props);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`invalid oracx ONNX metadata: ${issue.path.join('.') || '(props)'}: ${issue.message}`);
  }
  const p = parsed.data;
  const opset = model.opsetImport.find((o) => (o.domain ?? '') === '')?.version ?? 0;
  return {
    kind: p[META_KEYS.kind],
    format: METADATA_FORMAT,
    featureNames: p[META_KEYS.featureNames],
    featureSet: p[META_KEYS.featureSet] ?? null,
    inputs: p[META_KEYS.inputs],
    conventions: p[META_KEYS.conventions],
    teams: p[META_KEYS.teams] ?? null,
    competitions: p[META_KEYS.competitions] ?? null,
    quantized: p[META_KEYS.quantized] === 'int8-weights',
    members: p[META_KEYS.members] ?? null,
    params: p[META_KEYS.params],
    irVersion: toInt(model.irVersion),
    opset: toInt(opset),
    docString: model.docString,
  };
}
