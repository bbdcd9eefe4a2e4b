/**
 * The columns of a training window each model reads, for the dataset an experiment tracker records: a feature model
 * reads its features and the result, Dixon–Coles the fixtures and scores (none of the features), an ensemble what its
 * members read. Known from the model and its params before the fit, so a run can log its dataset as it starts.
 */
import { ensembleMemberNames } from './ensemble.js';
import { commaList } from './params.js';
import type { ParamValues } from './types.js';

/** One column as MLflow's colspec schema types it (mlflow.types.DataType names). */
export interface DatasetColumn {
  name: string;
  type: 'double' | 'long' | 'string';
}

/** Match columns, in the order a dataset lists them: who played whom and when, then the scores. */
const MATCH_COLUMNS: Readonly<Record<string, DatasetColumn['type']>> = {
  date: 'string',
  competition: 'string',
  season: 'string',
  home_team: 'long',
  away_team: 'long',
  home_goals: 'long',
  away_goals: 'long',
};

/** The label of a feature model: H, D or A (from the goals), as football-data's FTR column writes it. */
const RESULT: DatasetColumn = { name: 'result', type: 'string' };

/**
 * The columns `model` reads from a training window whose feature set has `featureNames`: match columns first (in
 * MATCH_COLUMNS order), then features (in the feature set's order), then the result. Every model reads the date: rows
 * come in date order, which time decay and the chronological hold-outs (l2=auto, early stopping) rely on.
 */
export function modelColumns(model: string, params: Readonly<ParamValues>, featureNames: readonly string[]): DatasetColumn[] {
  const match = new Set<string>(['date']);
  const features = new Set<string>();
  let result = false;
  const add = (name: string, p: Readonly<ParamValues>): void => {
    switch (name) {
      case 'dixon-coles':
        // One parameter set per competition, fitted on the scores of its teams; the features are not read.
        for (const c of ['competition', 'home_team', 'away_team', 'home_goals', 'away_goals']) match.add(c);
        return;
      case 'elo-ordered':
        for (const f of commaList(String(p.features ?? 'elo_diff'))) features.add(f);
        result = true;
        return;
      case 'ensemble':
        // Members are fitted with their own defaults; stacking cuts its inner folds at season starts.
        if (String(p.combine ?? 'stack') === 'stack') match.add('season');
        for (const member of ensembleMemberNames(String(p.members ?? ''))) add(member, {});
        return;
      default:
        // logreg, mlp: every feature of the set.
        for (const f of featureNames) features.add(f);
        result = true;
    }
  };
  add(model, params);
  const columns: DatasetColumn[] = Object.entries(MATCH_COLUMNS)
    .filter(([name]) => match.has(name))
    .map(([name, type]) => ({ name, type }));
  // The feature set's order; a name it does not have (an elo-ordered features param) still says what was asked for.
  for (const f of [...featureNames.filter((f) => features.has(f)), ...[...features].filter((f) => !featureNames.includes(f))])
    columns.push({ name: f, type: 'double' });
  if (result) columns.push(RESULT);
  return columns;
}
