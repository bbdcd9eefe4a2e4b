/**
 * ONNX export and scoring of oracx models. Every model kind exports to ONE graph (IR 8, opset 17) from its raw inputs
 * to `probs` float32 [N, 3] = [P(home), P(draw), P(away)], with feature scaling and the final softmax/normalisation
 * inside the graph. Input conventions (also in docs/onnx.md and in each model's `oracx.input_conventions` metadata):
 *
 * - `features` float32 [N, F]: feature models (logreg, mlp, elo-ordered) and ensembles with such members; raw,
 *   unscaled values as the feature store produces them, columns in the model's featureNames order
 *   (`oracx.feature_names`; for an ensemble, the union of its members' features in order of first appearance).
 * - `home`, `away`, `competition` int64 [N]: Dixon–Coles and ensembles with a Dixon–Coles member; indices into the
 *   team vocabulary `oracx.teams` (store team ids, sorted) and `oracx.competitions`. Any index outside the vocabulary
 *   (conventionally its length) is an unseen team or competition and is scored exactly as the TS model scores one.
 *
 * onnxFeeds / OnnxScorer.scoreDataset build these from a Dataset, so callers never build tensors by hand. This module
 * loads onnxruntime-node: commands must import it lazily, inside the handler that needs it.
 */
export { exportOnnx, quantizable, type ExportOptions } from './export/index.js';
export { readOnnxMetadata, META_KEYS, METADATA_FORMAT, type OnnxMetadata, type OnnxInputSpec, type OnnxMemberInfo } from './metadata.js';
export { feedEncoder, onnxFeeds, type FeedEncoder, type FeedScratch, type OnnxFeeds } from './feeds.js';
export { DEFAULT_BATCH_SIZE, OnnxScorer, type ScoreDatasetOptions, type ScorerOptions } from './runtime.js';
export { keepInt8, meanRps, QUANTIZATION_RPS_TOLERANCE, quantizeDecision, type QuantizationDecision } from './quantize.js';
