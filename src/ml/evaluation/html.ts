/** The `evaluate --report` HTML page: figures, baselines, folds and two SVG charts. */
import { rps } from '../metrics.js';
import type { Probs, Outcome } from '../types.js';
import type { MetricSummary } from './report-types.js';
import { lineSvg, reliabilitySvg, type Series } from './svg.js';
import type { ReliabilityBin } from '../metrics.js';
import { describePaired } from './comparison.js';
import type { PairedTest } from './paired.js';

export interface ReportInput {
  title: string;
  overall: MetricSummary;
  byCompetition: Record<string, MetricSummary>;
  baselines: Partial<Record<string, MetricSummary>>;
  folds: { origin: string; end: string; trainMatches: number; testMatches: number; fitMs: number }[];
  gates: { gate: string; passed: boolean; actual: number; threshold: number }[];
  reliability: readonly (readonly ReliabilityBin[])[];
  predictions: { date: string; outcome: Outcome; model: Probs; bookmaker: Probs | null; elo: Probs }[];
  /** The paired RPS test of the model against the bookmaker, when there is one. */
  vsBookmaker?: PairedTest | null;
}

/** HTML-escapes text. */
export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** A figure with d decimals ('' when not finite). */
export const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : '');

/** Monthly mean RPS of each named forecaster over the matches it has a forecast for (null: none). */
export function monthlyRps<P extends { date: string; outcome: Outcome }>(
  predictions: readonly P[],
  kinds: readonly { name: string; pick: (p: P) => Probs | null }[],
): Series[] {
  return kinds
    .map(({ name, pick }) => {
      const months = new Map<string, { sum: number; n: number }>();
      for (const p of predictions) {
        const probs = pick(p);
        if (!probs) continue;
        const m = months.get(p.date.slice(0, 7)) ?? { sum: 0, n: 0 };
        m.sum += rps(probs, p.outcome);
        m.n++;
        months.set(p.date.slice(0, 7), m);
      }
      return { name, points: [...months.entries()].sort().map(([x, v]) => ({ x, y: v.sum / v.n })) };
    })
    .filter((s) => s.points.length > 0);
}

/** Monthly mean RPS of the model and the baselines with predictions. */
export function rpsOverTime(input: ReportInput): Series[] {
  return monthlyRps(input.predictions, [
    { name: 'model', pick: (p) => p.model },
    { name: 'bookmaker', pick: (p) => p.bookmaker },
    { name: 'elo', pick: (p) => p.elo },
  ]);
}

/** The two charts as standalone SVG documents. */
export function reportCharts(input: ReportInput): { reliability: string; rps: string } {
  return {
    reliability: reliabilitySvg(input.reliability, ['home', 'draw', 'away']),
    rps: lineSvg('RPS by month (lower is better)', 'mean RPS', rpsOverTime(input)),
  };
}

/** Table rows of figures: name, n, RPS, log loss, Brier, accuracy, ECE. */
export function metricRows(rows: [string, MetricSummary][]): string {
  return rows
    .map(
      ([name, m]) =>
        `<tr><td>${esc(name)}</td><td>${m.n}</td><td>${f(m.rps)}</td><td>${f(m.logLoss)}</td><td>${f(m.brier)}</td><td>${f(m.accuracy, 3)}</td><td>${f(m.ece)}</td></tr>`,
    )
    .join('\n');
}

/** Renders the whole report page. */
export function renderReport(input: ReportInput): string {
  const charts = reportCharts(input);
  const head = '<tr><th></th><th>n</th><th>RPS</th><th>log loss</th><th>Brier</th><th>accuracy</th><th>ECE</th></tr>';
  const baselineRows = Object.entries(input.baselines).filter((e): e is [string, MetricSummary] => e[1] !== undefined);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}.fail{color:#b00}.pass{color:#080}</style>
</head><body>
<h1>${esc(input.title)}</h1>
<h2>Overall, with baselines on the same matches</h2>
<table>${head}
${metricRows([['model', input.overall], ...baselineRows])}
</table>
${input.vsBookmaker ? `<p>RPS minus bookmaker RPS, paired per match over ${input.vsBookmaker.n} matches: ${esc(describePaired(input.vsBookmaker, `Diebold–Mariano test, Newey–West lag ${input.vsBookmaker.lag}`))}. Negative is better than the bookmaker; a p-value above 0.05 means the difference is within what chance produces.</p>` : ''}
<h2>By competition</h2>
<table>${head}
${metricRows(Object.entries(input.byCompetition))}
</table>
${input.gates.length === 0 ? '' : `<h2>Gates</h2><ul>${input.gates.map((g) => `<li class="${g.passed ? 'pass' : 'fail'}">${esc(g.gate)}: ${f(g.actual)} vs ${f(g.threshold)} — ${g.passed ? 'passed' : 'FAILED'}</li>`).join('')}</ul>`}
<h2>Charts</h2>
${charts.reliability}
${charts.rps}
<h2>Folds (refit at each origin)</h2>
<table><tr><th>origin</th><th>until (excl.)</th><th>train matches</th><th>test matches</th><th>fit ms</th></tr>
${input.folds.map((x) => `<tr><td>${x.origin}</td><td>${x.end}</td><td>${x.trainMatches}</td><td>${x.testMatches}</td><td>${x.fitMs}</td></tr>`).join('\n')}
</table>
<p>Scores: ranked probability score (RPS), log loss, multi-class Brier, accuracy and top-label expected calibration error, averaged over matches. Bookmaker probabilities use closing prices where present, else pre-match, with the margin removed.</p>
</body></html>
`;
}
