/**
 * The description `oracx register` gives a new model version unless --description is passed: what a reader of the
 * version page in MLflow's UI wants first (what model, trained on what, how good, exported how faithfully).
 */

/** MLflow's SQL store keeps model version descriptions in a VARCHAR(5000) column (SqlModelVersion.description). */
export const DESCRIPTION_LIMIT = 5000;

/** What the description is made of, all known at registration. */
export interface VersionFacts {
  modelKind: string;
  featureSet: string;
  runId: number;
  mlflowRunId: string | null;
  competitions: string[];
  trainFrom: string | null;
  trainUntil: string | null;
  nMatches: number;
  train: { rps?: number; logLoss?: number; accuracy?: number };
  /** Params the fit chose itself (l2=auto), with the hold-out figures of the choice. */
  auto?: Record<string, { value: number; method: string; grid?: number[]; valRps?: number[] }>;
  params?: Record<string, unknown>;
  parity: { rows: number; maxAbsDiff: number };
  quantization?: { kept: boolean; rpsFloat: number; rpsInt8: number };
}

const f4 = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '—');

/** Validation RPS of the value an auto param settled on, when the choice was made on a hold-out. */
function validationRps(auto: VersionFacts['auto']): string | undefined {
  for (const [name, c] of Object.entries(auto ?? {})) {
    if (c.method !== 'validation' || !c.grid || !c.valRps) continue;
    const i = c.grid.indexOf(c.value);
    if (i >= 0 && typeof c.valRps[i] === 'number') return `validation RPS ${f4(c.valRps[i])} (hold-out at the end of the window, ${name}=${c.value})`;
  }
  return undefined;
}

/** A few lines of Markdown (MLflow renders it), at most DESCRIPTION_LIMIT characters. */
export function describeVersion(v: VersionFacts): string {
  const window = `${v.trainFrom ?? 'start'} … ${v.trainUntil ?? 'end'}`;
  const auto = Object.entries(v.auto ?? {}).map(([k, c]) => `${k}=${c.value}${c.method === 'fallback' ? ' (fallback)' : ' (auto)'}`);
  const pinned = Object.entries(v.params ?? {})
    .filter(([k, x]) => !(k in (v.auto ?? {})) && (typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean'))
    .map(([k, x]) => `${k}=${String(x)}`);
  const lines = [
    `${v.modelKind} on feature set ${v.featureSet}, trained by oracx run ${v.runId}${v.mlflowRunId ? ` (MLflow run ${v.mlflowRunId})` : ''}.`,
    `Training window: ${v.competitions.join(', ') || '—'}, ${window}, ${v.nMatches} matches.`,
    `Train RPS ${f4(v.train.rps)}, log loss ${f4(v.train.logLoss)}, accuracy ${f4(v.train.accuracy)}${validationRps(v.auto) ? `; ${validationRps(v.auto)}` : ''}.`,
    ...(auto.length || pinned.length ? [`Params: ${[...auto, ...pinned].join(', ')}.`] : []),
    `ONNX parity: max |Δp| ${v.parity.maxAbsDiff.toExponential(1)} on ${v.parity.rows} training rows.`,
    ...(v.quantization
      ? [
          `int8 weights ${v.quantization.kept ? 'kept' : 'tried, not kept'}: RPS ${v.quantization.rpsFloat.toFixed(5)} float vs ${v.quantization.rpsInt8.toFixed(5)} int8.`,
        ]
      : []),
  ];
  const text = lines.join('\n\n');
  return text.length <= DESCRIPTION_LIMIT ? text : `${text.slice(0, DESCRIPTION_LIMIT - 1)}…`;
}
