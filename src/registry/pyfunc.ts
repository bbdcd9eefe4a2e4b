/**
 * What a model package tells Python's MLflow about its pyfunc wrapper (pyfunc-source.ts): the column signature, the
 * vocabularies the wrapper maps team names and competition codes with, an input example from real rows, and the
 * pinned Python environment.
 */
import type { Dataset } from '../ml/models/types.js';
import type { OnnxMetadata } from '../onnx/metadata.js';

/**
 * Versions the package pins, the ones the tests run it with (tests/python/requirements.txt; a unit test keeps the two
 * equal). onnx is not needed to score, but MLflow's onnx flavor (mlflow.onnx.load_model) imports it.
 */
export const PYTHON_PINS = { mlflow: '3.17.2', numpy: '2.4.6', onnx: '1.23.2', onnxruntime: '1.32.0', pandas: '3.1.1' } as const;
/** The Python the environment files ask for (pandas 3 needs ≥ 3.11). */
export const PYTHON_VERSION = '3.11';

/** requirements.txt lines, as MLflow writes them (sorted, `name==version`). */
export function pythonRequirements(): string[] {
  return Object.entries(PYTHON_PINS)
    .map(([name, version]) => `${name}==${version}`)
    .sort();
}

/** One column of an MLflow column-based signature, as MLflow 3 serialises it. */
export interface ColumnSpec {
  type: 'double' | 'string';
  name: string;
  required: true;
}

/** Output columns of the wrapper: P(home win), P(draw), P(away win). */
export const OUTPUT_COLUMNS = ['home', 'draw', 'away'] as const;
/** Input columns of rating models (names, not store ids). */
export const RATING_COLUMNS = ['competition', 'home_team', 'away_team'] as const;

/** The package's pyfunc-inputs.json: everything the wrapper maps DataFrame columns with. */
export interface PyfuncInputs {
  format: 1;
  kind: string;
  /** Columns of the graph's `features` input, in order. */
  featureNames: string[];
  /** The graph's team vocabulary in order (index i = store id teams[i] of oracx.teams), with store names; null without team inputs. */
  teams: { id: number; name: string; aliases?: string[] }[] | null;
  /** Competition codes in vocabulary order; null without that input. */
  competitions: string[] | null;
}

/** Whether the graph takes team/competition inputs. */
function takesRatings(meta: OnnxMetadata): boolean {
  return meta.inputs.some((i) => i.name === 'home' || i.name === 'away' || i.name === 'competition');
}

/**
 * The wrapper's vocabularies. teamNames maps store team ids to names; every id of the graph's vocabulary must have one
 * (register reads them from the store the model was trained on). teamAliases (the store's team_aliases: lower-cased,
 * whitespace-collapsed name → team id) gives each team the other names sources spell it with (`oracx teams alias`),
 * so a DataFrame written with a provider's names scores as `oracx predict` would.
 */
export function pyfuncInputs(meta: OnnxMetadata, teamNames: ReadonlyMap<number, string>, teamAliases: ReadonlyMap<string, number> = new Map()): PyfuncInputs {
  let teams: PyfuncInputs['teams'] = null;
  if (meta.teams !== null) {
    const missing = meta.teams.filter((id) => !teamNames.has(id));
    if (missing.length > 0) {
      throw new RangeError(
        `team id(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ' …' : ''} of the ${meta.kind} model's vocabulary have no name in the store`,
      );
    }
    const aliasesOf = new Map<number, string[]>();
    for (const [alias, id] of teamAliases) aliasesOf.set(id, [...(aliasesOf.get(id) ?? []), alias]);
    teams = meta.teams.map((id) => {
      const name = teamNames.get(id)!;
      const aliases = (aliasesOf.get(id) ?? []).filter((a) => a !== name.toLowerCase()).sort();
      return { id, name, ...(aliases.length > 0 ? { aliases } : {}) };
    });
  }
  return { format: 1, kind: meta.kind, featureNames: [...meta.featureNames], teams, competitions: meta.competitions === null ? null : [...meta.competitions] };
}

/** One inference parameter of an MLflow signature, as MLflow 3 serialises it. */
export interface ParamSpec {
  name: string;
  default: string;
  shape: null;
  type: 'string';
}

/**
 * The column-based signature: rating columns (strings) first when the graph rates teams, then one double per feature.
 * Rating models also take the `unknown_teams` parameter ('error', the default, or 'unseen').
 */
export function pyfuncSignature(meta: OnnxMetadata): { inputs: ColumnSpec[]; outputs: ColumnSpec[]; params: ParamSpec[] | null } {
  const col = (name: string, type: ColumnSpec['type']): ColumnSpec => ({ type, name, required: true });
  const ratings = takesRatings(meta);
  return {
    inputs: [...(ratings ? RATING_COLUMNS.map((c) => col(c, 'string')) : []), ...meta.featureNames.map((f) => col(f, 'double'))],
    outputs: OUTPUT_COLUMNS.map((c) => col(c, 'double')),
    params: ratings ? [{ name: 'unknown_teams', default: 'error', shape: null, type: 'string' }] : null,
  };
}

/** A pandas DataFrame in MLflow's `split` orient. */
export interface SplitFrame {
  columns: string[];
  data: Array<Array<number | string>>;
}

/**
 * The input example: rows [from, to) of data (real matches the model was checked on) in the signature's columns,
 * leaving out rows with a team outside the model's vocabulary (the wrapper would refuse them).
 */
export function pyfuncExample(meta: OnnxMetadata, inputs: PyfuncInputs, data: Dataset, from: number, to: number): SplitFrame {
  const columns = pyfuncSignature(meta).inputs.map((c) => c.name);
  const teamName = new Map((inputs.teams ?? []).map((t) => [t.id, t.name]));
  const featureAt = meta.featureNames.map((f) => {
    const j = data.featureNames.indexOf(f);
    if (j < 0) throw new RangeError(`input example: feature '${f}' is not in the dataset`);
    return j;
  });
  const rows: SplitFrame['data'] = [];
  for (let i = from; i < to; i++) {
    const m = data.matches[i]!;
    const row: Array<number | string> = [];
    if (takesRatings(meta)) {
      const home = teamName.get(m.homeTeam);
      const away = teamName.get(m.awayTeam);
      if (home === undefined || away === undefined) continue;
      row.push(m.competition, home, away);
    }
    for (const j of featureAt) row.push(data.X[i]![j]!);
    rows.push(row);
  }
  return { columns, data: rows };
}
