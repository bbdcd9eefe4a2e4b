/** exportOnnx: any fitted oracx model → one ONNX graph from its raw inputs to probs [N, 3], with oracx metadata. */
import type { DixonColesState } from '../../ml/models/dixon-coles.js';
import { loadModel, MODEL_NAMES, resolveParams } from '../../ml/models/index.js';
import { UnknownModel, type Model, type ModelName, type SerializedModel } from '../../ml/models/types.js';
import { attr, dataType, GraphBuilder } from '../graph.js';
import { describeInputs, METADATA_FORMAT, metadataProps, type OnnxInputSpec, type OnnxMemberInfo } from '../metadata.js';
import { INPUT, OUTPUT, type ExportContext, type ProbsValue, type Vocabulary } from './common.js';
import { buildDixonColes } from './dixon-coles.js';
import { buildEloOrdered, type EloOrderedState } from './elo-ordered.js';
import { buildEnsemble, type EnsembleState } from './ensemble.js';
import { buildLogreg, type LogregState } from './logreg.js';
import { buildMlp, type MlpState } from './mlp.js';

/** Options of exportOnnx. */
export interface ExportOptions {
  /** The feature set the model was trained on (e.g. 'core@1'), recorded in the metadata. */
  featureSet?: string;
  /** Store the weight matrices of logreg/mlp (also inside an ensemble) as int8; see quantizeDecision. */
  quantize?: boolean;
  /** The ModelProto doc_string; defaults to a one-line description. */
  docString?: string;
}

const FEATURE_KINDS: readonly ModelName[] = ['logreg', 'mlp', 'elo-ordered'];
const WEIGHT_MATRIX_KINDS: readonly ModelName[] = ['logreg', 'mlp'];

function isModel(x: Model | SerializedModel): x is Model {
  return typeof (x as Partial<Model>).predict === 'function' && typeof (x as Partial<Model>).serialize === 'function';
}

/** The model and, for an ensemble, its members: the single models whose subgraphs make up the graph. */
function leaves(s: SerializedModel): SerializedModel[] {
  if (s.kind !== 'ensemble') return [s];
  const members = (s.state as Partial<EnsembleState> | null)?.members;
  return Array.isArray(members) ? members : [];
}

/** The union of the Dixon–Coles teams and competitions, sorted (so the vocabulary does not depend on fit order). */
function vocabularyOf(states: readonly DixonColesState[]): Vocabulary {
  const teams = new Set<number>();
  const competitions = new Set<string>();
  for (const st of states) {
    for (const [name, comp] of Object.entries(st.competitions)) {
      competitions.add(name);
      for (const t of comp.teams) teams.add(t);
    }
  }
  return { teams: [...teams].sort((a, b) => a - b), competitions: [...competitions].sort() };
}

/** The kind dispatch; states were validated by loadModel before any graph is built. */
function buildModel(ctx: ExportContext, s: SerializedModel): ProbsValue {
  switch (s.kind) {
    case 'logreg':
      return buildLogreg(ctx, s.featureNames, s.state as LogregState);
    case 'mlp':
      return buildMlp(ctx, s.featureNames, s.state as MlpState);
    case 'elo-ordered':
      return buildEloOrdered(ctx, s.featureNames, s.state as EloOrderedState);
    case 'dixon-coles':
      return buildDixonColes(ctx, s.state as DixonColesState, Number(resolveParams('dixon-coles', s.params).maxGoals));
    case 'ensemble':
      return buildEnsemble(ctx, s.state as EnsembleState, buildModel);
  }
}

function inputSpecs(featureNames: readonly string[] | null, vocab: Vocabulary | null): OnnxInputSpec[] {
  const specs: OnnxInputSpec[] = [];
  if (featureNames !== null) {
    specs.push({
      name: INPUT.features,
      type: 'float32',
      shape: ['N', featureNames.length],
      description:
        'raw (unscaled) feature values as the feature store produces them, columns in the order of oracx.feature_names; scaling happens inside the graph',
    });
  }
  if (vocab !== null) {
    const V = vocab.teams.length;
    const C = vocab.competitions.length;
    for (const side of [INPUT.home, INPUT.away]) {
      specs.push({
        name: side,
        type: 'int64',
        shape: ['N'],
        description: `${side} team as an index into oracx.teams (store team ids, ${V} teams); any index outside [0, ${V}), conventionally ${V}, is a team the model has not seen and gets its new-team prior`,
      });
    }
    specs.push({
      name: INPUT.competition,
      type: 'int64',
      shape: ['N'],
      description: `competition as an index into oracx.competitions (${C} competitions); any index outside [0, ${C}), conventionally ${C}, is a competition the model has not seen (average teams, match-weighted mean intercept, home advantage and rho)`,
    });
  }
  return specs;
}

/** Whether exportOnnx(model, { quantize: true }) applies: the model is, or has a member that is, a logreg or mlp. */
export function quantizable(model: Model | SerializedModel): boolean {
  const s = isModel(model) ? model.serialize() : model;
  return (MODEL_NAMES as readonly string[]).includes(s.kind) && leaves(s).some((p) => WEIGHT_MATRIX_KINDS.includes(p.kind));
}

/**
 * Export a fitted model (or its serialised form) as ONNX bytes: IR 8, opset 17, inputs as in docs/onnx.md, output
 * `probs` float32 [N, 3]. The same model and options always give the same bytes. Throws UnknownModel for an unknown
 * kind and RangeError for a model that cannot be exported (invalid state, a feature model without features).
 */
export function exportOnnx(model: Model | SerializedModel, options: ExportOptions = {}): Uint8Array {
  const given = isModel(model) ? model.serialize() : model;
  const kind: unknown = typeof given === 'object' && given !== null ? (given as { kind?: unknown }).kind : undefined;
  if (typeof kind !== 'string' || !(MODEL_NAMES as readonly string[]).includes(kind)) {
    throw new UnknownModel(`cannot export model kind '${String(kind)}' to ONNX; known kinds: ${MODEL_NAMES.join(', ')}`);
  }
  // Loading validates the state (and every member's) and fills in default params; its serialisation is what we build from.
  const s = loadModel(given).serialize();
  const parts = leaves(s);
  for (const p of parts) {
    if (FEATURE_KINDS.includes(p.kind) && p.featureNames.length === 0) {
      const where = p === s ? 'the model' : `its ${p.kind} member`;
      throw new RangeError(
        `cannot export ${s.kind} to ONNX: ${where} has no features, so there is no [N, F] input to score from; fit it on at least one feature`,
      );
    }
  }
  const quantize = options.quantize ?? false;
  if (quantize && !parts.some((p) => WEIGHT_MATRIX_KINDS.includes(p.kind))) {
    throw new RangeError(`cannot quantise a ${s.kind} model: only logreg and mlp weight matrices are stored as int8, and it has none`);
  }
  const dc = parts.filter((p) => p.kind === 'dixon-coles').map((p) => p.state as DixonColesState);
  const vocabulary = dc.length > 0 ? vocabularyOf(dc) : null;
  const featureNames = parts.some((p) => FEATURE_KINDS.includes(p.kind)) ? s.featureNames : null;

  const g = GraphBuilder.create();
  const inputs = inputSpecs(featureNames, vocabulary);
  for (const i of inputs) g.input(i.name, i.type, i.shape, i.description);
  const out = buildModel({ g, featureNames: featureNames ?? [], vocabulary, quantize }, s);
  if (out.type === 'float32') g.op('Identity', [out.name], {}, OUTPUT);
  else g.op('Cast', [out.name], { to: attr.int(dataType('float32')) }, OUTPUT);
  g.output(OUTPUT, 'float32', ['N', 3], '[P(home win), P(draw), P(away win)] per row');

  const ensemble = s.kind === 'ensemble' ? (s.state as EnsembleState) : null;
  const members: OnnxMemberInfo[] | null =
    ensemble?.members.map((m, k) => ({
      kind: m.kind,
      weight: ensemble.weights[k]!,
      temperature: ensemble.temperatures?.[k] ?? 1,
      featureNames: m.featureNames,
    })) ?? null;
  const conventions = describeInputs(inputs);
  const metadata = metadataProps({
    kind: s.kind,
    format: METADATA_FORMAT,
    featureNames: featureNames ?? [],
    featureSet: options.featureSet ?? null,
    inputs,
    conventions,
    teams: vocabulary?.teams ?? null,
    competitions: vocabulary?.competitions ?? null,
    quantized: out.quantized,
    members,
    params: s.params,
  });
  return g.encode({
    graphName: `oracx_${s.kind.replace('-', '_')}`,
    docString: options.docString ?? `oracx ${s.kind} model: ${inputs.map((i) => i.name).join(', ')} → probs [N, 3] = [P(home), P(draw), P(away)]`,
    producerVersion: `oracx-onnx-metadata/${METADATA_FORMAT}`,
    metadata,
  });
}
