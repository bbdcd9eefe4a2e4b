// evaluate --models in-process on the bundled E0 seasons (SQLite): several models on the same matches with paired
// tests against the bookmaker and the best model (issue 11.4).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PairedTest } from '../../src/ml/evaluation/paired.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

let dir = '';
const cli = (args: string[]) => runCli(args, { cwd: dir });
const WINDOW = ['--competitions', 'E0', '--seasons', '2019-2020'];

interface Row {
  name: string;
  kind: 'model' | 'baseline';
  n: number;
  rps: number;
  logLoss: number;
  vsBookmaker: PairedTest | null;
  vsBest: PairedTest;
}
interface Doc {
  models: string[];
  excludedNoOdds: number;
  excludedNotCommon: number;
  comparison: { metric: string; n: number; lag: number; best: string; method: string; rows: Row[] };
  baselines: Record<string, { n: number; rps: number }>;
  evaluations: {
    model: string;
    params: Record<string, unknown>;
    overall: { n: number; rps: number };
    vsBookmaker: PairedTest;
    folds: unknown[];
    gates: unknown[];
  }[];
}

beforeAll(async () => {
  dir = tempDir();
  const r = await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
  expect(r.code, r.stderr).toBe(0);
});

describe('evaluate --models', () => {
  let doc: Doc;

  beforeAll(async () => {
    const r = await cli(['evaluate', '--models', 'elo-ordered,logreg', ...WINDOW, '--param', 'logreg.l2=1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    doc = r.json<Doc>();
  });

  it('scores every model and baseline on the same matches, with the best model as a reference', () => {
    expect(doc.models).toEqual(['elo-ordered', 'logreg']);
    expect(doc).toMatchObject({ excludedNoOdds: 0, excludedNotCommon: 0 });
    const c = doc.comparison;
    expect(c).toMatchObject({ metric: 'rps', n: 380, lag: 7 });
    expect(c.method).toContain('Diebold–Mariano');
    expect(c.rows.map((r) => r.name)).toEqual(['elo-ordered', 'logreg', 'bookmaker', 'naive', 'elo']);
    for (const r of c.rows) {
      expect(r.n, r.name).toBe(380);
      expect(r.vsBest.n, r.name).toBe(380);
      expect(r.vsBookmaker!.n, r.name).toBe(380);
      expect(r.vsBest.pValue).toBeGreaterThanOrEqual(0);
      expect(r.vsBest.pValue).toBeLessThanOrEqual(1);
    }
    const models = c.rows.filter((r) => r.kind === 'model');
    const best = models.reduce((b, r) => (r.rps < b.rps ? r : b));
    expect(c.best).toBe(best.name);
    expect(best.vsBest).toMatchObject({ meanDiff: 0, stdErr: 0, pValue: 1 });
    const bookmaker = c.rows.find((r) => r.name === 'bookmaker')!;
    expect(bookmaker.vsBookmaker).toMatchObject({ meanDiff: 0, stdErr: 0 });
    for (const r of c.rows) {
      // Δ is the difference of the mean RPS figures, with a positive standard error unless it is the reference.
      expect(r.vsBest.meanDiff, r.name).toBeCloseTo(r.rps - best.rps, 12);
      expect(r.vsBookmaker!.meanDiff, r.name).toBeCloseTo(r.rps - bookmaker.rps, 12);
      if (r.name !== best.name && r.name !== 'elo') expect(r.vsBest.stdErr, r.name).toBeGreaterThan(0);
    }
    // Uniform-ish guessing is far worse than the best model: a real difference, not noise.
    expect(c.rows.find((r) => r.name === 'naive')!.vsBest.pValue).toBeLessThan(0.001);
  });

  it('gives each model its own figures, params and folds, consistent with the comparison rows', () => {
    expect(doc.evaluations.map((e) => e.model)).toEqual(['elo-ordered', 'logreg']);
    expect(doc.evaluations[1]!.params).toEqual({ l2: 1 });
    expect(doc.evaluations[0]!.params).toEqual({});
    for (const e of doc.evaluations) {
      const row = doc.comparison.rows.find((r) => r.name === e.model)!;
      expect(e.overall.n).toBe(380);
      expect(e.overall.rps).toBeCloseTo(row.rps, 14);
      expect(e.vsBookmaker).toEqual(row.vsBookmaker);
      expect(e.folds).toHaveLength(1);
    }
    expect(doc.baselines.bookmaker!.rps).toBeCloseTo(doc.comparison.rows.find((r) => r.name === 'bookmaker')!.rps, 14);
  });

  it('gives a model the same figures as a single --model run with the same params and seed', async () => {
    const r = await cli(['evaluate', '--model', 'logreg', '--param', 'l2=1', ...WINDOW, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const single = r.json<{ overall: { rps: number }; vsBookmaker: PairedTest }>();
    expect(single.overall.rps).toBe(doc.evaluations[1]!.overall.rps);
    expect(single.vsBookmaker).toEqual(doc.evaluations[1]!.vsBookmaker);
  });

  it('prints the comparison table, applies gates to every model (exit 3 naming it) and writes the report', async () => {
    // logreg with l2 pinned low over-fits this two-season window (RPS 0.23): one gate fails for logreg only.
    const r = await cli([
      'evaluate',
      '--models',
      'elo-ordered,logreg',
      ...WINDOW,
      '--param',
      'logreg.l2=0.001',
      '--gate',
      'rps<=0.25',
      '--gate',
      'rps<=bookmaker+0.01',
      '--report',
      'cmp.html',
    ]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/380 matches scored by every model \(E0 2019-2020, walk-forward season\); best: elo-ordered/);
    expect(r.stdout).toMatch(/Δ RPS vs bookmaker ± SE \(p\)/);
    expect(r.stdout).toMatch(/elo-ordered \(best\) │ 380 │ 0\.\d{4} .*│ \+0\.\d{4} ± 0\.\d{4} \(p = [\d.]+\) +│ reference +│/);
    expect(r.stdout).toMatch(/logreg +│ 380 │ 0\.\d{4} .*│ \+0\.\d{4} ± 0\.\d{4} \(p [=<] [\d.]+\) +│ \+0\.\d{4} ± 0\.\d{4} \(p [=<] [\d.]+\) +│/);
    expect(r.stdout).toMatch(/bookmaker +│ 380 │ .*│ reference +│ -0\.\d{4} ± /);
    expect(r.stdout).toMatch(/gate rps<=0\.25 \[logreg\]: 0\.\d{4} vs 0\.2500 — passed/);
    expect(r.stdout).toMatch(/gate rps<=bookmaker\+0\.01 \[elo-ordered\]: 0\.\d{4} vs 0\.\d{4} — passed/);
    expect(r.stdout).toMatch(/gate rps<=bookmaker\+0\.01 \[logreg\]: 0\.\d{4} vs 0\.\d{4} — FAILED/);
    expect(r.stdout).toMatch(/With 2 models, hold p to 0\.05\/2 = 0\.025 \(Bonferroni\)/);
    expect(r.stderr).toMatch(/gate failed: logreg: rps<=bookmaker\+0\.01 \(actual 0\.\d{4}, threshold 0\.\d{4}\)/);
    expect(r.stderr).not.toMatch(/elo-ordered: rps<=/);
    const html = readFileSync(path.join(dir, 'cmp.html'), 'utf8');
    expect(html).toContain('Paired comparison on the same 380 matches');
    expect(html).toContain('<b>elo-ordered</b> (best)');
    expect(html).toContain('Δ RPS vs bookmaker ± SE (p)');
    expect(html).toContain('Bonferroni');
    expect(html.match(/<svg/g)).toHaveLength(3);
    for (const chart of ['rps', 'reliability-elo-ordered', 'reliability-logreg']) {
      expect(readFileSync(path.join(dir, `cmp.${chart}.svg`), 'utf8')).toMatch(/^<svg[^>]+xmlns/);
    }
    expect(readFileSync(path.join(dir, 'cmp.rps.svg'), 'utf8')).toMatch(/logreg[\s\S]*elo-ordered|elo-ordered[\s\S]*logreg/);
  });

  it('leaves the bookmaker column out with --no-bookmaker', async () => {
    const r = await cli(['evaluate', '--models', 'elo-ordered,dixon-coles', ...WINDOW, '--no-bookmaker', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = r.json<Doc>().comparison;
    expect(c.rows.map((x) => x.name)).toEqual(['elo-ordered', 'dixon-coles', 'naive', 'elo']);
    expect(c.rows.every((x) => x.vsBookmaker === null)).toBe(true);
  });
});

describe('evaluate --models: bad input', () => {
  /** A usage error (exit 2) with one message line, nothing on stdout, and no store opened in a fresh folder. */
  async function usageError(args: string[], message: RegExp) {
    const fresh = tempDir();
    const r = await runCli(['evaluate', ...args], { cwd: fresh });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(existsSync(path.join(fresh, 'oracx.db'))).toBe(false);
    expect(readdirSync(fresh)).toEqual([]);
  }

  it('names an unknown model and lists the known ones', async () => {
    await usageError(
      ['--models', 'logreg,xgboost', ...WINDOW],
      /^oracx: unknown model 'xgboost' in --models; valid models: logreg, mlp, dixon-coles, elo-ordered, ensemble$/m,
    );
  });

  it('refuses --model with --models, a model listed twice, --run, an empty list and params no listed model has', async () => {
    await usageError(['--models', 'logreg,elo-ordered', '--model', 'logreg', ...WINDOW], /--model and --models cannot be combined/);
    await usageError(['--models', 'logreg,logreg', ...WINDOW], /--models lists logreg twice/);
    await usageError(['--models', 'logreg', '--run', '1', '--seasons', '2019-2020'], /--run evaluates one trained model/);
    await usageError(['--models', ',', ...WINDOW], /expected a non-empty comma-separated list/);
    await usageError(
      ['--models', 'logreg,elo-ordered', '--param', 'depth=3', ...WINDOW],
      /unknown parameter 'depth': no model of --models has it — valid parameters: logreg: l2, .*; elo-ordered: features, /,
    );
    await usageError(
      ['--models', 'logreg,elo-ordered', '--param', 'dixon-coles.xi=0.001', ...WINDOW],
      /dixon-coles is not one of --models \(logreg, elo-ordered\)/,
    );
    await usageError(['--models', 'logreg,elo-ordered'], /--competitions is required/);
  });

  it('refuses an out-of-range value before fitting anything (exit 1, as for one model)', async () => {
    const r = await cli(['evaluate', '--models', 'elo-ordered,logreg', '--param', 'logreg.l2=99', ...WINDOW]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/logreg: l2=99 is outside 0\.\.10/);
    expect(r.stdout).toBe('');
  });
});
