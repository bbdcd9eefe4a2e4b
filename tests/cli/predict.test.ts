// `oracx predict` in-process on both dialects: scheduled matches and pairings, every forecast stored, the ONNX
// forecasts from online features equal to the trained model's own on the feature store's vectors, and bad input.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Forecast } from '../../pipelines/predict.js';
import { featureMatrix } from '../../pipelines/features.js';
import { loadModel } from '../../src/ml/models/index.js';
import { openStore } from '../../src/store/connect.js';
import { loadMatchFacts } from '../../src/store/match-facts.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const FULL = path.join(FIXTURES, 'full');
const RESULT_COLUMNS = new Set(['FTHG', 'FTAG', 'FTR', 'HTHG', 'HTAG', 'HTR', 'HS', 'AS', 'HST', 'AST', 'HF', 'AF', 'HC', 'AC', 'HY', 'AY', 'HR', 'AR']);

/** The first n matches of E0 2019-20 as a fixture list: results and statistics blanked, prices kept. */
function fixturesFile(dir: string, n: number): string {
  const lines = readFileSync(path.join(FULL, 'E0_2019-2020.csv'), 'latin1')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',');
  const rows = lines.slice(1, n + 1).map((l) =>
    l
      .split(',')
      .map((c, i) => (RESULT_COLUMNS.has(header[i]!) ? '' : c))
      .join(','),
  );
  const sub = path.join(dir, 'upcoming');
  mkdirSync(sub, { recursive: true });
  const file = path.join(sub, 'E0_2019-2020.csv');
  writeFileSync(file, `${[lines[0], ...rows].join('\r\n')}\r\n`, 'latin1');
  return file;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`predict on ${dialect.name}`, () => {
    let dir = '';
    let store = '';
    let logregRun = 0;
    const cli = (args: string[]) => runCli([...args, '--store', store], { cwd: dir, env: { ORACX_ACTOR: 'ci-bot' } });
    const ok = async (args: string[]) => {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      return r;
    };

    beforeAll(async () => {
      dir = tempDir();
      store = dialect.newLocation();
      await ok(['collect', 'football-data', path.join(FULL, 'E0_2017-2018.csv'), path.join(FULL, 'E0_2018-2019.csv'), '-q']);
      await ok(['collect', 'football-data', fixturesFile(dir, 20), '-q']);
      logregRun = (await ok(['train', '--model', 'logreg', '--features', 'core@1', '--competitions', 'E0', '--param', 'l2=10', '--json'])).json<{
        runId: number;
      }>().runId;
      await ok(['register', '--run', String(logregRun), '--name', 'oracx-e0', '--alias', 'champion', '-q']);
    });

    it('forecasts the scheduled matches, stores each one, and equals the model on the feature store’s vectors', async () => {
      const r = await ok(['predict', '--model', 'oracx-e0@champion', '--from', '2019-08-01', '--to', '2019-08-31', '--json']);
      const { forecasts } = r.json<{ forecasts: Forecast[] }>();
      expect(forecasts).toHaveLength(20);
      for (const f of forecasts) {
        expect(f.status).toBe('scheduled');
        expect(f.model).toMatchObject({ uri: 'oracx-e0/1', name: 'oracx-e0', version: 1, alias: 'champion', run: String(logregRun), kind: 'logreg' });
        expect(f.probabilities.home + f.probabilities.draw + f.probabilities.away).toBeCloseTo(1, 5);
      }
      const s = await openStore(store);
      try {
        const rows = await s.db.selectFrom('predictions').selectAll().where('source', '=', 'cli').orderBy('id').execute();
        expect(rows).toHaveLength(20);
        expect(rows.map((x) => Number(x.match_id)).sort()).toEqual(forecasts.map((f) => f.matchId!).sort());
        for (const row of rows) {
          expect(row).toMatchObject({ model_name: 'oracx-e0', model_version: 1, model_alias: 'champion', feature_set: 'core@1', principal: 'ci-bot' });
          expect(row.inputs_hash).toMatch(/^[0-9a-f]{64}$/);
        }
        // The offline path: the stored vectors of the same matches through the trained model itself (no ONNX).
        const serialized = JSON.parse(readFileSync(path.join(dir, '.oracx', 'artifacts', String(logregRun), 'model.json'), 'utf8'));
        const model = loadModel(serialized);
        const { names, values } = await featureMatrix(s, 'core@1');
        const facts = (await loadMatchFacts(s)).filter((m) => forecasts.some((f) => f.matchId === m.id));
        const offline = model.predict({ X: facts.map((m) => values.get(m.id)!), featureNames: names, matches: facts });
        let worst = 0;
        facts.forEach((m, i) => {
          const f = forecasts.find((x) => x.matchId === m.id)!;
          worst = Math.max(
            worst,
            Math.abs(f.probabilities.home - offline[i]![0]),
            Math.abs(f.probabilities.draw - offline[i]![1]),
            Math.abs(f.probabilities.away - offline[i]![2]),
          );
        });
        expect(worst).toBeLessThan(1e-5);
      } finally {
        await s.close();
      }
    });

    it('forecasts a pairing by any spelling of the names, as a table, CSV or JSON, with --model, --run or a pulled file', async () => {
      const pairing = ['--competition', 'e0', '--home', 'man united', '--away', 'Chelsea', '--date', '2019-12-01'];
      const table = await ok(['predict', '--model', 'oracx-e0@champion', ...pairing]);
      expect(table.stdout).toMatch(/Man United.*Chelsea/);
      expect(table.stdout).toContain('1 forecast(s), stored');
      const csv = await ok(['predict', '--model', 'oracx-e0/1', '--csv', ...pairing]);
      expect(csv.stdout.split('\n')[0]).toBe('match,date,time,comp,home,away,P(home),P(draw),P(away),model');
      const byRun = (await ok(['predict', '--run', String(logregRun), '--json', ...pairing])).json<{ forecasts: Forecast[] }>().forecasts[0]!;
      const pulled = path.join(dir, 'pulled');
      await ok(['models', 'pull', 'oracx-e0@champion', '--out', pulled, '-q']);
      const byFile = (await ok(['predict', '--model', path.join(pulled, 'model.onnx'), '--json', ...pairing])).json<{ forecasts: Forecast[] }>().forecasts[0]!;
      expect(byRun.model.uri).toBe(`run ${logregRun}`);
      expect(byFile.model.uri).toBe(`file:${path.join(pulled, 'model.onnx')}`);
      expect(byFile.probabilities).toEqual(byRun.probabilities);
      expect(byFile.inputsHash).toBe(byRun.inputsHash);
    });

    it('serves a pairing dated before the latest result from a replay as of that date, with a warning', async () => {
      const r = await ok([
        'predict',
        '--model',
        'oracx-e0@champion',
        '--competition',
        'E0',
        '--home',
        'Arsenal',
        '--away',
        'Chelsea',
        '--date',
        '2019-03-02',
        '--json',
      ]);
      expect(r.stderr).toContain('replayed as of that date');
      expect(r.json<{ forecasts: Forecast[] }>().forecasts).toHaveLength(1);
    });

    it('gives clear errors, with the closest names, and stores nothing then', async () => {
      const s = await openStore(store);
      const count = async () =>
        Number(
          (
            await s.db
              .selectFrom('predictions')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      try {
        const before = await count();
        const cases: Array<[string[], number, RegExp]> = [
          [
            ['--competition', 'E0', '--home', 'Arsenel', '--away', 'Chelsea', '--date', '2019-12-01'],
            1,
            /unknown team "Arsenel" in E0 — did you mean "Arsenal"/,
          ],
          [['--competition', 'E9', '--home', 'Arsenal', '--away', 'Chelsea', '--date', '2019-12-01'], 1, /unknown competition "E9" — did you mean "E0"/],
          [['--competition', 'E0', '--home', 'Arsenal', '--away', 'arsenal', '--date', '2019-12-01'], 1, /same team/],
          [['--competition', 'E0', '--home', 'Arsenal', '--away', 'Chelsea', '--date', '2019-02-29'], 2, /existing date/],
          [['--competition', 'E0', '--home', 'Arsenal', '--away', 'Chelsea', '--date', '2021-01-01'], 1, /days after the latest result/],
          [['--competition', 'E0', '--home', 'Arsenal'], 2, /needs --competition, --home, --away and --date together/],
          [['--match', '1'], 1, /match 1 was played on 201[78]-\d\d-\d\d \(\d–\d\): forecasts are for coming matches/],
          [['--match', '999999'], 1, /no match with id 999999/],
          [['--from', '2019-09-01', '--to', '2019-08-01'], 2, /is after --to/],
        ];
        for (const [args, code, message] of cases) {
          const r = await cli(['predict', '--model', 'oracx-e0@champion', ...args]);
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
          expect(r.stderr).toMatch(message);
        }
        const notOnnx = path.join(dir, 'broken', 'model.onnx');
        mkdirSync(path.dirname(notOnnx), { recursive: true });
        writeFileSync(notOnnx, 'this is not a model');
        const bad = await cli(['predict', '--model', notOnnx, '--competitions', 'E0']);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/is not an oracx ONNX model/);
        const missing = await cli(['predict', '--model', 'nope@champion', '--competitions', 'E0']);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toMatch(/unknown registered model "nope"/);
        expect((await cli(['predict', '--competitions', 'E0'])).code).toBe(2);
        expect(await count()).toBe(before);
      } finally {
        await s.close();
      }
    });
  });
}
