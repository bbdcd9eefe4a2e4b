/** Weighted average of member models' probabilities; members are fitted on the same data with derived seeds. */
import { z } from 'zod';
import type { Probs } from '../types.js';
import { deriveSeed, finishProbs } from './numeric.js';
import { commaList, resolveWith } from './params.js';
import { numbers, readState, serializedModelSchema } from './state.js';
import { InvalidParams, type Dataset, type FitOptions, type Model, type ModelName, type ParamSpec, type SerializedModel } from './types.js';

/** Hyperparameters of ensemble (members use their own defaults). */
export type EnsembleParams = { members: string; weights: string };

/** Parameter specs of ensemble. */
export const ENSEMBLE_PARAMS: readonly ParamSpec[] = [
  { name: 'members', type: 'string', default: 'dixon-coles,logreg', description: 'comma list of member models (not ensemble)' },
  { name: 'weights', type: 'string', default: '', description: 'comma list of non-negative weights, one per member; empty = equal' },
];

const MEMBER_NAMES: readonly ModelName[] = ['logreg', 'mlp', 'dixon-coles', 'elo-ordered'];

const stateSchema = z.object({ members: z.array(serializedModelSchema).min(1), weights: numbers.min(1) });

/** Fits one member with its default params (the registry is injected to avoid an import cycle). */
export type MemberFitter = (name: ModelName, data: Dataset, options: FitOptions) => Promise<Model>;
/** Rebuilds one member from its serialised form. */
export type MemberLoader = (serialized: SerializedModel) => Model;

class EnsembleModel implements Model {
  readonly kind = 'ensemble' as const;
  constructor(
    readonly params: Readonly<EnsembleParams>,
    private readonly members: Model[],
    private readonly weights: number[],
  ) {}

  predict(data: Dataset): Probs[] {
    const all = this.members.map((m) => m.predict(data));
    return data.matches.map((_, i) => {
      const p = [0, 0, 0];
      all.forEach((preds, k) => {
        for (let c = 0; c < 3; c++) p[c]! += this.weights[k]! * preds[i]![c]!;
      });
      return finishProbs(p[0]!, p[1]!, p[2]!, 'ensemble');
    });
  }

  serialize(): SerializedModel {
    const members = this.members.map((m) => m.serialize());
    const featureNames = [...new Set(members.flatMap((m) => m.featureNames))];
    return { kind: this.kind, formatVersion: 1, params: { ...this.params }, featureNames, state: { members, weights: [...this.weights] } };
  }
}

/** Member names and normalised weights from params; throws InvalidParams naming the valid members. */
function parseMembers(params: EnsembleParams): { names: ModelName[]; weights: number[] } {
  const names = commaList(params.members);
  const bad = names.filter((n) => !(MEMBER_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) {
    throw new InvalidParams(`ensemble: members '${params.members}' must list models from: ${MEMBER_NAMES.join(', ')}`);
  }
  const raw = params.weights.trim() === '' ? names.map(() => 1) : commaList(params.weights).map(Number);
  const total = raw.reduce((s, w) => s + w, 0);
  if (raw.length !== names.length || raw.some((w) => !(Number.isFinite(w) && w >= 0)) || !(total > 0)) {
    throw new InvalidParams(`ensemble: weights '${params.weights}' must be ${names.length} non-negative numbers with a positive sum (or empty for equal weights)`);
  }
  return { names: names as ModelName[], weights: raw.map((w) => w / total) };
}

/** Fit every member on data; member k gets seed deriveSeed(seed, k). */
export async function fitEnsemble(data: Dataset, given: Partial<EnsembleParams>, options: FitOptions, fitMember: MemberFitter): Promise<Model> {
  const params = resolveWith<EnsembleParams>('ensemble', ENSEMBLE_PARAMS, given);
  const { names, weights } = parseMembers(params);
  const members: Model[] = [];
  // Sequential on purpose: members may share the tfjs backend, and order must not depend on timing.
  for (const [k, name] of names.entries()) members.push(await fitMember(name, data, { seed: deriveSeed(options.seed, k), signal: options.signal }));
  return new EnsembleModel(params, members, weights);
}

/** Rebuild an ensemble (and its members) from its serialised form. */
export function loadEnsemble(serialized: SerializedModel, loadMember: MemberLoader): Model {
  const { state, params } = readState<z.infer<typeof stateSchema>, EnsembleParams>('ensemble', ENSEMBLE_PARAMS, serialized, stateSchema);
  if (state.weights.length !== state.members.length) throw new RangeError('invalid serialized ensemble model: one weight per member required');
  const members = state.members.map((m) => {
    if (m.kind === 'ensemble') throw new RangeError('invalid serialized ensemble model: nested ensembles are not supported');
    return loadMember(m as SerializedModel);
  });
  return new EnsembleModel(params, members, state.weights);
}
