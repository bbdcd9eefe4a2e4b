// features / train / evaluate in-process on the bundled E0 seasons (SQLite).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainResult } from '../../pipelines/train.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

let dir = '';
const cli = (args: string[]) => runCli(args, { cwd: dir });

beforeAll(async () => {
  dir = tempDir();
  const r = await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
  expect(r.code, r.stderr).toBe(0);
});

describe('features', () => {
  it('lists the registered sets, shows one, and builds incrementally', async () => {
    const list = (await cli(['features', 'list', '--json'])).json<{ ref: string; materialised: number; features: string[] }[]>();
    expect(list.map((s) => s.ref)).toEqual(expect.arrayContaining(['core@1', 'market@1']));
    const show = (await cli(['features', 'show', 'core@1', '--json'])).json<{ features: string[]; hash: string }>();
    expect(show.features).toContain('elo_diff');
    expect(show.hash).toMatch(/^[0-9a-f]{64}$/);

    const first = (await cli(['features', 'build', '--set', 'market@1', '--json'])).json<{ matches: number; written: number; unchanged: number }>();
    expect(first).toMatchObject({ matches: 1140, written: 1140, unchanged: 0 });
    const again = (await cli(['features', 'build', '--set', 'market@1', '--json'])).json<{ written: number; unchanged: number }>();
    expect(again).toMatchObject({ written: 0, unchanged: 1140 });

    const vector = (await cli(['features', 'show', 'market@1', '--match', '500', '--json'])).json<{ values: Record<string, number> }>();
    expect(Object.keys(vector.values)).toEqual((await cli(['features', 'show', 'market@1', '--json'])).json<{ features: string[] }>().features);
    const sum = vector.values.market_p_home! + vector.values.market_p_draw! + vector.values.market_p_away!;
    expect(sum).toBeCloseTo(1, 9);
  });

  it('rejects an unknown feature set listing the valid ones', async () => {
    const r = await cli(['features', 'build', '--set', 'nope@3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown feature set "nope@3".*core@1/);
  });
});

describe('train', () => {
  it('records a run with per-epoch logs, artifacts and a staged model version; same seed ⇒ same bytes', async () => {
    const args = ['train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--train-until', '2019-06-30', '--seed', '7', '--json'];
    const a = await cli(args);
    expect(a.code, a.stderr).toBe(0);
    const ra = a.json<TrainResult>();
    expect(ra).toMatchObject({ model: 'logreg', featureSet: 'core@1', nMatches: 760, trainFrom: '2017-08-11', trainUntil: '2019-05-12', seed: 7 });
    expect(ra.trainMetrics.rps).toBeGreaterThan(0.1);
    expect(ra.trainMetrics.rps).toBeLessThan(0.23);
    const model = JSON.parse(readFileSync(path.join(ra.artifactPath, 'model.json'), 'utf8')) as { kind: string };
    expect(model.kind).toBe('logreg');
    const meta = JSON.parse(readFileSync(path.join(ra.artifactPath, 'metadata.json'), 'utf8')) as {
      dataHash: string;
      featureNames: string[];
      codeVersion: string;
    };
    expect(meta.dataHash).toBe(ra.dataHash);
    expect(meta.featureNames).toContain('elo_diff');
    expect(meta.codeVersion).toMatch(/^\d+\.\d+\.\d+/);

    const b = (await cli(args)).json<TrainResult>();
    expect(b.runId).not.toBe(ra.runId);
    expect(b.dataHash).toBe(ra.dataHash);
    expect(readFileSync(path.join(b.artifactPath, 'model.json'))).toEqual(readFileSync(path.join(ra.artifactPath, 'model.json')));

    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      const run = await store.db.selectFrom('training_runs').selectAll().where('id', '=', ra.runId).executeTakeFirstOrThrow();
      expect(run).toMatchObject({ status: 'completed', model: 'logreg', n_matches: 760, seed: 7 });
      const logs = await store.db.selectFrom('training_logs').selectAll().where('run_id', '=', ra.runId).orderBy('epoch').execute();
      expect(logs.length).toBeGreaterThan(1);
      expect(logs.every((l) => Number.isFinite(l.loss))).toBe(true);
      const version = await store.db.selectFrom('model_versions').selectAll().where('run_id', '=', ra.runId).executeTakeFirstOrThrow();
      expect(version).toMatchObject({ status: 'staged', model: 'logreg', artifact_path: ra.artifactPath });
    } finally {
      await store.close();
    }
  });

  it('trains the MLP with validation losses per epoch', async () => {
    const r = await cli(['train', '--model', 'mlp', '--competitions', 'E0', '--param', 'epochs=5', '--param', 'hiddenUnits=8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<TrainResult>();
    expect(result.epochs).toBeGreaterThan(0);
    expect(existsSync(path.join(result.artifactPath, 'model.json'))).toBe(true);
  });

  it('core@2, the default feature set, scores as core@1 on a league whose files have no shot columns', async () => {
    const noShots = tempDir();
    for (const file of readdirSync(path.join(FIXTURES, 'full'))) {
      const rows = readFileSync(path.join(FIXTURES, 'full', file), 'latin1')
        .split(/\r?\n/)
        .map((l) => l.split(','));
      const keep = rows[0]!.map((c, i) => (['HS', 'AS', 'HST', 'AST'].includes(c) ? -1 : i)).filter((i) => i >= 0);
      writeFileSync(path.join(noShots, file), rows.map((r) => keep.map((i) => r[i] ?? '').join(',')).join('\n'), 'latin1');
    }
    const run = (args: string[]) => runCli(args, { cwd: noShots });
    expect((await run(['collect', 'football-data', '.', '-q'])).code).toBe(0);
    const rps = async (features?: string) => {
      const r = await run([
        'evaluate',
        '--model',
        'logreg',
        ...(features ? ['--features', features] : []),
        '--competitions',
        'E0',
        '--seasons',
        '2019-2020',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ featureSet: string; overall: { rps: number } }>();
    };
    const byDefault = await rps();
    expect(byDefault.featureSet).toBe('core@2');
    expect(byDefault.overall.rps).toBe((await rps('core@1')).overall.rps);
  });

  it('l2=auto inside a walk-forward: the fall-back is reported once, with its fold, by evaluate and evaluate --models', async () => {
    // Two 30-match slices of D1: the fold trains on 30 matches, far too few to hold a quarter out.
    const small = tempDir();
    const run = (args: string[]) => runCli(args, { cwd: small });
    const collected = await run(['collect', 'football-data', path.join(FIXTURES, 'D1_2010-2011.csv'), path.join(FIXTURES, 'D1_2018-2019.csv'), '-q']);
    expect(collected.code, collected.stderr).toBe(0);
    const window = ['--competitions', 'D1', '--seasons', '2018-2019'];
    const evaluated = await run(['evaluate', '--model', 'logreg', ...window, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.json<{ warnings: unknown[] }>().warnings).toEqual([
      { message: expect.stringContaining('logreg l2=auto used l2=1: 30 training matches are too few'), folds: ['2018-08-24'] },
    ]);
    expect(evaluated.stderr).toMatch(/logreg l2=auto used l2=1: 30 training matches are too few.*\(fold 2018-08-24\)/);

    const compared = await run(['evaluate', '--models', 'logreg,elo-ordered', ...window, '--json']);
    expect(compared.code, compared.stderr).toBe(0);
    const c = compared.json<{ evaluations: { model: string; warnings: unknown[] }[] }>();
    expect(c.evaluations.map((x) => [x.model, x.warnings.length])).toEqual([
      ['logreg', 1],
      ['elo-ordered', 0],
    ]);
    expect(compared.stderr).toContain('logreg l2=auto used l2=1');

    const pinned = await run(['evaluate', '--model', 'logreg', '--param', 'l2=1', ...window, '--json']);
    expect(pinned.json<{ warnings: unknown[] }>().warnings).toEqual([]);
    expect(pinned.stderr).not.toContain('l2=auto');
  });

  it('l2=auto: the run holds the l2 it chose, says how, and warns what it used on a window too small to choose on', async () => {
    const store = await openStore(path.join(dir, 'oracx.db'));
    const storedParams = async (runId: number) =>
      JSON.parse((await store.db.selectFrom('training_runs').select('params').where('id', '=', runId).executeTakeFirstOrThrow()).params) as Record<
        string,
        unknown
      >;
    try {
      const chose = await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--json']);
      expect(chose.code, chose.stderr).toBe(0);
      const r = chose.json<TrainResult>();
      expect(r.auto.l2).toMatchObject({ method: 'validation', validationMatches: 190, fitMatches: 570 });
      expect(r.params.l2).toBe(r.auto.l2!.value);
      expect(r.warnings).toEqual([]);
      expect(chose.stderr).toContain('logreg l2=auto chose l2=');
      expect(await storedParams(r.runId)).toMatchObject({ l2: r.auto.l2!.value });
      const meta = JSON.parse(readFileSync(path.join(r.artifactPath, 'metadata.json'), 'utf8')) as { params: { l2: number }; auto: { l2: { value: number } } };
      expect(meta.params.l2).toBe(r.auto.l2!.value);
      expect(meta.auto.l2.value).toBe(r.auto.l2!.value);

      // 250 matches: a quarter is 69, too few to choose on.
      const small = await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2018-01-31', '--json']);
      expect(small.code, small.stderr).toBe(0);
      const s = small.json<TrainResult>();
      expect(s.params.l2).toBe(1);
      expect(s.auto.l2).toMatchObject({ value: 1, method: 'fallback' });
      expect(s.warnings).toHaveLength(1);
      expect(small.stderr).toContain('logreg l2=auto used l2=1: 250 training matches are too few');

      const pinned = (
        await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2018-01-31', '--param', 'l2=0.01', '--json'])
      ).json<TrainResult>();
      expect(pinned).toMatchObject({ params: { l2: 0.01 }, auto: {}, warnings: [] });
      expect(await storedParams(pinned.runId)).toMatchObject({ l2: 0.01 });
    } finally {
      await store.close();
    }
  });

  it('says what the ensemble combined and why: its anchor alone on a window too short to learn a pool', async () => {
    const r = await cli(['train', '--model', 'ensemble', '--competitions', 'E0', '--train-until', '2019-06-30', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const note = 'ensemble: logreg alone: the training window has too few seasons to learn a pool from (4 needed)';
    expect(r.json<TrainResult>().notes).toEqual([note]);
    expect(r.stderr).toContain(note);
    // Member lists and anchors are checked before any fit, as every other bad param: exit 1, a clear message, no run.
    const bad = await cli(['train', '--model', 'ensemble', '--param', 'anchor=xgboost', '--competitions', 'E0', '--train-until', '2019-06-30']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^oracx: ensemble: anchor 'xgboost' must be auto, best or one of the members \(dixon-coles, elo-ordered, logreg\)$/m);
    expect(bad.stderr).not.toContain('internal error');
    const members = await cli(['evaluate', '--model', 'ensemble', '--param', 'members=logreg,foo', '--competitions', 'E0', '--seasons', '2019-2020']);
    expect(members.code).toBe(1);
    expect(members.stderr).toMatch(/^oracx: ensemble: members 'logreg,foo' must list models from: logreg, mlp, dixon-coles, elo-ordered$/m);
  });

  it('explains bad input without leaving a run behind', async () => {
    const store = await openStore(path.join(dir, 'oracx.db'));
    const runs = async () =>
      Number(
        (
          await store.db
            .selectFrom('training_runs')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await runs();
    try {
      const unknownModel = await cli(['train', '--model', 'xgboost']);
      expect(unknownModel.code).toBe(1);
      expect(unknownModel.stderr).toMatch(/unknown model 'xgboost'; valid models: logreg, mlp, dixon-coles/);
      const badParam = await cli(['train', '--model', 'logreg', '--param', 'depth=3']);
      expect(badParam.code).toBe(1);
      expect(badParam.stderr).toMatch(/depth/);
      expect(badParam.stderr).toMatch(/l2/);
      const empty = await cli(['train', '--competitions', 'E0', '--train-until', '2001-01-01']);
      expect(empty.code).toBe(1);
      expect(empty.stderr).toContain('empty training window');
      const missing = await cli(['train', '--competitions', 'SP1']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no matches of SP1 in the store');
      expect(await runs()).toBe(before);
    } finally {
      await store.close();
    }
  });
});

describe('evaluate', () => {
  it('prints the documented JSON with baselines on the same matches', async () => {
    const r = await cli([
      'evaluate',
      '--model',
      'dixon-coles',
      '--competitions',
      'E0',
      '--seasons',
      '2019-2020',
      '--walk-forward',
      'season',
      '--betting',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{
      overall: Record<string, number>;
      byCompetition: Record<string, { n: number }>;
      baselines: Record<string, { n: number; rps: number }>;
      betting: { note: string; matches: number; flat: { bets: number; roi: number }; kelly: { finalBankroll: number } };
    }>();
    // E0 2019-20 carries market maxima (MaxH/D/A) for every match.
    expect(doc.betting.note).toContain('information only');
    expect(doc.betting.matches).toBe(380);
    expect(doc.betting.flat.bets).toBeGreaterThan(0);
    expect(doc.betting.kelly.finalBankroll).toBeGreaterThan(0);
    expect(Object.keys(doc.overall).sort()).toEqual(['accuracy', 'brier', 'ece', 'logLoss', 'n', 'rps']);
    expect(doc.overall.n).toBe(380);
    expect(doc.byCompetition.E0!.n).toBe(380);
    for (const b of ['bookmaker', 'naive', 'elo']) expect(doc.baselines[b]!.n).toBe(380);
    // The market is hard to beat, uniform guessing easy to beat: sanity bounds on real data.
    expect(doc.overall.rps!).toBeLessThan(doc.baselines.naive!.rps);
    expect(doc.baselines.bookmaker!.rps).toBeLessThan(doc.baselines.naive!.rps);
  });

  it('exits 3 with the failing figures when a gate fails, 0 when it holds, and writes the report', async () => {
    const base = ['evaluate', '--model', 'elo-ordered', '--competitions', 'E0', '--seasons', '2019-2020', '--walk-forward', '56d'];
    const fail = await cli([...base, '--gate', 'rps<=0.1']);
    expect(fail.code).toBe(3);
    expect(fail.stderr).toMatch(/gate failed: rps<=0.1 \(actual 0\.\d{4}, threshold 0\.1000\)/);
    const pass = await cli([...base, '--gate', 'rps<=naive', '--report', 'eval.html']);
    expect(pass.code, pass.stderr).toBe(0);
    expect(pass.stdout).toMatch(/gate rps<=naive: .* passed/);
    const html = readFileSync(path.join(dir, 'eval.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('bookmaker');
    expect(readFileSync(path.join(dir, 'eval.reliability.svg'), 'utf8')).toMatch(/^<svg[^>]+xmlns/);
    expect(readFileSync(path.join(dir, 'eval.rps.svg'), 'utf8')).toContain('polyline');
    // PNG signature: the charts are rasterised too.
    expect(readFileSync(path.join(dir, 'eval.reliability.png')).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('evaluates a trained run as it is on later seasons, and refuses its own training window', async () => {
    const trained = (await cli(['train', '--model', 'dixon-coles', '--competitions', 'E0', '--train-until', '2019-06-30', '--json'])).json<TrainResult>();
    const r = await cli(['evaluate', '--run', String(trained.runId), '--seasons', '2019-2020', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ walkForward: string; overall: { n: number; rps: number }; folds: unknown[] }>();
    expect(doc.walkForward).toBe(`fixed run ${trained.runId}`);
    expect(doc.overall.n).toBe(380);
    expect(doc.folds).toHaveLength(1);
    const leak = await cli(['evaluate', '--run', String(trained.runId), '--seasons', '2018-2019']);
    expect(leak.code).toBe(1);
    expect(leak.stderr).toContain('was trained on matches until 2019-05-12');
    const unknown = await cli(['evaluate', '--run', '999', '--seasons', '2019-2020']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown training run 999');
  });

  it('rejects bad gates, unknown seasons and missing flags clearly', async () => {
    const badGate = await cli(['evaluate', '--competitions', 'E0', '--seasons', '2019-2020', '--gate', 'auc>1']);
    expect(badGate.code).toBe(2);
    expect(badGate.stderr).toContain('unknown metric "auc"');
    const noSeason = await cli(['evaluate', '--competitions', 'E0', '--seasons', '2010-2011']);
    expect(noSeason.code).toBe(1);
    expect(noSeason.stderr).toContain('no finished matches of E0 in season 2010-2011');
    const noFlags = await cli(['evaluate']);
    expect(noFlags.code).toBe(2);
    expect(noFlags.stderr).toContain('--competitions is required');
  });
});
