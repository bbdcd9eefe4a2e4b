// The dataset a training run logs: MLflow's colspec schema of the columns the model reads, and a source that names the
// store without the machine's paths or a password. Per-iteration curves of Dixon–Coles and ensemble fits.
import { describe, expect, it } from 'vitest';
import { colspecSchema, datasetDigest, datasetSourceUri, storeDataset } from '../../pipelines/track-dataset.js';
import { epochMetrics, trainingDataset } from '../../pipelines/track-train.js';
import type { TrainStart } from '../../pipelines/train.js';
import { modelColumns } from '../../src/ml/models/columns.js';
import { fitModel, resolveParams, type EpochLog } from '../../src/ml/models/index.js';
import { concatDatasets, simulateLeague } from '../../src/ml/models/synthetic.js';
import { parseStoreLocation } from '../../src/store/location.js';

const FEATURES = ['elo_home', 'elo_away', 'elo_diff', 'form_home'];
const names = (model: string, params: Record<string, string> = {}) => modelColumns(model, resolveParams(model, params), FEATURES).map((c) => c.name);

describe('datasetSourceUri', () => {
  it('a SQLite store: its path relative to the working directory, or only its file name outside it', () => {
    expect(datasetSourceUri('/home/alice/work/oracx.db', '/home/alice/work')).toBe('sqlite:oracx.db');
    expect(datasetSourceUri('/home/alice/work/data/league.db', '/home/alice/work')).toBe('sqlite:data/league.db');
    expect(datasetSourceUri('/home/alice/stores/oracx.db', '/home/alice/work')).toBe('sqlite:oracx.db');
    expect(datasetSourceUri(':memory:', '/home/alice/work')).toBe('sqlite::memory:');
  });

  it('a PostgreSQL store: host, port, database and schema, never the user, password or other params', () => {
    const display = (url: string) => parseStoreLocation(url).display;
    const uri = datasetSourceUri(display('postgres://alice:s3cr%40t@db.example:5433/oracx?schema=league&sslmode=require&sslpassword=hunter2'), '/w');
    expect(uri).toBe('postgres://db.example:5433/oracx?schema=league');
    expect(datasetSourceUri(display('postgresql://bob@localhost/oracx'), '/w')).toBe('postgres://localhost/oracx');
    // Even given the raw URL (not the redacted location), nothing private is kept.
    expect(datasetSourceUri('postgres://alice:pw@h/db?password=pw2&host=/home/alice/sock', '/w')).toBe('postgres://h/db');
  });
});

describe('modelColumns', () => {
  it('a feature model reads the date, its features and the result', () => {
    expect(names('logreg')).toEqual(['date', ...FEATURES, 'result']);
    expect(names('mlp')).toEqual(['date', ...FEATURES, 'result']);
    expect(names('elo-ordered')).toEqual(['date', 'elo_diff', 'result']);
    expect(names('elo-ordered', { features: 'elo_diff,form_home' })).toEqual(['date', 'elo_diff', 'form_home', 'result']);
  });

  it('Dixon–Coles reads fixtures and scores, none of the features', () => {
    expect(names('dixon-coles')).toEqual(['date', 'competition', 'home_team', 'away_team', 'home_goals', 'away_goals']);
  });

  it("an ensemble reads the union of its members' columns (and seasons when it stacks)", () => {
    expect(names('ensemble', { members: 'dixon-coles,elo-ordered' })).toEqual([
      'date',
      'competition',
      'season',
      'home_team',
      'away_team',
      'home_goals',
      'away_goals',
      'elo_diff',
      'result',
    ]);
    expect(names('ensemble', { members: 'dixon-coles,logreg', combine: 'average' })).toEqual([
      'date',
      'competition',
      'home_team',
      'away_team',
      'home_goals',
      'away_goals',
      ...FEATURES,
      'result',
    ]);
  });

  it('types columns as MLflow does for a pandas frame of them: strings, longs, doubles', () => {
    const types = Object.fromEntries(modelColumns('ensemble', resolveParams('ensemble', {}), FEATURES).map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      date: 'string',
      competition: 'string',
      season: 'string',
      home_team: 'long',
      home_goals: 'long',
      elo_diff: 'double',
      result: 'string',
    });
  });
});

describe('storeDataset and trainingDataset', () => {
  it("the schema is MLflow's colspec JSON, keys in the order Python writes them", () => {
    expect(
      colspecSchema([
        { name: 'date', type: 'string' },
        { name: 'x', type: 'double' },
      ]),
    ).toBe('{"mlflow_colspec":[{"type":"string","name":"date","required":true},{"type":"double","name":"x","required":true}]}');
  });

  it('the source is JSON: the store uri, then what selects the rows', () => {
    const d = storeDataset({
      name: 'n',
      digest: 'd',
      storeLocation: '/w/oracx.db',
      cwd: '/w',
      source: { competitions: ['E0'] },
      profile: { num_rows: 1 },
      context: 'evaluation',
    });
    expect(JSON.parse(d.dataset.source)).toEqual({ uri: 'sqlite:oracx.db', competitions: ['E0'] });
    expect(d.dataset.sourceType).toBe('oracx-store');
    expect(d.dataset.schema).toBeUndefined();
  });

  it("a Dixon–Coles training run's dataset lists only its columns", () => {
    const start: TrainStart = {
      runId: 1,
      model: 'dixon-coles',
      params: resolveParams('dixon-coles', {}),
      featureSet: 'core@1',
      seed: 0,
      competitions: ['E0'],
      trainFrom: '2017-08-11',
      trainUntil: '2018-05-13',
      nMatches: 380,
      dataHash: 'ab'.repeat(32),
      featureNames: Array.from({ length: 62 }, (_, i) => `f${i}`),
      startedAt: 1,
    };
    const { dataset } = trainingDataset(start, { storeLocation: '/home/alice/w/oracx.db', cwd: '/home/alice/w' });
    const schema = JSON.parse(dataset.schema!) as { mlflow_colspec: { name: string }[] };
    expect(schema.mlflow_colspec.map((c) => c.name)).toEqual(['date', 'competition', 'home_team', 'away_team', 'home_goals', 'away_goals']);
    expect(JSON.parse(dataset.profile)).toEqual({ num_rows: 380, num_elements: 380 * 6 });
    expect(dataset.source).not.toContain('/home/alice');
  });
});

describe('per-iteration curves', () => {
  it('epochMetrics prefixes a series and logs grad_norm where there is one', () => {
    const metrics = epochMetrics([
      { epoch: 1, loss: 1, timestamp: 5 },
      { epoch: 0, loss: 2, gradNorm: 0.5, series: 'E0', timestamp: 6 },
      { epoch: 3, loss: 0.9, valLoss: 1.1, series: 'mlp', timestamp: 7 },
    ]);
    expect(metrics.map((m) => `${m.key}@${m.step}=${m.value}`)).toEqual([
      'loss@1=1',
      'E0.loss@0=2',
      'E0.grad_norm@0=0.5',
      'mlp.loss@3=0.9',
      'mlp.val_loss@3=1.1',
    ]);
  });

  const twoLeagues = () =>
    concatDatasets(
      simulateLeague({ seed: 1, seasons: 3, competition: 'E0', promoted: 3 }).data,
      simulateLeague({ seed: 2, seasons: 3, competition: 'D1', firstTeamId: 1000, firstMatchId: 100_000, promoted: 3 }).data,
    );

  it("Dixon–Coles reports each competition's Newton iterations, decreasing, from the start point, with the gradient norm", async () => {
    const logs: EpochLog[] = [];
    await fitModel('dixon-coles', twoLeagues(), {}, { seed: 1, onEpoch: (l) => logs.push(l) });
    const series = [...new Set(logs.map((l) => l.series))];
    // Newcomers and pooled home advantages make a second pass, with its own objective.
    expect(series).toEqual(['D1', 'E0', 'D1.priors', 'E0.priors']);
    for (const s of series) {
      const curve = logs.filter((l) => l.series === s);
      expect(curve.map((l) => l.epoch)).toEqual(curve.map((_, i) => i));
      expect(curve.length, s).toBeGreaterThanOrEqual(2);
      // Down at every step (to rounding: the line search accepts a step within 1e-13 of the last value).
      for (let i = 1; i < curve.length; i++) expect(curve[i]!.loss, `${s} iteration ${i}`).toBeLessThanOrEqual(curve[i - 1]!.loss + 1e-12);
      if (!s.endsWith('.priors')) expect(curve.at(-1)!.loss).toBeLessThan(curve[0]!.loss - 0.01);
      expect(curve.at(-1)!.gradNorm!).toBeLessThan(curve[0]!.gradNorm! * 1e-3);
    }
  });

  it("an ensemble reports each member's final fit under the member's name", async () => {
    const logs: EpochLog[] = [];
    const data = twoLeagues();
    expect(data.featureNames.length).toBeGreaterThan(0);
    await fitModel('ensemble', data, { members: 'dixon-coles,logreg', combine: 'average', calibrate: 'none' }, { seed: 1, onEpoch: (l) => logs.push(l) });
    const series = new Set(logs.map((l) => l.series));
    expect(series).toEqual(new Set(['dixon-coles.E0', 'dixon-coles.D1', 'dixon-coles.E0.priors', 'dixon-coles.D1.priors', 'logreg']));
    expect(logs.some((l) => l.series === undefined)).toBe(false);
    expect(logs.filter((l) => l.series === 'logreg').length).toBeGreaterThan(5);
  });
});

describe('datasetDigest', () => {
  it('tells apart two column sets read from the same rows, and is stable for one', () => {
    const dc = [{ name: 'home_goals', type: 'long' as const }];
    const lr = [{ name: 'elo_diff', type: 'double' as const }];
    expect(datasetDigest('abc', dc)).toMatch(/^[0-9a-f]{36}$/);
    expect(datasetDigest('abc', dc)).toBe(datasetDigest('abc', [...dc]));
    expect(datasetDigest('abc', dc)).not.toBe(datasetDigest('abc', lr));
    expect(datasetDigest('abd', dc)).not.toBe(datasetDigest('abc', dc));
    expect(datasetDigest('abc')).toBe('abc');
  });
});
