/** The `evaluate --models --report` HTML page: the paired comparison table, figures per competition, charts, folds. */
import type { MetricSummary, ReliabilityBin } from '../metrics.js';
import type { Outcome, Probs } from '../types.js';
import type { Comparison } from './comparison.js';
import { describePaired } from './comparison.js';
import { esc, f, monthlyRps } from './html.js';
import type { PairedTest } from './paired.js';
import { lineSvg, reliabilitySvg } from './svg.js';

export interface ComparisonReportInput {
  title: string;
  comparison: Comparison;
  /** Each model's evaluation on the common matches; predictions in the same match order for every model. */
  models: readonly {
    model: string;
    byCompetition: Record<string, MetricSummary>;
    gates: readonly { gate: string; passed: boolean; actual: number; threshold: number }[];
    reliability: readonly (readonly ReliabilityBin[])[];
    folds: readonly { origin: string; end: string; trainMatches: number; testMatches: number; fitMs: number }[];
    predictions: readonly { date: string; outcome: Outcome; model: Probs; bookmaker: Probs | null; elo: Probs }[];
  }[];
  baselinesByCompetition: Record<string, Partial<Record<string, MetricSummary>>>;
}

/** The charts as standalone SVG documents: RPS by month of every model, and a reliability diagram per model. */
export function comparisonCharts(input: ComparisonReportInput): Record<string, string> {
  const rows = input.models[0]?.predictions.map((p, i) => ({ ...p, models: input.models.map((m) => m.predictions[i]!.model) })) ?? [];
  // Baselines first, so the models' lines are drawn over them (elo-ordered on core@1 is the elo baseline itself).
  const series = monthlyRps(rows, [
    { name: 'bookmaker', pick: (p) => p.bookmaker },
    { name: 'elo', pick: (p) => p.elo },
    ...input.models.map((m, k) => ({ name: m.model, pick: (p: (typeof rows)[number]) => p.models[k]! })),
  ]);
  const charts: Record<string, string> = { rps: lineSvg('RPS by month (lower is better)', 'mean RPS', series) };
  for (const m of input.models) charts[`reliability-${m.model}`] = reliabilitySvg(m.reliability, ['home', 'draw', 'away'], `Reliability: ${m.model}`);
  return charts;
}

function pairedCell(t: PairedTest | null, self: boolean): string {
  if (!t) return '';
  return self ? 'reference' : esc(describePaired(t));
}

/** Renders the whole comparison page. */
export function renderComparisonReport(input: ComparisonReportInput): string {
  const c = input.comparison;
  const charts = comparisonCharts(input);
  const hasBookmaker = c.rows.some((r) => r.vsBookmaker !== null);
  const models = c.rows.filter((r) => r.kind === 'model').length;
  const rows = c.rows
    .map((r) => {
      const name = r.name === c.best ? `<b>${esc(r.name)}</b> (best)` : esc(r.name);
      return `<tr><td>${name}</td><td>${r.n}</td><td>${f(r.rps)}</td><td>${f(r.logLoss)}</td><td>${f(r.brier)}</td><td>${f(r.accuracy, 3)}</td><td>${f(r.ece)}</td>${hasBookmaker ? `<td>${pairedCell(r.vsBookmaker, r.name === 'bookmaker')}</td>` : ''}<td>${pairedCell(r.vsBest, r.name === c.best)}</td></tr>`;
    })
    .join('\n');
  const competitions = Object.keys(input.baselinesByCompetition);
  const baselineNames = c.rows.filter((r) => r.kind === 'baseline').map((r) => r.name);
  const byCompetition = competitions
    .map((code) => {
      const cells = [...input.models.map((m) => m.byCompetition[code]?.rps), ...baselineNames.map((b) => input.baselinesByCompetition[code]?.[b]?.rps)];
      return `<tr><td>${esc(code)}</td><td>${input.models[0]?.byCompetition[code]?.n ?? ''}</td>${cells.map((v) => `<td>${v === undefined ? '' : f(v)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  const gates = input.models.flatMap((m) =>
    m.gates.map(
      (g) =>
        `<li class="${g.passed ? 'pass' : 'fail'}">${esc(m.model)}: ${esc(g.gate)}: ${f(g.actual)} vs ${f(g.threshold)} — ${g.passed ? 'passed' : 'FAILED'}</li>`,
    ),
  );
  const folds = input.models[0]?.folds ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}.fail{color:#b00}.pass{color:#080}</style>
</head><body>
<h1>${esc(input.title)}</h1>
<h2>Paired comparison on the same ${c.n} matches</h2>
<table><tr><th></th><th>n</th><th>RPS</th><th>log loss</th><th>Brier</th><th>accuracy</th><th>ECE</th>${hasBookmaker ? '<th>Δ RPS vs bookmaker ± SE (p)</th>' : ''}<th>Δ RPS vs best ± SE (p)</th></tr>
${rows}
</table>
<p>${esc(c.method)} Newey–West lag here: ${c.lag}.</p>
<p>How to read it: a Δ whose p-value is large (say above 0.05) is within what chance alone produces over ${c.n} matches, however it ranks the rows.${models > 1 ? ` Each p-value is for one comparison; reading ${models} models at once, a small one turns up by chance more easily, so hold each to 0.05/${models} (Bonferroni) for a 5% error rate over the lot.` : ''}</p>
<h2>RPS by competition</h2>
<table><tr><th>competition</th><th>n</th>${[...input.models.map((m) => m.model), ...baselineNames].map((n) => `<th>${esc(n)}</th>`).join('')}</tr>
${byCompetition}
</table>
${gates.length === 0 ? '' : `<h2>Gates</h2><ul>${gates.join('')}</ul>`}
<h2>Charts</h2>
${Object.values(charts).join('\n')}
<h2>Folds (refit at each origin, the same for every model)</h2>
<table><tr><th>origin</th><th>until (excl.)</th><th>train matches</th><th>test matches</th>${input.models.map((m) => `<th>${esc(m.model)} fit ms</th>`).join('')}</tr>
${folds.map((x, i) => `<tr><td>${x.origin}</td><td>${x.end}</td><td>${x.trainMatches}</td><td>${x.testMatches}</td>${input.models.map((m) => `<td>${m.folds[i]?.fitMs ?? ''}</td>`).join('')}</tr>`).join('\n')}
</table>
<p>Scores: ranked probability score (RPS), log loss, multi-class Brier, accuracy and top-label expected calibration error, averaged over the matches every model scored. Bookmaker probabilities use closing prices where present, else pre-match, with the margin removed.</p>
</body></html>
`;
}
