/** Checks on serialised model state: model files are an edge, so their shape is validated before use. */
import { z } from 'zod';
import { resolveWith } from './params.js';
import type { ModelName, ParamSpec, ParamValues, SerializedModel } from './types.js';

/** Finite numbers only (zod 4 rejects NaN and ±Infinity in z.number()). */
export const numbers = z.array(z.number());

/** Column statistics of a Scaler. */
export const scalerSchema = z.object({ mean: numbers, std: z.array(z.number().positive()) });

/** What an l2=auto fit chose and why (see AutoChoice); optional in states, as model files from before it lack it. */
export const autoChoiceSchema = z.object({
  value: z.number().nonnegative(),
  method: z.enum(['validation', 'fallback']),
  summary: z.string(),
  grid: numbers.optional(),
  valLogLoss: numbers.optional(),
  valRps: numbers.optional(),
  best: z.number().optional(),
  fitMatches: z.number().int().optional(),
  validationMatches: z.number().int().optional(),
  validationFrom: z.string().optional(),
});

/** Parse `serialized.state` with schema and re-validate its params; errors name the model and the bad path. */
export function readState<T, P extends ParamValues>(
  kind: ModelName,
  specs: readonly ParamSpec[],
  serialized: SerializedModel,
  schema: z.ZodType<T>,
): { state: T; params: P } {
  if (serialized.kind !== kind) throw new RangeError(`expected a serialized ${kind} model, got kind '${String(serialized.kind)}'`);
  if (serialized.formatVersion !== 1) throw new RangeError(`${kind}: unsupported formatVersion ${String(serialized.formatVersion)} (this build reads 1)`);
  const params = resolveWith<P>(kind, specs, serialized.params);
  const parsed = schema.safeParse(serialized.state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `state.${issue.path.join('.')}` : 'state';
    throw new RangeError(`invalid serialized ${kind} model: ${where}: ${issue.message}`);
  }
  return { state: parsed.data, params };
}

const MODEL_NAMES = ['logreg', 'mlp', 'dixon-coles', 'elo-ordered', 'ensemble'] as const;

/** Outer shape of a SerializedModel (the state is checked by the model kind's loader). */
export const serializedModelSchema = z.object({
  kind: z.enum(MODEL_NAMES),
  formatVersion: z.literal(1),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  featureNames: z.array(z.string()),
  state: z.unknown(),
});

/** Validate untrusted JSON (a model file, a registry download) as a SerializedModel. */
export function parseSerializedModel(json: unknown): SerializedModel {
  const parsed = serializedModelSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new RangeError(`invalid serialized model: ${where}: ${issue.message}`);
  }
  return parsed.data as SerializedModel;
}
