// A registered oracx package seen by a pandas user of Python's MLflow 3.17.2: mlflow.pyfunc.load_model on
// models:/NAME@champion scores a DataFrame with named columns (feature values, team names, competition codes) and
// answers home/draw/away columns equal to oracx's own probabilities; schema errors, unknown teams, the input example
// and `mlflow models serve` with every request body format MLflow accepts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadUniverse, toDataset, trainingMatches } from '../../pipelines/dataset.js';
import type { TrainResult } from '../../pipelines/train.js';
import { loadModel, type Dataset, type SerializedModel } from '../../src/ml/models/index.js';
import { exportOnnx, readOnnxMetadata } from '../../src/onnx/index.js';
import { PYFUNC_MODULE, PYFUNC_SOURCE } from '../../src/registry/pyfunc-source.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli, spawnCli } from '../helpers/cli.js';
import { mlflowModelsServe, mlflowOrSkip, mlflowServer, pythonMlflow, uniqueName } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

interface Frame {
  columns: string[];
  data: Array<Array<number | string>>;
}

/** What the Python side reports for one model (see SCRIPT). */
interface PyReport {
  columns: string[];
  probs: number[][];
  float32Probs: number[][];
  intColumns: number;
  intProbs: number[][];
  int64: string;
  intIndex: number[];
  missing: string;
  wrapperMissing: string;
  unseenCompetition?: number[][];
  extra: { probs: number[][]; warning: string };
  unknownTeam?: string;
  unseenTeam?: number[][];
  exampleInfo: Record<string, string>;
  serving: { columns: string[]; rows: number };
  onnxInputs: string[];
  signatureInputs: string[];
}

// Loads the model once and runs every check, so Python and MLflow start once per model.
const SCRIPT = String.raw`
import json, logging, sys
import numpy as np, pandas as pd, mlflow, mlflow.onnx
from mlflow.models import get_model_info, validate_serving_input

uri, frame = sys.argv[1], json.loads(sys.argv[2])
m = mlflow.pyfunc.load_model(uri)
df = pd.DataFrame(frame["data"], columns=frame["columns"])
features = [c for c in df.columns if c not in ("competition", "home_team", "away_team")]
df[features] = df[features].astype(np.float64)
rev = df[list(reversed(df.columns))]                 # named columns: order does not matter
out = {}
res = m.predict(rev)
out["columns"] = list(res.columns)
out["probs"] = res.to_numpy().tolist()
f32 = df.copy()
f32[features] = f32[features].astype(np.float32)
out["float32Probs"] = m.predict(f32).to_numpy().tolist()
ints = df.copy()
whole = [c for c in features if (df[c] % 1 == 0).all() and not df[c].isin([0, 1]).all()]
ints[whole] = ints[whole].astype(np.int32)            # integer-valued features given as int32 columns
out["intColumns"] = len(whole)
out["intProbs"] = m.predict(ints).to_numpy().tolist() if whole else []
try:                                                  # MLflow refuses int64 for a double column (unless all 0/1)
    m.predict(ints.astype({c: np.int64 for c in whole}))
    out["int64"] = "no error"
except Exception as e:
    out["int64"] = type(e).__name__ + ": " + str(e).split("\n")[-1]
indexed = df.set_index(pd.Index(range(100, 100 + len(df))))
out["intIndex"] = list(m.predict(indexed).index)
dropped = df.columns[-1]
try:
    m.predict(df.drop(columns=[dropped]))
    out["missing"] = "no error"
except Exception as e:
    out["missing"] = type(e).__name__ + ": " + str(e).split("\n")[-1]
try:                                                  # the wrapper itself, without MLflow's schema check in front
    m._model_impl.predict(df.drop(columns=[dropped]))
    out["wrapperMissing"] = "no error"
except Exception as e:
    out["wrapperMissing"] = type(e).__name__ + ": " + str(e)
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("mlflow").addHandler(Keep())
extra = df.copy()
extra["bookmaker_notes"] = "x"
out["extra"] = {"probs": m.predict(extra).to_numpy().tolist(), "warning": " | ".join(records)}
if "home_team" in df.columns:
    bad = df.copy()
    bad.loc[0, "home_team"] = "Arsenall"
    try:
        m.predict(bad)
        out["unknownTeam"] = "no error"
    except Exception as e:
        out["unknownTeam"] = type(e).__name__ + ": " + str(e)
    newcomer = df.copy()
    newcomer.loc[0, "home_team"] = "Team Nobody Knows"
    out["unseenTeam"] = m.predict(newcomer, params={"unknown_teams": "unseen"}).to_numpy().tolist()
    out["unseenCompetition"] = m.predict(df.assign(competition="ZZ9")).to_numpy().tolist()
info = get_model_info(uri)
out["exampleInfo"] = info.saved_input_example_info
out["signatureInputs"] = info.signature.inputs.input_names()
local = mlflow.artifacts.download_artifacts(uri)
served = validate_serving_input(uri, open(local + "/" + info.saved_input_example_info["serving_input_path"]).read())
out["serving"] = {"columns": list(served.columns), "rows": len(served)}
out["onnxInputs"] = [i.name for i in mlflow.onnx.load_model(uri).graph.input]
print(json.dumps(out))
`;

// The same match with the store's team name and with an alias of it (odd spacing and case included).
// biome-ignore lint/complexity/noUselessStringRaw: Python source; String.raw keeps any backslash it gains literal
const ALIAS_SCRIPT = String.raw`
import json, sys, pandas as pd, mlflow
m = mlflow.pyfunc.load_model(sys.argv[1])
df = pd.DataFrame({"competition": ["E0", "E0"], "home_team": ["Man United", "  manchester   UNITED fc "], "away_team": ["Chelsea", "Chelsea"]})
print(json.dumps(m.predict(df).to_numpy().tolist()))
`;

describe.skipIf(!mlflowOrSkip())('registered packages as MLflow pyfunc models (Python MLflow 3.17.2)', () => {
  let url = '';
  let dir = '';
  const experiment = uniqueName('oracx-pyfunc');
  const env = () => ({ MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1' });
  const cli = (args: string[]) => runCli(args, { cwd: dir, env: env() });
  let data: Dataset;
  let teamName: Map<number, string>;

  /** Trains and registers a model as NAME@champion; returns its name and the TS model's probabilities on data. */
  const registered = async (model: string, params: string[]) => {
    const t = await cli(['train', '--model', model, '--competitions', 'E0', '--train-until', '2019-06-30', '--json', ...params.flatMap((p) => ['--param', p])]);
    expect(t.code, t.stderr).toBe(0);
    const run = t.json<TrainResult>();
    const name = uniqueName(`oracx-${model}`);
    const r = await cli(['register', '--run', String(run.runId), '--name', name, '--alias', 'champion', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const serialized = JSON.parse(readFileSync(path.join(run.artifactPath, 'model.json'), 'utf8')) as SerializedModel;
    return { name, runId: run.runId, serialized, expected: loadModel(serialized).predict(data) };
  };

  /** The DataFrame a user would build: names for rating models, the model's feature columns. */
  const frameFor = (ratings: boolean, featureNames: string[]): Frame => {
    const at = featureNames.map((f) => data.featureNames.indexOf(f));
    return {
      columns: [...(ratings ? ['competition', 'home_team', 'away_team'] : []), ...featureNames],
      data: data.matches.map((m, i) => [
        ...(ratings ? [m.competition, teamName.get(m.homeTeam)!, teamName.get(m.awayTeam)!] : []),
        ...at.map((j) => data.X[i]![j]!),
      ]),
    };
  };

  const close = (got: number[][], expected: readonly (readonly number[])[]) => {
    expect(got.length).toBe(expected.length);
    got.forEach((p, i) => {
      p.forEach((v, k) => {
        expect(Math.abs(v - expected[i]![k]!), `row ${i} outcome ${k}`).toBeLessThan(1e-5);
      });
    });
  };

  beforeAll(async () => {
    url = await mlflowServer();
    dir = tempDir();
    const c = await runCli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q'], { cwd: dir });
    expect(c.code, c.stderr).toBe(0);
    // A provider's spelling of a team, as `collect feed` users add them: it travels with rating models.
    const a = await runCli(['teams', 'alias', 'Manchester United FC', 'Man United'], { cwd: dir });
    expect(a.code, a.stderr).toBe(0);
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      const universe = await loadUniverse(store, 'core@2');
      // Early 2019-20 matches between teams every model has seen (promoted sides would be unknown teams).
      const all = toDataset(universe, trainingMatches(universe, { competitions: ['E0'], until: '2019-06-30', finishedOnly: true }));
      const known = new Set(all.matches.map((m) => m.homeTeam));
      const rows = trainingMatches(universe, { competitions: ['E0'], from: '2019-08-01', finishedOnly: true })
        .filter((m) => known.has(m.homeTeam) && known.has(m.awayTeam))
        .slice(0, 12);
      data = toDataset(universe, rows);
      teamName = new Map((await store.db.selectFrom('teams').select(['id', 'name']).execute()).map((t) => [Number(t.id), t.name]));
    } finally {
      await store.close();
    }
  });

  it('logreg: scores a float64 DataFrame with named feature columns, as oracx does, and explains schema errors', async () => {
    const { name, serialized, expected } = await registered('logreg', ['l2=10']);
    const { featureNames } = readOnnxMetadata(exportOnnx(serialized));
    const py = await pythonMlflow<PyReport>(url, SCRIPT, [`models:/${name}@champion`, JSON.stringify(frameFor(false, featureNames))]);
    expect(py.signatureInputs).toEqual(featureNames);
    expect(py.columns).toEqual(['home', 'draw', 'away']);
    close(py.probs, expected);
    close(py.float32Probs, expected);
    expect(py.intColumns).toBeGreaterThan(0);
    close(py.intProbs, expected);
    expect(py.int64).toMatch(/MlflowException: .*Can not safely convert int64 to float64/);
    expect(py.intIndex).toEqual(Array.from({ length: expected.length }, (_, i) => 100 + i));
    // MLflow enforces the signature before the wrapper runs: a missing column is its schema error, naming the column.
    expect(py.missing).toMatch(new RegExp(`MlflowException: .*Model is missing inputs \\['${featureNames.at(-1)}'\\]`));
    expect(py.wrapperMissing).toBe(`ValueError: missing input column(s): '${featureNames.at(-1)}'`);
    // An extra column is dropped by MLflow with a warning naming it; the prediction is unchanged.
    close(py.extra.probs, expected);
    expect(py.extra.warning).toMatch(/extra inputs .*bookmaker_notes.*will be ignored/);
    expect(py.exampleInfo).toEqual({
      artifact_path: 'input_example.json',
      pandas_orient: 'split',
      serving_input_path: 'serving_input_example.json',
      type: 'dataframe',
    });
    expect(py.serving.columns).toEqual(['home', 'draw', 'away']);
    expect(py.serving.rows).toBe(5);
    expect(py.onnxInputs).toEqual(['features']);
  }, 180_000);

  let dcRun = 0;

  it('dixon-coles: scores from competition and team names alone, errors on an unknown team with the closest names', async () => {
    const { name, runId, serialized, expected } = await registered('dixon-coles', []);
    dcRun = runId;
    const py = await pythonMlflow<PyReport>(url, SCRIPT, [`models:/${name}@champion`, JSON.stringify(frameFor(true, []))]);
    expect(py.signatureInputs).toEqual(['competition', 'home_team', 'away_team']);
    close(py.probs, expected);
    expect(py.unknownTeam).toMatch(/ValueError: unknown team name\(s\) in column 'home_team': 'Arsenall' \(did you mean 'Arsenal'/);
    // Scored as the graph's unseen team: a valid distribution, different from the known team's.
    const unseen = py.unseenTeam![0]!;
    expect(unseen.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(Math.abs(unseen[0]! - expected[0]![0]!)).toBeGreaterThan(1e-3);
    close(py.unseenTeam!.slice(1), expected.slice(1));
    // A competition the model never saw is the graph's unseen competition, as oracx's own model scores it.
    close(py.unseenCompetition!, loadModel(serialized).predict({ ...data, matches: data.matches.map((m) => ({ ...m, competition: 'ZZ9' })) }));
    expect(py.unseenCompetition![0]).not.toEqual(py.probs[0]);
    expect(py.onnxInputs.sort()).toEqual(['away', 'competition', 'home']);
    expect(py.serving.rows).toBe(5);
    // The store's aliases travel with the package: a provider's spelling scores as the store's name does.
    const byAlias = await pythonMlflow<number[][]>(url, ALIAS_SCRIPT, [`models:/${name}@champion`]);
    expect(byAlias[0]).toEqual(byAlias[1]);
    expect(byAlias[0]!.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
  }, 180_000);

  it('the built CLI (dist/) writes the same loader module and team names into a package', async () => {
    expect(dcRun).toBeGreaterThan(0);
    const r = await spawnCli(['register', '--run', String(dcRun), '--name', 'oracx-dc-local', '--registry', 'local', '--json'], { cwd: dir }).done;
    expect(r.code, r.stderr).toBe(0);
    const source = r.json<{ version: { source: string } }>().version.source;
    expect(readFileSync(path.join(source, 'code', `${PYFUNC_MODULE}.py`), 'utf8')).toBe(PYFUNC_SOURCE);
    const inputs = JSON.parse(readFileSync(path.join(source, 'pyfunc-inputs.json'), 'utf8')) as { teams: { id: number; name: string }[] };
    expect(inputs.teams.length).toBeGreaterThan(15);
    for (const t of inputs.teams) expect(t.name).toBe(teamName.get(t.id));
  });

  describe('an ensemble with a dixon-coles member', () => {
    let name = '';
    let frame: Frame;
    let expected: readonly (readonly number[])[];

    beforeAll(async () => {
      const r = await registered('ensemble', ['members=dixon-coles,logreg', 'combine=average']);
      name = r.name;
      expected = r.expected;
      const { featureNames } = readOnnxMetadata(exportOnnx(r.serialized));
      expect(featureNames.length).toBeGreaterThan(0);
      frame = frameFor(true, featureNames);
    }, 180_000);

    it('takes team names and feature columns together', async () => {
      const py = await pythonMlflow<PyReport>(url, SCRIPT, [`models:/${name}@champion`, JSON.stringify(frame)]);
      expect(py.signatureInputs.slice(0, 3)).toEqual(['competition', 'home_team', 'away_team']);
      expect(py.signatureInputs.slice(3)).toEqual(frame.columns.slice(3));
      close(py.probs, expected);
      expect(py.onnxInputs.sort()).toEqual(['away', 'competition', 'features', 'home']);
    }, 180_000);

    it('is served by mlflow models serve, answering dataframe_split, dataframe_records, inputs and instances bodies', async () => {
      const server = await mlflowModelsServe(url, `models:/${name}@champion`);
      const records = frame.data.map((row) => Object.fromEntries(frame.columns.map((c, k) => [c, row[k]])));
      const columnar = Object.fromEntries(frame.columns.map((c, k) => [c, frame.data.map((row) => row[k])]));
      const post = server.invoke;
      try {
        for (const body of [{ dataframe_split: frame }, { dataframe_records: records }, { inputs: columnar }, { instances: records }]) {
          const res = await post(body);
          const text = await res.text();
          expect(res.status, `${Object.keys(body)[0]}: ${text}`).toBe(200);
          const predictions = (JSON.parse(text) as { predictions: Array<{ home: number; draw: number; away: number }> }).predictions;
          close(
            predictions.map((p) => [p.home, p.draw, p.away]),
            expected,
          );
        }
        const bad = await post({ dataframe_records: [{ ...records[0], home_team: 'Arsenall' }] });
        expect(bad.status).toBe(400);
        expect(await bad.text()).toMatch(/unknown team name\(s\) in column 'home_team': 'Arsenall'/);
        const { home_team: _dropped, ...withoutHome } = records[0]!;
        const missing = await post({ dataframe_records: [withoutHome] });
        expect(missing.status).toBe(400);
        expect(await missing.text()).toMatch(/Model is missing inputs \['home_team'\]/);
      } finally {
        server.stop();
      }
    }, 240_000);
  });
});
