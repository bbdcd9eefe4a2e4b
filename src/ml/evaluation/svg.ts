/** Small dependency-free SVG charts for the evaluation report: reliability diagram and RPS over time. */
import type { ReliabilityBin } from '../metrics.js';

const W = 420;
const H = 320;
const PAD = 44;
// The first four are the single-model report's; the rest tell apart the models of a comparison (tab10 order).
const COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#7f7f7f', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function frame(title: string, xLabel: string, yLabel: string, body: string, legend: readonly string[]): string {
  const items = legend
    .map(
      (name, i) =>
        `<rect x="${PAD + 6}" y="${PAD + 6 + i * 16}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${PAD + 20}" y="${PAD + 15 + i * 16}" font-size="11">${esc(name)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>
<line x1="${PAD}" y1="${H - PAD}" x2="${W - 10}" y2="${H - PAD}" stroke="black"/>
<line x1="${PAD}" y1="${H - PAD}" x2="${PAD}" y2="30" stroke="black"/>
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>
<text x="12" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${H / 2})">${esc(yLabel)}</text>
${body}
${items}
</svg>
`;
}

/** Reliability diagram: observed frequency against mean predicted probability, one line per outcome. */
export function reliabilitySvg(bins: readonly (readonly ReliabilityBin[])[], labels: readonly string[], title = 'Reliability'): string {
  const x = (p: number) => PAD + p * (W - 10 - PAD);
  const y = (p: number) => H - PAD - p * (H - PAD - 30);
  let body = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>`;
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    body += `<text x="${x(t)}" y="${H - PAD + 14}" text-anchor="middle" font-size="10">${t}</text><text x="${PAD - 6}" y="${y(t) + 3}" text-anchor="end" font-size="10">${t}</text>`;
  }
  bins.forEach((classBins, k) => {
    const pts = classBins.filter((b) => b.count > 0 && b.meanPredicted !== null && b.observedFrequency !== null);
    if (pts.length === 0) return;
    const color = COLORS[k % COLORS.length];
    body += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((b) => `${x(b.meanPredicted!).toFixed(1)},${y(b.observedFrequency!).toFixed(1)}`).join(' ')}"/>`;
    for (const b of pts)
      body += `<circle cx="${x(b.meanPredicted!).toFixed(1)}" cy="${y(b.observedFrequency!).toFixed(1)}" r="${Math.min(6, 2 + Math.sqrt(b.count) / 4).toFixed(1)}" fill="${color}"/>`;
  });
  return frame(title, 'predicted probability', 'observed frequency', body, labels);
}

export interface Series {
  name: string;
  points: readonly { x: string; y: number }[];
}

/** A line chart of a metric over time buckets (e.g. monthly mean RPS of the model and baselines). */
export function lineSvg(title: string, yLabel: string, series: readonly Series[]): string {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort();
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  if (xs.length === 0 || ys.length === 0) return frame(title, 'month', yLabel, '', []);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || 1;
  const x = (v: string) => PAD + (xs.length === 1 ? 0.5 : xs.indexOf(v) / (xs.length - 1)) * (W - 10 - PAD);
  const y = (v: number) => H - PAD - ((v - lo) / span) * (H - PAD - 40);
  let body = '';
  for (const t of [lo, (lo + hi) / 2, hi]) body += `<text x="${PAD - 4}" y="${y(t) + 3}" text-anchor="end" font-size="10">${t.toFixed(3)}</text>`;
  const step = Math.max(1, Math.ceil(xs.length / 6));
  xs.forEach((v, i) => {
    if (i % step === 0) body += `<text x="${x(v)}" y="${H - PAD + 14}" text-anchor="middle" font-size="10">${esc(v)}</text>`;
  });
  series.forEach((s, k) => {
    body += `<polyline fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`;
  });
  return frame(
    title,
    'month',
    yLabel,
    body,
    series.map((s) => s.name),
  );
}
