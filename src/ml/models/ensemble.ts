/** Weighted average of member models' probabilities; members are fitted on the same data with derived seeds. */
import { z } from 'zod';
import type { Probs } from '../types.js';
import { deriveSeed, finishProbs } from './numeric.js';
import { commaList, resolveWith } from './params.js';
import { numbers, readState, serializedModelSchema } from './state.js';
import { InvalidParams, type Dataset, type FitOptions, type Model, type ModelName, type ParamSpec, type SerializedModel } from './types.js';

/** Hyperparameters of ensemble (members use their own defaults). */
export type EnsembleParams = { members: string; weights: string; calibrate: string; calibrationFraction: number };

/** Parameter specs of ensemble. */
export const ENSEMBLE_PARAMS: readonly ParamSpec[] = [
  { name: 'members', type: 'string', default: 'dixon-coles,logreg', description: 'comma list of member models (not ensemble)' },
  { name: 'weights', type: 'string', default: '', description: 'comma list of non-negative weights, one per member; empty = equal' },
  {
    name: 'calibrate',
    type: 'categorical',
    default: 'temperature',
    choices: ['temperature', 'none'],
    description: 'calibrate each member before averaging: a temperature fitted on a chronological hold-out tail',
  },
  { name: 'calibrationFraction', type: 'float', default: 0.15, min: 0.05, max: 0.5, description: 'share of the latest training matches held out to fit the temperatures' },
];

/** Fewest hold-out matches worth fitting a temperature on; with fewer, members stay uncalibrated (T = 1). */
const MIN_CALIBRATION_MATCHES = 100;

const MEMBER_NAMES: readonly ModelName[] = ['logreg', 'mlp', 'dixon-coles', 'elo-ordered'];

const stateSchema = z.object({ members: z.array(serializedModelSchema).min(1), weights: numbers.min(1), temperatures: numbers.optional() });

/** Probabilities sharpened (T < 1) or softened (T > 1): p_k^(1/T), renormalised. */
export function temper(p: Probs, t: number): [number, number, number] {
  if (t === 1) return [p[0], p[1], p[2]];
  const q = p.map((v) => Math.pow(Math.max(v, 1e-12), 1 / t));
  const sum = q[0]! + q[1]! + q[2]!;
  return [q[0]! / sum, q[1]! / sum, q[2]! / sum];
}

/** The temperature in [0.25, 4] minimising mean log loss of tempered predictions (golden-section search on log T). */
export function fitTemperature(preds: readonly Probs[], outcomes: readonly number[]): number {
  const loss = (logT: number) => {
    const t = Math.exp(logT);
    let sum = 0;
    preds.forEach((p, i) => {
      sum -= Math.log(Math.max(temper(p, t)[outcomes[i]!]!, 1e-15));
    });
    return sum / preds.length;
  };
  let lo = Math.log(0.25);
  let hi = Math.log(4);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = hi - g * (hi - lo);
  let b = lo + g * (hi - lo);
  let fa = loss(a);
  let fb = loss(b);
  for (let i = 0; i < 60; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = loss(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = loss(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}

/** Fits one member with its default params (the registry is injected to avoid an import cycle). */
export type MemberFitter = (name: ModelName, data: Dataset, options: FitOptions) => Promise<Model>;
/** Rebuilds one member from its serialised form. */
export type MemberLoader = (serialized: SerializedModel) => Model;
/** One member brought up to date with data, or null when it needs no in-season update. */
export type MemberUpdater = (name: ModelName, member: Model, data: Dataset, options: FitOptions) => Promise<Model> | null;

class EnsembleModel implements Model {
  readonly kind = 'ensemble' as const;
  constructor(
    readonly params: Readonly<EnsembleParams>,
    readonly members: readonly Model[],
    readonly weights: readonly number[],
    readonly temperatures: readonly number[],
  ) {}

  predict(data: Dataset): Probs[] {
    const all = this.members.map((m, k) => m.predict(data).map((p) => temper(p, this.temperatures[k]!)));
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
    return {
      kind: this.kind,
      formatVersion: 1,
      params: { ...this.params },
      featureNames,
      state: { members, weights: [...this.weights], temperatures: [...this.temperatures] },
    };
  }
}

/** The valid member names a members list names (fitting reports the invalid ones). */
export function ensembleMemberNames(members: string): ModelName[] {
  return commaList(members).filter((n): n is ModelName => (MEMBER_NAMES as readonly string[]).includes(n));
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
  const temperatures = params.calibrate === 'temperature' ? await memberTemperatures(data, names, params, options, fitMember) : names.map(() => 1);
  const members: Model[] = [];
  // Sequential on purpose: members may share the tfjs backend, and order must not depend on timing.
  for (const [k, name] of names.entries()) members.push(await fitMember(name, data, { seed: deriveSeed(options.seed, k), signal: options.signal }));
  return new EnsembleModel(params, members, weights, temperatures);
}

/**
 * The ensemble brought up to date with `data`: members `updateMember` updates are replaced (member k with seed
 * deriveSeed(seed, k), as at fit time); the others, the weights and the temperatures stay as fitted.
 */
export async function updateEnsemble(model: Model, data: Dataset, options: FitOptions, updateMember: MemberUpdater): Promise<Model> {
  if (!(model instanceof EnsembleModel)) throw new TypeError(`updateEnsemble: expected an ensemble model, got ${model.kind}`);
  const members: Model[] = [];
  for (const [k, member] of model.members.entries()) {
    members.push((await updateMember(member.kind, member, data, { seed: deriveSeed(options.seed, k), signal: options.signal })) ?? member);
  }
  return new EnsembleModel(model.params, members, [...model.weights], [...model.temperatures]);
}

/** One temperature per member: members fitted without the latest matches, tempered to fit those matches best. */
async function memberTemperatures(data: Dataset, names: ModelName[], params: EnsembleParams, options: FitOptions, fitMember: MemberFitter): Promise<number[]> {
  // Matches are in date order; the tail is the most recent share, as a walk-forward fold would see it.
  const cut = Math.floor(data.matches.length * (1 - params.calibrationFraction));
  const tail = data.matches.length - cut;
  if (tail < MIN_CALIBRATION_MATCHES || cut < MIN_CALIBRATION_MATCHES) return names.map(() => 1);
  const slice = (from: number, to: number): Dataset => ({ X: data.X.slice(from, to), featureNames: data.featureNames, matches: data.matches.slice(from, to) });
  const head = slice(0, cut);
  const hold = slice(cut, data.matches.length);
  const outcomes = hold.matches.map((m) => (m.homeGoals! > m.awayGoals! ? 0 : m.homeGoals === m.awayGoals ? 1 : 2));
  const temperatures: number[] = [];
  for (const [k, name] of names.entries()) {
    const model = await fitMember(name, head, { seed: deriveSeed(options.seed, 100 + k), signal: options.signal });
    temperatures.push(fitTemperature(model.predict(hold), outcomes));
  }
  return temperatures;
}

/** Rebuild an ensemble (and its members) from its serialised form. */
export function loadEnsemble(serialized: SerializedModel, loadMember: MemberLoader): Model {
  const { state, params } = readState<z.infer<typeof stateSchema>, EnsembleParams>('ensemble', ENSEMBLE_PARAMS, serialized, stateSchema);
  if (state.weights.length !== state.members.length) throw new RangeError('invalid serialized ensemble model: one weight per member required');
  const members = state.members.map((m) => {
    if (m.kind === 'ensemble') throw new RangeError('invalid serialized ensemble model: nested ensembles are not supported');
    return loadMember(m as SerializedModel);
  });
  const temperatures = state.temperatures ?? members.map(() => 1);
  if (temperatures.length !== members.length || temperatures.some((t) => !(t > 0))) {
    throw new RangeError('invalid serialized ensemble model: one positive temperature per member required');
  }
  return new EnsembleModel(params, members, state.weights, temperatures);
}
