/** The model zoo registry: specs (params that also drive tuning), fit and load per model, and name-based dispatch. */
import { DIXON_COLES_PARAMS, DIXON_COLES_UPDATE_DAYS, fitDixonColes, loadDixonColes, type DixonColesParams } from './dixon-coles.js';
import { ELO_ORDERED_PARAMS, fitEloOrdered, loadEloOrdered, type EloOrderedParams } from './elo-ordered.js';
import { checkEnsembleParams, ENSEMBLE_PARAMS, ensembleMemberNames, fitEnsemble, loadEnsemble, updateEnsemble, type EnsembleParams } from './ensemble.js';
import { fitLogreg, LOGREG_PARAMS, loadLogreg, type LogregParams } from './logreg.js';
import { fitMlp, loadMlp, MLP_PARAMS, type MlpParams } from './mlp.js';
import { resolveWith } from './params.js';
import { parseSerializedModel } from './state.js';
import {
  UnknownModel,
  type Dataset,
  type FitOptions,
  type Model,
  type ModelName,
  type ParamSpec,
  type ParamValue,
  type ParamValues,
  type SerializedModel,
} from './types.js';

export * from './types.js';
export { describeParam } from './params.js';
export { initBackend, type BackendName } from './backend.js';
export type { DixonColesParams, EloOrderedParams, EnsembleParams, LogregParams, MlpParams };

/** One model of the zoo: what it is, its hyperparameters, and how to fit or load it. */
export interface ModelSpec<P extends ParamValues = ParamValues> {
  readonly name: ModelName;
  readonly description: string;
  readonly params: readonly ParamSpec[];
  /** Fit on data; missing params take their defaults, invalid ones throw InvalidParams. */
  fit(data: Dataset, params: Partial<P>, options: FitOptions): Promise<Model>;
  /** Rebuild a fitted model of this kind from serialize() output. */
  loadModel(serialized: SerializedModel): Model;
  /**
   * Days between in-season updates under `--walk-forward season`, for a model whose state only moves when it is
   * fitted (team strengths); absent when the features already carry each result (Elo, form) into the next forecast.
   */
  updateEvery?(params: ParamValues): number | undefined;
  /** The model brought up to date with `data` (every finished match before the new origin); absent = a full fit. */
  update?(model: Model, data: Dataset, options: FitOptions): Promise<Model>;
  /** Checks of resolved params that their specs cannot express (e.g. a list of member names); throws InvalidParams. */
  check?(params: ParamValues): void;
}

/** Model names in registry order. */
export const MODEL_NAMES: readonly ModelName[] = ['logreg', 'mlp', 'dixon-coles', 'elo-ordered', 'ensemble'];

// Seeds feed 32-bit PRNGs; a fractional or huge seed would be silently truncated into a collision.
function checkSeed(model: ModelName, options: FitOptions): void {
  if (!Number.isSafeInteger(options.seed)) throw new RangeError(`${model}: seed must be a safe integer, got ${options.seed}`);
}

/** A fit that checks the seed before fitting: every registry entry goes through this. */
function seeded<P extends ParamValues>(model: ModelName, fit: (data: Dataset, params: Partial<P>, options: FitOptions) => Promise<Model>): ModelSpec<P>['fit'] {
  return async (data, params, options) => {
    checkSeed(model, options);
    return fit(data, params, options);
  };
}

/** The registry, keyed by model name. */
export const MODELS: {
  readonly logreg: ModelSpec<LogregParams>;
  readonly mlp: ModelSpec<MlpParams>;
  readonly 'dixon-coles': ModelSpec<DixonColesParams>;
  readonly 'elo-ordered': ModelSpec<EloOrderedParams>;
  readonly ensemble: ModelSpec<EnsembleParams>;
} = {
  logreg: {
    name: 'logreg',
    description: 'multinomial logistic regression on standardised features (L2, optional time decay)',
    params: LOGREG_PARAMS,
    fit: seeded('logreg', fitLogreg),
    loadModel: loadLogreg,
  },
  mlp: {
    name: 'mlp',
    description: 'neural network with 1–2 ReLU hidden layers, dropout and early stopping (tfjs)',
    params: MLP_PARAMS,
    fit: seeded('mlp', fitMlp),
    loadModel: loadMlp,
  },
  'dixon-coles': {
    name: 'dixon-coles',
    description: 'Dixon–Coles Poisson team strengths with low-score correction and time decay, per competition',
    params: DIXON_COLES_PARAMS,
    fit: seeded('dixon-coles', fitDixonColes),
    loadModel: loadDixonColes,
    // Refitting is the update: a Newton fit takes tens of milliseconds.
    updateEvery: () => DIXON_COLES_UPDATE_DAYS,
  },
  'elo-ordered': {
    name: 'elo-ordered',
    description: 'ordered logit on a rating difference (elo_diff by default)',
    params: ELO_ORDERED_PARAMS,
    fit: seeded('elo-ordered', fitEloOrdered),
    loadModel: loadEloOrdered,
  },
  ensemble: {
    name: 'ensemble',
    description: 'weighted average of member models fitted on the same data',
    params: ENSEMBLE_PARAMS,
    check: (params) => checkEnsembleParams(params as EnsembleParams),
    fit: seeded('ensemble', (data, params, options) => fitEnsemble(data, params, options, (name, d, o) => getModel(name).fit(d, {}, o))),
    loadModel: (serialized) => loadEnsemble(serialized, loadModel),
    // As often as its most often updated member; an update refits only the members that need one.
    updateEvery: (params) => {
      const days = ensembleMemberNames(String(params.members)).flatMap((name) => getModel(name).updateEvery?.({}) ?? []);
      return days.length === 0 ? undefined : Math.min(...days);
    },
    update: (model, data, options) =>
      updateEnsemble(model, data, options, (name, member, d, o) =>
        getModel(name).updateEvery?.({}) === undefined ? null : updateModel(name, member, d, {}, o),
      ),
  },
};

/** The spec of a model by name; unknown names throw UnknownModel listing the valid ones. */
export function getModel(name: string): ModelSpec {
  if (!(MODEL_NAMES as readonly string[]).includes(name)) {
    throw new UnknownModel(`unknown model '${name}'; valid models: ${MODEL_NAMES.join(', ')}`);
  }
  return MODELS[name as ModelName] as ModelSpec;
}

/** Validate params for a model and fill in defaults; throws InvalidParams (or UnknownModel). */
export function resolveParams(name: string, given: Readonly<Record<string, ParamValue | undefined>>): ParamValues {
  const spec = getModel(name);
  const params = resolveWith(spec.name, spec.params, given);
  spec.check?.(params);
  return params;
}

/** Fit a model chosen by name (e.g. from a CLI flag). */
export async function fitModel(name: string, data: Dataset, params: Readonly<Record<string, ParamValue | undefined>>, options: FitOptions): Promise<Model> {
  const spec = getModel(name);
  return spec.fit(data, resolveWith(spec.name, spec.params, params), options);
}

/** Days between the model's in-season updates under `--walk-forward season` (see ModelSpec.updateEvery); undefined = none. */
export function updateEvery(name: string, params: Readonly<Record<string, ParamValue | undefined>>): number | undefined {
  const spec = getModel(name);
  return spec.updateEvery?.(resolveWith(spec.name, spec.params, params));
}

/** A fitted model brought up to date with `data` (its in-season update, else a full fit with `params`). */
export async function updateModel(
  name: string,
  model: Model,
  data: Dataset,
  params: Readonly<Record<string, ParamValue | undefined>>,
  options: FitOptions,
): Promise<Model> {
  const spec = getModel(name);
  if (spec.update) {
    checkSeed(spec.name, options);
    return spec.update(model, data, options);
  }
  return fitModel(name, data, params, options);
}

/** Rebuild any fitted model from serialize() output (or untrusted JSON of it). */
export function loadModel(serialized: SerializedModel | unknown): Model {
  const checked = parseSerializedModel(serialized);
  return getModel(checked.kind).loadModel(checked);
}
