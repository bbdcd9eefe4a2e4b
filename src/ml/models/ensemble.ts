/**
 * Combines member models fitted on the same data (derived seeds): by default a logarithmic pool whose weights are
 * learnt on a chronological hold-out (stacking, see log-pool.ts); or a weighted average of temperature-calibrated
 * probabilities with given weights.
 */
import { z } from 'zod';
import type { Probs } from '../types.js';
import { fitLogPool, LOG_FLOOR, poolProbs, type LogPool } from './log-pool.js';
import { deriveSeed, finishProbs } from './numeric.js';
import { commaList, resolveWith } from './params.js';
import { numbers, readState, serializedModelSchema } from './state.js';
import { InvalidParams, type AutoChoice, type Dataset, type FitOptions, type Model, type ModelName, type ParamSpec, type SerializedModel } from './types.js';

/** Hyperparameters of ensemble (members use their own defaults). */
export type EnsembleParams = { members: string; combine: string; anchor: string; weights: string; calibrate: string; calibrationFraction: number };

/** Parameter specs of ensemble. */
export const ENSEMBLE_PARAMS: readonly ParamSpec[] = [
  { name: 'members', type: 'string', default: 'dixon-coles,elo-ordered,logreg', description: 'comma list of member models (not ensemble)' },
  {
    name: 'combine',
    type: 'categorical',
    default: 'stack',
    choices: ['stack', 'average'],
    description: 'stack: log-probabilities pooled with weights learnt on a chronological hold-out; average: weighted mean of probabilities',
  },
  {
    name: 'anchor',
    type: 'string',
    default: 'auto',
    description:
      'combine=stack: the member the ensemble is unless the pool or another member beats it out of fold by more than one standard error; auto: logreg when it is a member, else as best; best: the member with the lowest inner-validation loss',
  },
  { name: 'weights', type: 'string', default: '', description: 'combine=average: comma list of non-negative weights, one per member; empty = equal' },
  {
    name: 'calibrate',
    type: 'categorical',
    default: 'temperature',
    choices: ['temperature', 'none'],
    description: 'combine=average: calibrate each member before averaging, with a temperature fitted on a chronological hold-out tail',
  },
  {
    name: 'calibrationFraction',
    type: 'float',
    default: 0.2,
    min: 0.05,
    max: 0.5,
    description: 'combine=average: share of the latest training matches held out to learn the temperatures',
  },
];

/**
 * The member an `anchor=auto` ensemble stays with unless the evidence is clear: logreg, the best member on the choosing
 * half of bench/quality's transfer protocol (E0 E1 D1) and wherever else it was measured.
 */
const DEFAULT_ANCHOR: ModelName = 'logreg';

/** Fewest hold-out matches worth fitting a temperature on; with fewer, members stay uncalibrated (T = 1). */
const MIN_CALIBRATION_MATCHES = 100;

const MEMBER_NAMES: readonly ModelName[] = ['logreg', 'mlp', 'dixon-coles', 'elo-ordered'];

const stateSchema = z.object({
  members: z.array(serializedModelSchema).min(1),
  weights: numbers.min(1),
  temperatures: numbers.optional(),
  // Absent in ensembles saved before stacking existed: those average.
  combine: z.enum(['stack', 'average']).optional(),
});

/** Probabilities sharpened (T < 1) or softened (T > 1): p_k^(1/T), renormalised. */
export function temper(p: Probs, t: number): [number, number, number] {
  if (t === 1) return [p[0], p[1], p[2]];
  const q = p.map((v) => Math.max(v, 1e-12) ** (1 / t));
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

/** How the members' forecasts are combined. */
type Combination = { combine: 'average'; weights: number[]; temperatures: number[] } | { combine: 'stack'; weights: number[] };

class EnsembleModel implements Model {
  readonly kind = 'ensemble' as const;
  /** Members' auto choices, keyed '<member>.<param>' (e.g. 'logreg.l2'). */
  readonly auto?: Readonly<Record<string, AutoChoice>>;
  constructor(
    readonly params: Readonly<EnsembleParams>,
    readonly members: readonly Model[],
    readonly how: Combination,
  ) {
    const auto = Object.fromEntries(members.flatMap((m) => Object.entries(m.auto ?? {}).map(([k, v]) => [`${m.kind}.${k}`, v] as const)));
    if (Object.keys(auto).length > 0) this.auto = auto;
  }

  predict(data: Dataset): Probs[] {
    const how = this.how;
    if (how.combine === 'stack') {
      const all = this.members.map((m) => m.predict(data));
      return data.matches.map((_, i) => {
        const p = poolProbs(
          all.map((preds) => preds[i]!),
          how,
        );
        return finishProbs(p[0], p[1], p[2], 'ensemble');
      });
    }
    const all = this.members.map((m, k) => m.predict(data).map((p) => temper(p, how.temperatures[k]!)));
    return data.matches.map((_, i) => {
      const p = [0, 0, 0];
      all.forEach((preds, k) => {
        for (let c = 0; c < 3; c++) p[c]! += how.weights[k]! * preds[i]![c]!;
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
      state:
        this.how.combine === 'stack'
          ? { members, combine: 'stack', weights: [...this.how.weights] }
          : { members, combine: 'average', weights: [...this.how.weights], temperatures: [...this.how.temperatures] },
    };
  }
}

/** The valid member names a members list names (fitting reports the invalid ones). */
export function ensembleMemberNames(members: string): ModelName[] {
  return commaList(members).filter((n): n is ModelName => (MEMBER_NAMES as readonly string[]).includes(n));
}

/** Throws InvalidParams when members, anchor or weights are not usable together (before any fit). */
export function checkEnsembleParams(params: EnsembleParams): void {
  parseMembers(params);
}

/** Member names and normalised weights from params; throws InvalidParams naming the valid members. */
function parseMembers(params: EnsembleParams): { names: ModelName[]; weights: number[] } {
  const names = commaList(params.members);
  const bad = names.filter((n) => !(MEMBER_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) {
    throw new InvalidParams(`ensemble: members '${params.members}' must list models from: ${MEMBER_NAMES.join(', ')}`);
  }
  const anchor = params.anchor.trim();
  if (params.combine === 'stack' && !['auto', 'best', ...names].includes(anchor)) {
    throw new InvalidParams(`ensemble: anchor '${params.anchor}' must be auto, best or one of the members (${names.join(', ')})`);
  }
  if (params.combine === 'stack' && params.weights.trim() !== '') {
    throw new InvalidParams(`ensemble: weights '${params.weights}' apply to combine=average; combine=stack learns its own (pass combine=average to fix them)`);
  }
  const raw = params.weights.trim() === '' ? names.map(() => 1) : commaList(params.weights).map(Number);
  const total = raw.reduce((s, w) => s + w, 0);
  if (raw.length !== names.length || raw.some((w) => !(Number.isFinite(w) && w >= 0)) || !(total > 0)) {
    throw new InvalidParams(
      `ensemble: weights '${params.weights}' must be ${names.length} non-negative numbers with a positive sum (or empty for equal weights)`,
    );
  }
  return { names: names as ModelName[], weights: raw.map((w) => w / total) };
}

/** Fits one member, naming it when it fails (the ensemble's run fails with it: nothing half-made is kept). */
async function fitNamed(fitMember: MemberFitter, name: ModelName, data: Dataset, options: FitOptions): Promise<Model> {
  try {
    return await fitMember(name, data, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw Object.assign(new Error(`ensemble member ${name} failed to fit: ${reason}`, { cause: error }), { member: name });
  }
}

/** Fit every member on data; member k gets seed deriveSeed(seed, k). */
export async function fitEnsemble(data: Dataset, given: Partial<EnsembleParams>, options: FitOptions, fitMember: MemberFitter): Promise<Model> {
  const params = resolveWith<EnsembleParams>('ensemble', ENSEMBLE_PARAMS, given);
  const { names, weights } = parseMembers(params);
  let how: Combination;
  if (params.combine === 'stack') how = { combine: 'stack', ...(await learnPool(data, names, params, options, fitMember)) };
  else {
    const temperatures = params.calibrate === 'temperature' ? await memberTemperatures(data, names, params, options, fitMember) : names.map(() => 1);
    how = { combine: 'average', weights, temperatures };
  }
  const members: Model[] = [];
  const series = memberSeries(names);
  // Sequential on purpose: members may share the tfjs backend, and order must not depend on timing.
  for (const [k, name] of names.entries()) {
    const onEpoch = options.onEpoch;
    // Each member's fit is a curve of its own, under its name (logreg.loss, dixon-coles.E0.loss); the inner folds'
    // fits are not logged: they are the evidence for the pool, not the model.
    const memberOptions: FitOptions = { seed: deriveSeed(options.seed, k), signal: options.signal, onWarning: options.onWarning };
    if (onEpoch) memberOptions.onEpoch = (log) => onEpoch({ ...log, series: log.series === undefined ? series[k]! : `${series[k]!}.${log.series}` });
    members.push(await fitNamed(fitMember, name, data, memberOptions));
  }
  return new EnsembleModel(params, members, how);
}

/** The prefix of each member's curves: its name, with its position when the list names it more than once (logreg_2; MLflow keys allow no #). */
function memberSeries(names: readonly ModelName[]): string[] {
  return names.map((name, k) => (names.indexOf(name) === names.lastIndexOf(name) ? name : `${name}_${k + 1}`));
}

/** A training window cut in date order: members are fitted on `head` and judged on `hold`. */
interface HoldOut {
  head: Dataset;
  hold: Dataset;
  outcomes: number[];
}

function slice(data: Dataset, from: number, to: number): Dataset {
  return { X: data.X.slice(from, to), featureNames: data.featureNames, matches: data.matches.slice(from, to) };
}

function cutAt(data: Dataset, at: number, to = data.matches.length): HoldOut {
  const hold = slice(data, at, to);
  const outcomes = hold.matches.map((m) => (m.homeGoals! > m.awayGoals! ? 0 : m.homeGoals === m.awayGoals ? 1 : 2));
  return { head: slice(data, 0, at), hold, outcomes };
}

/** The latest `fraction` of the matches held out (the temperatures' hold-out), or null when too short. */
function holdOut(data: Dataset, fraction: number): HoldOut | null {
  const n = data.matches.length;
  const cut = Math.floor(n * (1 - fraction));
  return n - cut >= MIN_CALIBRATION_MATCHES && cut >= MIN_CALIBRATION_MATCHES ? cutAt(data, cut) : null;
}

/** How many of the window's latest seasons the pool is learnt on. */
const POOL_SEASONS = 3;

/** Seasons a member must have been fitted on before its season-ahead forecasts count as evidence for the pool. */
const POOL_MIN_FIT_SEASONS = 2;

/**
 * Rolling-origin inner validation for the pool: each of the window's last POOL_SEASONS seasons is forecast by members
 * fitted on everything before it, a whole season ahead, as a model fitted at a season's start must (so a static-rating
 * model shows how it ages). Several seasons, because one season's luck would otherwise pick the weights. Only seasons
 * with at least POOL_MIN_FIT_SEASONS before them count: members fitted on a single season misjudge a member that
 * learns from features (in a short-history store, logreg fitted on one season lost to elo-ordered there and beat it
 * once fitted on two; bench/RESULTS.md), so the pool would lean on the wrong member.
 */
function poolFolds(data: Dataset): HoldOut[] {
  const starts: number[] = [];
  data.matches.forEach((m, i) => {
    if (i === 0 || m.season !== data.matches[i - 1]!.season) starts.push(i);
  });
  const n = data.matches.length;
  const folds: HoldOut[] = [];
  for (let s = Math.max(POOL_MIN_FIT_SEASONS, starts.length - POOL_SEASONS); s < starts.length; s++) {
    const at = starts[s]!;
    const to = starts[s + 1] ?? n;
    if (at >= MIN_CALIBRATION_MATCHES && to - at >= MIN_CALIBRATION_MATCHES / 2) folds.push(cutAt(data, at, to));
  }
  return folds;
}

/**
 * Pooling weights learnt on the inner folds' forecasts (a pool needs two inner folds, see choosePool). With too short
 * a history for any inner fold (fewer than POOL_MIN_FIT_SEASONS + 1 seasons), there is no evidence to learn from: the
 * anchor alone, or with `anchor=best` (nothing to rank members by) the plain geometric mean (w = 1/K).
 */
async function learnPool(data: Dataset, names: ModelName[], params: EnsembleParams, options: FitOptions, fitMember: MemberFitter): Promise<LogPool> {
  const anchorName = params.anchor.trim() === 'auto' ? DEFAULT_ANCHOR : params.anchor.trim();
  const anchor = names.indexOf(anchorName as ModelName);
  const folds = poolFolds(data);
  if (folds.length === 0) {
    const weights = names.map((_, k) => (anchor < 0 ? 1 / names.length : k === anchor ? 1 : 0));
    const what = anchor < 0 ? 'the geometric mean of its members' : `${names[anchor]} alone`;
    options.onInfo?.(`ensemble: ${what}: the training window has too few seasons to learn a pool from (${POOL_MIN_FIT_SEASONS + 2} needed)`);
    return { weights };
  }
  // preds[k][f]: member k's forecasts of inner fold f.
  const preds: Probs[][][] = names.map(() => []);
  for (const [f, fold] of folds.entries()) {
    for (const [k, name] of names.entries()) {
      const model = await fitNamed(fitMember, name, fold.head, { seed: deriveSeed(options.seed, 100 + 10 * f + k), signal: options.signal });
      preds[k]!.push(model.predict(fold.hold));
    }
  }
  const choice = choosePool(
    preds,
    folds.map((f) => f.outcomes),
    anchor < 0 ? undefined : anchor,
  );
  options.onInfo?.(`ensemble: ${describePool(names, choice.weights)}: ${choice.reason}`);
  return { weights: choice.weights };
}

/** "logreg alone", or "pool of dixon-coles 0.12, elo-ordered 0.05, logreg 0.83". */
function describePool(names: readonly ModelName[], weights: readonly number[]): string {
  const used = weights.filter((w) => w > 0).length;
  if (used === 1) return `${names[weights.findIndex((w) => w > 0)]} alone`;
  return `pool of ${names.map((n, k) => `${n} ${weights[k]!.toFixed(2)}`).join(', ')}`;
}

/**
 * The combination out of the inner folds' forecasts (`preds[k][f][i]`: member k, fold f, match i): the pool fitted on
 * every fold, or the anchor member alone. The pool is judged out of fold (each inner season scored by a pool fitted on
 * the others) against the anchor, match by match; the ensemble pools only when the pool's log loss is lower by more
 * than one standard error of that paired difference (the one-standard-error rule). So inner matches that cannot tell
 * members apart leave the ensemble its anchor rather than a pool that won by luck; and no member replaces the anchor
 * alone (a member far better than the anchor gets the pool's weight). A single inner season is no evidence for a pool:
 * cut into halves it let pools through that then lost (bench/RESULTS.md), so the anchor alone. Without an anchor, the
 * member with the lowest inner loss.
 */
export function choosePool(preds: readonly (readonly Probs[][])[], outcomes: readonly number[][], anchor?: number): LogPool & { reason: string } {
  const ys = outcomes.flat();
  const loss = (p: Probs, y: number) => -Math.log(Math.max(p[y]!, LOG_FLOOR));
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  // Per-match log losses in fold order: members, then the out-of-fold pool.
  const member = preds.map((p) => p.flat().map((q, i) => loss(q, ys[i]!)));
  const a = anchor ?? member.map(mean).reduce((best, m, k, all) => (m < all[best]! ? k : best), 0);
  const weights = preds.map((_, k) => (k === a ? 1 : 0));
  if (outcomes.length < 2) return { weights, reason: 'one inner season is too little evidence for a pool (two needed)' };
  const pool: number[] = [];
  outcomes.forEach((fold, f) => {
    const others = (k: number) => preds[k]!.filter((_, j) => j !== f).flat();
    const fitted = fitLogPool(
      preds.map((_, k) => others(k)),
      outcomes.filter((_, j) => j !== f).flat(),
    );
    fold.forEach((y, i) => {
      pool.push(
        loss(
          poolProbs(
            preds.map((p) => p[f]![i]!),
            fitted,
          ),
          y,
        ),
      );
    });
  });
  const d = pool.map((l, i) => l - member[a]![i]!);
  const m = mean(d);
  const se = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, d.length - 1) / d.length);
  const against = anchor === undefined ? 'the best member' : 'the anchor';
  const evidence = `out of fold over ${outcomes.length} inner seasons, the pool's log loss was ${m.toFixed(4)} ± ${se.toFixed(4)} against ${against} alone`;
  if (m < -se)
    return {
      ...fitLogPool(
        preds.map((p) => p.flat()),
        ys,
      ),
      reason: `${evidence}, better by more than one standard error`,
    };
  return { weights, reason: `${evidence}, not better by more than one standard error` };
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
  return new EnsembleModel(model.params, members, model.how);
}

/** One temperature per member: members fitted without the latest matches, tempered to fit those matches best. */
async function memberTemperatures(data: Dataset, names: ModelName[], params: EnsembleParams, options: FitOptions, fitMember: MemberFitter): Promise<number[]> {
  const split = holdOut(data, params.calibrationFraction);
  if (!split) return names.map(() => 1);
  const temperatures: number[] = [];
  for (const [k, name] of names.entries()) {
    const model = await fitNamed(fitMember, name, split.head, { seed: deriveSeed(options.seed, 100 + k), signal: options.signal });
    temperatures.push(fitTemperature(model.predict(split.hold), split.outcomes));
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
  if (state.combine === 'stack') {
    if (state.weights.some((w) => !(w >= 0))) throw new RangeError('invalid serialized ensemble model: stacking needs non-negative weights');
    return new EnsembleModel(params, members, { combine: 'stack', weights: state.weights });
  }
  const temperatures = state.temperatures ?? members.map(() => 1);
  if (temperatures.length !== members.length || temperatures.some((t) => !(t > 0))) {
    throw new RangeError('invalid serialized ensemble model: one positive temperature per member required');
  }
  return new EnsembleModel(params, members, { combine: 'average', weights: state.weights, temperatures });
}
