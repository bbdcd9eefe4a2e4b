// Seeded data and fitted models shared by the ONNX tests: two trained competitions, then 10,000 rows to score that
// include promoted (unseen) teams, an unseen competition and teams playing outside the competition they were fitted in.
import { getModel, loadModel, type Dataset, type Model, type SerializedModel } from '../../src/ml/models/index.js';
import { concatDatasets, simulateLeague } from '../../src/ml/models/synthetic.js';
import { mulberry32, normal } from '../../src/ml/random.js';

/** Extra columns with realistic scales: Elo levels near 1500, rest days, a constant and a large-offset column. */
export const EXTRA_FEATURES = ['elo_home', 'elo_away', 'rest_days', 'form5', 'constant', 'big_offset'];

function withExtraFeatures(data: Dataset, seed: number): Dataset {
  const rng = mulberry32(seed);
  const X = data.X.map((r) => {
    const elo = r[0]!;
    return Float64Array.of(
      ...r,
      1500 + elo / 2 + normal(rng, 0, 30),
      1500 - elo / 2 + normal(rng, 0, 30),
      3 + Math.floor(rng() * 10),
      Math.floor(rng() * 16) + elo / 200,
      7,
      1e2 + normal(rng, 0, 5),
    );
  });
  return { X, featureNames: [...data.featureNames, ...EXTRA_FEATURES], matches: data.matches };
}

const league = (seed: number, seasons: number, competition: string, firstTeamId: number, firstMatchId: number): Dataset =>
  simulateLeague({ seed, seasons, competition, firstTeamId, firstMatchId }).data;

/** Training data: three seasons of two competitions (ids 1.. and 500..). */
export const train = withExtraFeatures(concatDatasets(league(7, 3, 'SYN', 1, 1), league(8, 3, 'SYN2', 500, 100_000)), 1);

/**
 * Exactly 10,000 rows to score: the same leagues over more seasons (promoted teams the fit never saw) plus a
 * competition the fit never saw whose first ids overlap teams of SYN (known teams in an unknown competition).
 */
export const evaluation: Dataset = (() => {
  const all = withExtraFeatures(concatDatasets(league(7, 12, 'SYN', 1, 1), league(8, 8, 'SYN2', 500, 100_000), league(99, 7, 'OTHER', 15, 200_000)), 2);
  return { X: all.X.slice(0, 10_000), featureNames: all.featureNames, matches: all.matches.slice(0, 10_000) };
})();

/** The cases every parity test runs: a name, and how to get the fitted model. */
export interface ModelCase {
  name: string;
  fit: () => Promise<Model>;
}

const fit = (kind: string, params: Record<string, number | string> = {}, data: Dataset = train): Promise<Model> =>
  getModel(kind).fit(data, params, { seed: 42 });

/** An ensemble assembled from fitted members with chosen weights and temperatures (every temper path, mlp inside). */
async function handBuiltEnsemble(): Promise<Model> {
  const members = [await fit('dixon-coles'), await fit('mlp', { epochs: 15, hiddenUnits: 8 }), await fit('elo-ordered')].map((m) => m.serialize());
  const serialized: SerializedModel = {
    kind: 'ensemble',
    formatVersion: 1,
    params: { members: 'dixon-coles,mlp,elo-ordered', combine: 'average', weights: '0.5,0.3,0.2', calibrate: 'temperature', calibrationFraction: 0.15 },
    featureNames: [...new Set(members.flatMap((m) => m.featureNames))],
    state: { members, weights: [0.5, 0.3, 0.2], temperatures: [0.8, 1.3, 1] },
  };
  return loadModel(serialized);
}

export const CASES: ModelCase[] = [
  { name: 'logreg', fit: () => fit('logreg') },
  { name: 'mlp (1 hidden layer)', fit: () => fit('mlp', { epochs: 20, hiddenUnits: 16 }) },
  { name: 'mlp (2 hidden layers)', fit: () => fit('mlp', { epochs: 20, hiddenUnits: 12, layers: 2 }) },
  { name: 'dixon-coles', fit: () => fit('dixon-coles') },
  { name: 'dixon-coles (average prior, maxGoals 6)', fit: () => fit('dixon-coles', { newTeamPrior: 'average', maxGoals: 6 }) },
  { name: 'elo-ordered', fit: () => fit('elo-ordered') },
  { name: 'elo-ordered (3 features)', fit: () => fit('elo-ordered', { features: 'elo_diff,rest_days,elo_home' }) },
  { name: 'ensemble (default: log pool of dixon-coles, elo-ordered, logreg learnt by stacking)', fit: () => fit('ensemble') },
  { name: 'ensemble (dixon-coles + logreg, calibrated average)', fit: () => fit('ensemble', { members: 'dixon-coles,logreg', combine: 'average' }) },
  { name: 'ensemble (dixon-coles + mlp + elo-ordered, tempered)', fit: handBuiltEnsemble },
];
