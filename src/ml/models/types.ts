/** The model-zoo contract: datasets in, fitted models out, serialised models back in. */
import type { MatchFact, Probs } from '../types.js';

/** Names of the models in the zoo. */
export type ModelName = 'logreg' | 'mlp' | 'dixon-coles' | 'elo-ordered' | 'ensemble';

/** A hyperparameter value as it travels through configs, CLI flags and MLflow. */
export type ParamValue = number | string | boolean;

/** A full or partial set of hyperparameters keyed by name. */
export type ParamValues = Record<string, ParamValue>;

/** Features and matches seen by a model. */
export interface Dataset {
  /** One feature row per match (same order as matches); may be empty arrays for models that ignore features. */
  X: Float64Array[];
  featureNames: string[];
  matches: MatchFact[];
}

/** Progress of one training epoch (or optimiser iteration for the plain-TS models). */
export interface EpochLog {
  epoch: number;
  loss: number;
  valLoss?: number;
  /** The norm of the objective's gradient, where the optimiser has it. */
  gradNorm?: number;
  /**
   * Whose curve this is when a fit draws several (a Dixon–Coles competition, an ensemble member): trackers prefix
   * its metric keys with it ('E0' gives E0.loss). Absent for the model's own single curve.
   */
  series?: string;
}

/** How a fit runs: the seed makes it reproducible, the signal makes it interruptible. */
export interface FitOptions {
  seed: number;
  onEpoch?: (log: EpochLog) => void;
  /** Something the caller should know about a choice the fit made (e.g. l2=auto fell back on a small window); fits never print. */
  onWarning?: (message: string) => void;
  /** How a fit chose something the caller may want to read (e.g. what the ensemble combined); fits never print. */
  onInfo?: (message: string) => void;
  signal?: AbortSignal;
}

/** What a fit chose for a hyperparameter given as 'auto', and on what evidence; kept in the model file. */
export interface AutoChoice {
  /** The value the final fit used (also the model's param value). */
  value: number;
  /** 'validation': best on a chronological hold-out at the end of the training window; 'fallback': too few matches for one. */
  method: 'validation' | 'fallback';
  /** One sentence: how the value was chosen, for logs, MLflow and `models show`. */
  summary: string;
  /** Validation only: candidate values, in increasing order… */
  grid?: number[];
  /** …their mean (sample-weighted) log loss on the hold-out, which picks the winner… */
  valLogLoss?: number[];
  /** …and their RPS there, for information. */
  valRps?: number[];
  /** The grid value that won (value is it rescaled to the whole window when the model refits on it). */
  best?: number;
  fitMatches?: number;
  validationMatches?: number;
  /** First date of the hold-out. */
  validationFrom?: string;
}

/** A fitted model as plain JSON: enough to rebuild it with `loadModel`. */
export interface SerializedModel {
  kind: ModelName;
  formatVersion: 1;
  params: ParamValues;
  featureNames: string[];
  /** JSON-able weights etc., owned by the model kind. */
  state: unknown;
}

/** A fitted model: a pure function from matches (and their features) to 1x2 probabilities. */
export interface Model {
  readonly kind: ModelName;
  /** The values the fit used: an 'auto' param holds the value it chose. */
  readonly params: Readonly<ParamValues>;
  /** Params the fit chose itself (given as 'auto'), by name; absent when none was. */
  readonly auto?: Readonly<Record<string, AutoChoice>>;
  predict(data: Dataset): Probs[];
  serialize(): SerializedModel;
}

/**
 * Numeric hyperparameter; `log` tells a tuner to sample on a log scale (then min > 0). With `auto`, the string 'auto'
 * is accepted too (and may be the default): the fit chooses the value itself. Tuners only sample numbers.
 */
export interface NumericParamSpec {
  name: string;
  type: 'int' | 'float';
  default: number | 'auto';
  min: number;
  max: number;
  log?: boolean;
  auto?: boolean;
  /**
   * The range `tune` samples by default when narrower than what is valid (e.g. a penalty valid from 0 but searched on
   * a log scale); `--space` overrides may still use the whole valid range.
   */
  search?: { min: number; max: number; log: boolean };
  description: string;
}

/** Hyperparameter with a fixed set of values. */
export interface CategoricalParamSpec {
  name: string;
  type: 'categorical';
  default: string;
  choices: readonly string[];
  description: string;
}

/** Free-form hyperparameter (comma lists of members, feature names); not tunable. */
export interface StringParamSpec {
  name: string;
  type: 'string';
  default: string;
  description: string;
}

/** One hyperparameter: the same specs validate user input and drive tuning. */
export type ParamSpec = NumericParamSpec | CategoricalParamSpec | StringParamSpec;

/** Training produced a non-finite loss; the message names the model, epoch and loss. */
export class TrainingDiverged extends Error {
  override readonly name = 'TrainingDiverged';
  constructor(
    readonly model: ModelName,
    readonly epoch: number,
    readonly loss: number,
    hint = '',
  ) {
    super(`${model} training diverged at epoch ${epoch}: loss is ${loss}${hint ? `. ${hint}` : ''}`);
  }
}

/** Unknown parameter names or out-of-range values; the message lists the valid names with ranges. */
export class InvalidParams extends Error {
  override readonly name = 'InvalidParams';
}

/** A model name that is not in the registry; the message lists the valid names. */
export class UnknownModel extends Error {
  override readonly name = 'UnknownModel';
}
