// oracx export on SQLite and PostgreSQL stores: Parquet and CSV files read back by DuckDB and by pandas/pyarrow
// (the test venv's Python) equal what the store holds, with typed, nullable columns.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, inject, it } from 'vitest';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir, type DialectCase } from '../helpers/stores.js';

const python = inject('python');

async function seeded(dialect: DialectCase): Promise<string> {
  const store = dialect.newLocation();
  const r = await runCli(['--store', store, 'collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2019-2020.csv'), '-q'], { cwd: tempDir() });
  expect(r.code, r.stderr).toBe(0);
  const s = await openStore(store);
  try {
    const m = await s.db.selectFrom('matches').select(['id', 'season', 'date', 'home_team_id', 'away_team_id']).orderBy('id').limit(2).execute();
    for (const [i, match] of m.entries()) {
      await s.db
        .insertInto('predictions')
        .values({
          match_id: match.id,
          competition: 'E0',
          season: match.season,
          date: match.date,
          home_team_id: match.home_team_id,
          away_team_id: match.away_team_id,
          model_uri: 'file:m.onnx',
          model_name: i === 0 ? 'oracx-e0' : null,
          model_version: i === 0 ? 3 : null,
          feature_set: 'core@2',
          inputs_hash: `h${i}`,
          p_home: 0.5,
          p_draw: 0.25 + i / 10,
          p_away: 0.25 - i / 10,
          source: 'cli',
          created_at: '2025-01-31T12:00:00.125Z',
        })
        .execute();
    }
  } finally {
    await s.close();
  }
  return store;
}

async function duckQuery(query: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    const reader = await c.runAndReadAll(query);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`export on ${dialect.name}`, () => {
    it('writes matches to Parquet (typed columns, filters) that DuckDB and pandas read back equal to the store', async () => {
      const store = await seeded(dialect);
      const dir = tempDir();
      const file = path.join(dir, 'm.parquet');
      const r = await runCli(
        ['--store', store, 'export', 'matches', '--competition', 'E0', '--from', '2019-09-01', '--to', '2019-12-31', '--out', file, '--json'],
        { cwd: dir },
      );
      expect(r.code, r.stderr).toBe(0);
      const s = await openStore(store);
      const expected = await s.db
        .selectFrom('matches as m')
        .innerJoin('teams as h', 'h.id', 'm.home_team_id')
        .select(['m.id', 'm.date', 'h.name as home', 'm.fthg', 'm.ftag', 'm.referee', 'm.attendance', 'm.home_shots'])
        .where('m.date', '>=', '2019-09-01')
        .where('m.date', '<=', '2019-12-31')
        .orderBy('m.id')
        .execute();
      await s.close();
      expect(r.json<{ rows: number }>().rows).toBe(expected.length);
      expect(expected.length).toBeGreaterThan(100);

      const types = await duckQuery(`select column_name, column_type from (describe select * from '${file}')`);
      const typeOf = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
      expect(typeOf).toMatchObject({ id: 'BIGINT', date: 'DATE', fthg: 'BIGINT', referee: 'VARCHAR', created_at: 'TIMESTAMP WITH TIME ZONE' });
      const back = await duckQuery(
        `select id, strftime(date, '%Y-%m-%d') as date, home_team as home, fthg, ftag, referee, attendance, home_shots from '${file}' order by id`,
      );
      expect(
        back.map((row) => ({
          ...row,
          id: Number(row.id),
          fthg: Number(row.fthg),
          ftag: Number(row.ftag),
          home_shots: Number(row.home_shots),
          attendance: row.attendance === null ? null : Number(row.attendance),
        })),
      ).toEqual(expected.map((m) => ({ ...m })));

      if (python !== '') {
        const out = execFileSync(
          python,
          [
            '-c',
            `import pandas as pd, json, sys
df = pd.read_parquet(sys.argv[1])
print(json.dumps({"rows": len(df), "goals": int(df["fthg"].sum() + df["ftag"].sum()), "date": str(df["date"].dtype), "created": str(df["created_at"].dtype), "fthg": str(df["fthg"].dtype), "attendance_nulls": int(df["attendance"].isna().sum())}))`,
            file,
          ],
          { encoding: 'utf8' },
        );
        const got = JSON.parse(out) as { rows: number; goals: number; date: string; created: string; fthg: string; attendance_nulls: number };
        expect(got.rows).toBe(expected.length);
        expect(got.goals).toBe(expected.reduce((n, m) => n + m.fthg! + m.ftag!, 0));
        expect(got.fthg).toBe('int64');
        expect(got.created).toMatch(/datetime64\[(us|ns|ms)(, UTC)?\]/);
        expect(got.attendance_nulls).toBe(expected.filter((m) => m.attendance === null).length);
      } else console.warn('[oracx tests] pandas check skipped: no test Python venv');
    });

    it('writes odds and predictions to CSV and Parquet equal to the store; bad tables and filters are usage errors', async () => {
      const store = await seeded(dialect);
      const dir = tempDir();
      const csv = path.join(dir, 'odds.csv');
      const r = await runCli(['--store', store, 'export', 'odds', '--format', 'csv', '--out', csv], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const s = await openStore(store);
      const stats = await s.db
        .selectFrom('odds')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('home').as('home'), eb.fn.count<number>('over').as('overs')])
        .executeTakeFirstOrThrow();
      await s.close();
      const [back] = await duckQuery(
        `select count(*) as n, sum(home) as home, count(over) as overs, typeof(any_value(line)) as line from read_csv('${csv}', header = true)`,
      );
      expect(Number(back!.n)).toBe(Number(stats.n));
      expect(Number(back!.home)).toBeCloseTo(Number(stats.home), 6);
      expect(Number(back!.overs)).toBe(Number(stats.overs));

      const pq = path.join(dir, 'p.parquet');
      expect((await runCli(['--store', store, 'export', 'predictions', '--out', pq], { cwd: dir })).code).toBe(0);
      const preds = await duckQuery(`select model_name, model_version, p_draw, created_at::varchar as created from '${pq}' order by id`);
      expect(preds).toEqual([
        { model_name: 'oracx-e0', model_version: '3', p_draw: 0.25, created: '2025-01-31 12:00:00.125+00' },
        { model_name: null, model_version: null, p_draw: 0.35, created: '2025-01-31 12:00:00.125+00' },
      ]);

      const s2 = await openStore(store);
      try {
        await s2.db
          .insertInto('training_runs')
          .values({
            model: 'logreg',
            feature_set: 'core@2',
            params: '{"l2":1}',
            seed: 7,
            competitions: 'E0',
            train_from: '2017-08-01',
            train_until: '2019-06-30',
            n_matches: 760,
            status: 'completed',
            metrics: '{"rps":0.2}',
            finished_at: '2025-02-01T08:30:00.000Z',
          })
          .execute();
      } finally {
        await s2.close();
      }
      const runs = path.join(dir, 'runs.parquet');
      expect((await runCli(['--store', store, 'export', 'training_runs', '--out', runs], { cwd: dir })).code).toBe(0);
      const run = await duckQuery(
        `select seed, train_until::varchar as until, typeof(train_until) as t, typeof(started_at) as s, finished_at::varchar as fin, metrics from '${runs}'`,
      );
      expect(run).toEqual([
        { seed: '7', until: '2019-06-30', t: 'DATE', s: 'TIMESTAMP WITH TIME ZONE', fin: '2025-02-01 08:30:00+00', metrics: '{"rps":0.2}' },
      ]);

      const unknown = await runCli(['--store', store, 'export', 'secrets', '--out', path.join(dir, 'x.csv')], { cwd: dir });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/cannot export "secrets".*tables: matches, odds/);
      const filtered = await runCli(['--store', store, 'export', 'teams', '--competition', 'E0', '--out', path.join(dir, 'x.csv')], { cwd: dir });
      expect(filtered.code).toBe(2);
      expect(readdirSync(dir).sort()).toEqual(['odds.csv', 'p.parquet', 'runs.parquet']);
      expect(existsSync(path.join(dir, 'x.csv'))).toBe(false);
    });
  });
}
