/** Quality gates for `evaluate --gate`: "rps<=0.205", "logloss<bookmaker+0.01", "accuracy>=0.5". */
import type { MetricSummary } from './report-types.js';

export const GATE_METRICS = { rps: 'rps', logloss: 'logLoss', brier: 'brier', accuracy: 'accuracy', ece: 'ece' } as const;
export type GateMetric = keyof typeof GATE_METRICS;
export const GATE_BASELINES = ['bookmaker', 'naive', 'elo'] as const;
/** A figure a gate can compare with: a baseline of evaluate, or (in promotion gates) the current champion. */
export type GateBaseline = (typeof GATE_BASELINES)[number] | 'champion';
type Op = '<=' | '<' | '>=' | '>';

export interface Gate {
  text: string;
  metric: GateMetric;
  op: Op;
  /** Absolute threshold, or a baseline's value plus an offset. */
  threshold: { kind: 'value'; value: number } | { kind: 'baseline'; baseline: GateBaseline; offset: number };
}

export interface GateOutcome {
  gate: string;
  passed: boolean;
  actual: number;
  threshold: number;
}

/**
 * Parses one gate expression; throws an Error explaining the grammar on bad input. `baselines` are the names a
 * threshold may refer to (promotion gates add "champion").
 */
export function parseGate(text: string, baselines: readonly GateBaseline[] = GATE_BASELINES): Gate {
  const example = baselines.includes('champion') ? 'rps<=champion' : 'rps<=bookmaker+0.005';
  const grammar = `expected METRIC OP VALUE, e.g. "rps<=0.205" or "${example}" (metrics: rps, logloss, brier, accuracy, ece; baselines: ${baselines.join(', ')})`;
  const m = /^\s*([a-z]+)\s*(<=|>=|<|>)\s*(?:([a-z]+)\s*(?:([+-])\s*(\d*\.?\d+))?|(-?\d*\.?\d+))\s*$/i.exec(text);
  if (!m) throw new Error(`invalid gate "${text}": ${grammar}`);
  const metric = m[1]!.toLowerCase();
  if (!(metric in GATE_METRICS)) throw new Error(`invalid gate "${text}": unknown metric "${m[1]}"; ${grammar}`);
  const op = m[2] as Op;
  if (m[6] !== undefined) return { text, metric: metric as GateMetric, op, threshold: { kind: 'value', value: Number(m[6]) } };
  const baseline = m[3]!.toLowerCase();
  if (!(baselines as readonly string[]).includes(baseline)) {
    throw new Error(`invalid gate "${text}": unknown baseline "${m[3]}"; ${grammar}`);
  }
  const offset = m[5] === undefined ? 0 : (m[4] === '-' ? -1 : 1) * Number(m[5]);
  return { text, metric: metric as GateMetric, op, threshold: { kind: 'baseline', baseline: baseline as GateBaseline, offset } };
}

/** Checks a gate against the overall figures of the model and its baselines. */
export function checkGate(gate: Gate, overall: MetricSummary, baselines: Partial<Record<GateBaseline, MetricSummary>>): GateOutcome {
  const key = GATE_METRICS[gate.metric];
  const actual = overall[key];
  let threshold: number;
  if (gate.threshold.kind === 'value') threshold = gate.threshold.value;
  else {
    const base = baselines[gate.threshold.baseline];
    if (!base) throw new Error(`gate "${gate.text}": no ${gate.threshold.baseline} baseline for these matches`);
    threshold = base[key] + gate.threshold.offset;
  }
  const passed = gate.op === '<=' ? actual <= threshold : gate.op === '<' ? actual < threshold : gate.op === '>=' ? actual >= threshold : actual > threshold;
  return { gate: gate.text, passed, actual, threshold };
}
