// `evaluate --walk-forward season` updates a static-rating model (dixon-coles) with the season's results (issue 11.2),
// and `--train-seasons` caps the training window (issue 11.1), in-process on the bundled E0 seasons.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

let dir = '';
const cli = (args: string[]) => runCli(args, { cwd: dir });

interface Doc {
  walkForward: string;
  overall: { n: number; rps: number };
  baselines: Record<string, { n: number; rps: number }>;
  folds: { origin: string; end: string; trainMatches: number; testMatches: number; update: boolean }[];
}

const evaluate = async (...args: string[]): Promise<Doc> => {
  const r = await cli(['evaluate', '--competitions', 'E0', '--seasons', '2019-2020', '--json', '--no-track', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.json<Doc>();
};

beforeAll(async () => {
  dir = tempDir();
  const r = await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
  expect(r.code, r.stderr).toBe(0);
});

describe('evaluate --walk-forward season with in-season updates', () => {
  it('refits dixon-coles every 3 days within the season, on the results so far, with baselines as for one fit', async () => {
    const updated = await evaluate('--model', 'dixon-coles', '--walk-forward', 'season');
    expect(updated.walkForward).toBe('season+3d');
    // 2019-20 ran from August to July (with the spring pause): one full fit, then an update every 3 days with matches
    // (about every matchday: weekends and midweek rounds).
    expect(updated.folds.length).toBeGreaterThan(60);
    expect(updated.folds[0]!.update).toBe(false);
    expect(updated.folds.slice(1).every((f) => f.update)).toBe(true);
    expect(updated.folds.reduce((s, f) => s + f.testMatches, 0)).toBe(380);
    for (const [i, f] of updated.folds.entries()) {
      expect(Date.parse(f.end) - Date.parse(f.origin)).toBe(3 * 86_400_000);
      // Each update trains on everything before its origin: the 760 earlier matches plus the season so far.
      expect(f.trainMatches).toBe(760 + updated.folds.slice(0, i).reduce((s, g) => s + g.testMatches, 0));
    }

    const once = await evaluate('--model', 'dixon-coles', '--walk-forward', 'season+none');
    expect(once.walkForward).toBe('season');
    expect(once.folds).toHaveLength(1);
    expect(once.overall.n).toBe(380);
    // Same matches, same baselines: only the model's cadence differs.
    expect(updated.baselines).toEqual(once.baselines);
    expect(updated.overall.rps).not.toBe(once.overall.rps);

    const weekly = await evaluate('--model', 'dixon-coles', '--walk-forward', 'season+7d');
    expect(weekly.walkForward).toBe('season+7d');
    expect(weekly.folds.length).toBeGreaterThan(30);
    expect(weekly.folds.every((f, i) => f.update === i > 0 && Date.parse(f.end) - Date.parse(f.origin) === 7 * 86_400_000)).toBe(true);
    expect(weekly.baselines).toEqual(once.baselines);
  });

  it('leaves models whose features carry each result at one fit per season, and lets <N>d refit everything', async () => {
    const eloOrdered = await evaluate('--model', 'elo-ordered', '--walk-forward', 'season');
    expect(eloOrdered.walkForward).toBe('season');
    expect(eloOrdered.folds).toHaveLength(1);
    const updated = await evaluate('--model', 'dixon-coles', '--walk-forward', 'season');
    const everything = await evaluate('--model', 'dixon-coles', '--walk-forward', '3d');
    expect(everything.walkForward).toBe('3d');
    expect(everything.folds.map((f) => [f.origin, f.end])).toEqual(updated.folds.map((f) => [f.origin, f.end]));
    expect(everything.folds.every((f) => !f.update)).toBe(true);
    // A dixon-coles update is a full refit, so the model's figures match; the baselines are refitted every 3 days too.
    expect(everything.overall).toEqual(updated.overall);
    expect(everything.baselines.elo).not.toEqual(updated.baselines.elo);
  });
});

describe('evaluate --train-seasons', () => {
  it('trains on the last N seasons before the test season only', async () => {
    const one = await evaluate('--model', 'elo-ordered', '--train-seasons', '1');
    expect(one.folds[0]!.trainMatches).toBe(380);
    const all = await evaluate('--model', 'elo-ordered');
    expect(all.folds[0]!.trainMatches).toBe(760);
    const bad = await cli(['evaluate', '--competitions', 'E0', '--seasons', '2019-2020', '--train-seasons', '0']);
    expect(bad.code).toBe(2);
  });

  it('applies to every model of --models too', async () => {
    const r = await cli([
      'evaluate',
      '--models',
      'elo-ordered,logreg',
      '--competitions',
      'E0',
      '--seasons',
      '2019-2020',
      '--train-seasons',
      '1',
      '--no-track',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { evaluations } = r.json<{ evaluations: { model: string; folds: { trainMatches: number }[] }[] }>();
    expect(evaluations.map((e) => e.folds[0]!.trainMatches)).toEqual([380, 380]);
  });
});

describe('tune --walk-forward season', () => {
  it('scores a trial on the same in-season updates as evaluate', async () => {
    const tuned = await cli([
      'tune',
      '--model',
      'dixon-coles',
      '--competitions',
      'E0',
      '--seasons',
      '2019-2020',
      '--walk-forward',
      'season',
      '--trials',
      '1',
      '--no-track',
      '--json',
    ]);
    expect(tuned.code, tuned.stderr).toBe(0);
    const best = tuned.json<{ best: { value: number } }>().best;
    const evaluated = await evaluate('--model', 'dixon-coles', '--walk-forward', 'season', '--params-file', 'best-params.json', '--no-bookmaker');
    expect(evaluated.walkForward).toBe('season+3d');
    expect(best.value).toBeCloseTo(evaluated.overall.rps, 12);
  });
});
