/** The predictions table: every forecast oracx made (CLI or API), written in batches, read back with filters. */
import type { Insertable } from 'kysely';
import type { PredictionSource, PredictionsTable } from '../store/schema.js';
import type { Store } from '../store/connect.js';

export type PredictionRow = Insertable<PredictionsTable>;

/** Every column written per prediction (the rest are generated), in insert order. */
export const PREDICTION_COLUMNS = [
  'match_id',
  'competition',
  'season',
  'date',
  'home_team_id',
  'away_team_id',
  'model_name',
  'model_version',
  'model_alias',
  'model_run',
  'model_uri',
  'variant',
  'feature_set',
  'inputs_hash',
  'p_home',
  'p_draw',
  'p_away',
  'source',
  'principal',
  'request_id',
] as const satisfies ReadonlyArray<keyof PredictionRow>;
// A column added to the predictions table must be listed above too: this stops compiling until it is.
type Unlisted = Exclude<keyof PredictionRow, (typeof PREDICTION_COLUMNS)[number] | 'id' | 'created_at'>;
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;

/** Writes rows in one transaction (all or none), through the store's bulk insert. */
export async function insertPredictions(store: Store, rows: readonly PredictionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((row) => PREDICTION_COLUMNS.map((c) => row[c] ?? null));
  await store.bulkInsert('predictions', PREDICTION_COLUMNS, values);
}

/** A stored prediction as the API and CLI show it. */
export interface StoredPrediction {
  id: number;
  matchId: number | null;
  competition: string;
  season: string;
  date: string;
  home: string;
  away: string;
  model: { uri: string; name: string | null; version: number | null; alias: string | null; run: string | null; variant: string | null };
  featureSet: string;
  inputsHash: string;
  probabilities: { home: number; draw: number; away: number };
  source: PredictionSource;
  principal: string | null;
  requestId: string | null;
  createdAt: string;
}

/** Filters of listPredictions. */
export interface PredictionQuery {
  matchId?: number;
  competition?: string;
  modelName?: string;
  modelVersion?: number;
  source?: PredictionSource;
  principal?: string;
  /** created_at bounds, ISO timestamps or dates. */
  since?: string;
  until?: string;
  limit: number;
  /** Newest first: rows with id below this one. */
  beforeId?: number;
}

/** The predictions with their team names, every column StoredPrediction needs (filter and order it as wanted). */
export function predictionsQuery(store: Store) {
  return store.db
    .selectFrom('predictions as p')
    .innerJoin('teams as h', 'h.id', 'p.home_team_id')
    .innerJoin('teams as a', 'a.id', 'p.away_team_id')
    .select([
      'p.id',
      'p.match_id',
      'p.competition',
      'p.season',
      'p.date',
      'h.name as home',
      'a.name as away',
      'p.model_uri',
      'p.model_name',
      'p.model_version',
      'p.model_alias',
      'p.model_run',
      'p.variant',
      'p.feature_set',
      'p.inputs_hash',
      'p.p_home',
      'p.p_draw',
      'p.p_away',
      'p.source',
      'p.principal',
      'p.request_id',
      'p.created_at',
    ]);
}

type PredictionQueryRow = Awaited<ReturnType<ReturnType<typeof predictionsQuery>['execute']>>[number];

/** A row of predictionsQuery as the API, the CLI and exports show it. */
export function storedPrediction(r: PredictionQueryRow): StoredPrediction {
  return {
    id: Number(r.id),
    matchId: r.match_id === null ? null : Number(r.match_id),
    competition: r.competition,
    season: r.season,
    date: r.date,
    home: r.home,
    away: r.away,
    model: { uri: r.model_uri, name: r.model_name, version: r.model_version, alias: r.model_alias, run: r.model_run, variant: r.variant },
    featureSet: r.feature_set,
    inputsHash: r.inputs_hash,
    probabilities: { home: r.p_home, draw: r.p_draw, away: r.p_away },
    source: r.source,
    principal: r.principal,
    requestId: r.request_id,
    createdAt: r.created_at,
  };
}

/** Newest first, keyset-paged by id. */
export async function listPredictions(store: Store, q: PredictionQuery): Promise<{ items: StoredPrediction[]; nextBeforeId: number | null }> {
  let query = predictionsQuery(store);
  if (q.matchId !== undefined) query = query.where('p.match_id', '=', q.matchId);
  if (q.competition !== undefined) query = query.where('p.competition', '=', q.competition);
  if (q.modelName !== undefined) query = query.where('p.model_name', '=', q.modelName);
  if (q.modelVersion !== undefined) query = query.where('p.model_version', '=', q.modelVersion);
  if (q.source !== undefined) query = query.where('p.source', '=', q.source);
  if (q.principal !== undefined) query = query.where('p.principal', '=', q.principal);
  if (q.since !== undefined) query = query.where('p.created_at', '>=', q.since);
  if (q.until !== undefined) query = query.where('p.created_at', '<=', q.until);
  if (q.beforeId !== undefined) query = query.where('p.id', '<', q.beforeId);
  const rows = await query
    .orderBy('p.id', 'desc')
    .limit(q.limit + 1)
    .execute();
  const page = rows.slice(0, q.limit);
  return { items: page.map(storedPrediction), nextBeforeId: rows.length > q.limit ? Number(page[page.length - 1]!.id) : null };
}
