/** The feature engine's public surface: definitions, the registry and computeFeatures. */
export { canonicalJson, defineFeatureSet, definitionHash, featureNames, validateDefinition } from './definition.js';
export type { FeatureSetDefinition, FeatureSetInput } from './definition.js';
export { computeFeatures, dayNumber, type FeatureMatrix } from './engine.js';
export { FEATURE_SETS, featureSetRef, parseFeatureSetRef } from './registry.js';
export type {
  EloMarginRule,
  EloParams,
  FeatureGroups,
  FormParams,
  H2hParams,
  MarketParams,
  PiParams,
  RestParams,
  ShotRatingParams,
  ShotStat,
} from './params.js';
