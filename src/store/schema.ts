/** Table types for kysely: the one description of the store's schema used by queries. */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Timestamps are ISO-8601 strings in both dialects (pg's parser is set to return strings). */
type Timestamp = ColumnType<string, string | undefined, string>;

export interface CompetitionsTable {
  id: Generated<number>;
  code: string;
  name: string | null;
}

export interface TeamsTable {
  id: Generated<number>;
  name: string;
}

export interface TeamAliasesTable {
  /** Normalised, case-folded name as found in a source. */
  alias: string;
  team_id: number;
}

/** Stats columns shared by the table type and the writer. */
export const MATCH_STAT_COLUMNS = [
  'home_shots',
  'away_shots',
  'home_shots_on_target',
  'away_shots_on_target',
  'home_woodwork',
  'away_woodwork',
  'home_corners',
  'away_corners',
  'home_fouls',
  'away_fouls',
  'home_free_kicks_conceded',
  'away_free_kicks_conceded',
  'home_offsides',
  'away_offsides',
  'home_yellow',
  'away_yellow',
  'home_red',
  'away_red',
  'home_booking_points',
  'away_booking_points',
] as const;
export type MatchStatColumn = (typeof MATCH_STAT_COLUMNS)[number];

export type MatchesTable = {
  id: Generated<number>;
  competition_id: number;
  season: string;
  /** ISO yyyy-mm-dd (TEXT in SQLite, DATE in PostgreSQL). */
  date: string;
  kickoff_time: string | null;
  home_team_id: number;
  away_team_id: number;
  status: string;
  fthg: number | null;
  ftag: number | null;
  ftr: string | null;
  hthg: number | null;
  htag: number | null;
  htr: string | null;
  referee: string | null;
  attendance: number | null;
  /** Hash of every stored field and odds quote: equal hash means an unchanged row. */
  row_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
} & { [K in MatchStatColumn]: number | null };

export interface OddsTable {
  match_id: number;
  bookmaker: string;
  market: string;
  line: number;
  kind: string;
  home: number | null;
  draw: number | null;
  away: number | null;
  over: number | null;
  under: number | null;
  source: string;
}

export interface IngestRunsTable {
  id: Generated<number>;
  source: string;
  source_kind: string;
  file_hash: string | null;
  status: string;
  rows_read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  last_line: number;
  resumed_from: number | null;
  error: string | null;
  started_at: Timestamp;
  finished_at: string | null;
}

export interface QuarantineTable {
  id: Generated<number>;
  run_id: number;
  source: string;
  file_hash: string;
  line: number;
  raw: string;
  reason: string;
  created_at: Timestamp;
}

export interface FeatureSetsTable {
  id: Generated<number>;
  name: string;
  version: number;
  definition_hash: string;
  /** Canonical JSON of the definition. */
  definition: string;
  /** JSON array of feature names, the order of every stored vector. */
  feature_names: string;
  created_at: Timestamp;
}

export interface FeatureValuesTable {
  feature_set_id: number;
  match_id: number;
  /** JSON array of numbers. */
  vals: string;
}

export interface TrainingRunsTable {
  id: Generated<number>;
  model: string;
  feature_set: string;
  /** JSON object. */
  params: string;
  seed: number;
  /** Comma-separated division codes. */
  competitions: string;
  train_from: string | null;
  train_until: string | null;
  n_matches: number;
  data_hash: string | null;
  code_version: string | null;
  status: string;
  /** JSON object of final metrics. */
  metrics: string | null;
  artifact_path: string | null;
  error: string | null;
  started_at: Timestamp;
  finished_at: string | null;
}

export interface TrainingLogsTable {
  run_id: number;
  epoch: number;
  loss: number;
  val_loss: number | null;
  logged_at: Timestamp;
}

export interface ModelVersionsTable {
  id: Generated<number>;
  run_id: number;
  model: string;
  feature_set: string;
  status: string;
  artifact_path: string;
  created_at: Timestamp;
}

export interface TuneStudiesTable {
  id: Generated<number>;
  name: string;
  model: string;
  feature_set: string;
  sampler: string;
  /** JSON of the study's fixed settings. */
  settings: string;
  created_at: Timestamp;
}

export interface TuneTrialsTable {
  id: Generated<number>;
  study_id: number;
  number: number;
  status: string;
  /** JSON object of the sampled params. */
  params: string;
  value: number | null;
  /** JSON array of running values after each fold. */
  intermediate: ColumnType<string, string | undefined, string>;
  worker: string | null;
  error: string | null;
  started_at: string | null;
  heartbeat_at: string | null;
  finished_at: string | null;
}

export interface RegisteredModelsTable {
  id: Generated<number>;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

export interface RegistryVersionsTable {
  id: Generated<number>;
  model_id: number;
  version: number;
  run_id: number;
  model_kind: string;
  feature_set: string;
  source: string;
  mlflow_run_id: string | null;
  /** JSON object. */
  metrics: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

export interface RegistryAliasesTable {
  model_id: number;
  alias: string;
  version: number;
  updated_at: Timestamp;
}

export interface RegistryAuditTable {
  id: Generated<number>;
  model_name: string;
  action: string;
  alias: string | null;
  from_version: number | null;
  to_version: number | null;
  backend: string;
  actor: string;
  /** JSON object. */
  details: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

export interface MlflowSpoolTable {
  id: Generated<number>;
  run_key: string;
  training_run_id: number | null;
  experiment: string;
  /** JSON of SpoolPayload. */
  payload: string;
  artifact_dir: string | null;
  mlflow_run_id: string | null;
  stage: string;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  created_at: Timestamp;
  synced_at: string | null;
}

export interface PredictionsTable {
  id: Generated<number>;
  match_id: number | null;
  competition: string;
  season: string;
  date: string;
  home_team_id: number;
  away_team_id: number;
  model_name: string | null;
  model_version: number | null;
  model_alias: string | null;
  model_run: string | null;
  model_uri: string;
  variant: string | null;
  feature_set: string;
  inputs_hash: string;
  p_home: number;
  p_draw: number;
  p_away: number;
  source: PredictionSource;
  principal: string | null;
  request_id: string | null;
  created_at: Timestamp;
}

/** Who made a stored prediction: `oracx predict`, the service, or the refresh after a result (since 0010). */
export type PredictionSource = 'cli' | 'api' | 'refresh';

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  role: string;
  prefix: string;
  key_hash: string;
  owner: string | null;
  created_by: string;
  created_at: Timestamp;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  rotated_to: number | null;
}

export interface SecurityAuditTable {
  id: Generated<number>;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  ip: string | null;
  request_id: string | null;
  /** JSON object. */
  details: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
}

export interface SecretsTable {
  name: string;
  key_id: string;
  iv: string;
  tag: string;
  ciphertext: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface FeedMatchesTable {
  provider: string;
  provider_match_id: string;
  match_id: number;
  provider_status: string;
  updated_at: Timestamp;
}

export interface FeedCursorsTable {
  provider: string;
  url: string;
  etag: string | null;
  last_modified: string | null;
  body_hash: string | null;
  polled_at: Timestamp;
}

export interface FeedRequestsTable {
  id: Generated<number>;
  provider: string;
  /** Epoch milliseconds (pg returns bigint as a string: convert with Number). */
  sent_at_ms: ColumnType<number | string, number, number>;
}

export interface MatchChangesTable {
  id: Generated<number>;
  match_id: number;
  field: string;
  old_value: string | null;
  new_value: string | null;
  provider: string;
  provider_match_id: string;
  created_at: Timestamp;
}

/** Event types the outbox holds (the CHECK since 0009 admits any snake_case word). */
export type EventType = 'match_finished' | 'prediction_updated';

export interface EventsTable {
  id: Generated<number>;
  type: EventType;
  match_id: number | null;
  dedupe_key: string;
  /** JSON object. */
  payload: string;
  created_at: Timestamp;
}

export interface WebhookSubscriptionsTable {
  id: Generated<number>;
  url: string;
  /** Comma-separated event types. */
  events: string;
  secret_key_id: string;
  secret_iv: string;
  secret_tag: string;
  secret_ciphertext: string;
  max_attempts: ColumnType<number, number | undefined, number>;
  /** pg returns bigint as a string: convert with Number. */
  after_event_id: ColumnType<number | string, number | undefined, number>;
  created_at: Timestamp;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  subscription_id: ColumnType<number | string, number, number>;
  event_id: ColumnType<number | string, number, number>;
  state: ColumnType<DeliveryState, DeliveryState | undefined, DeliveryState>;
  attempts: ColumnType<number, number | undefined, number>;
  /** Epoch milliseconds (pg: string). */
  next_attempt_at_ms: ColumnType<number | string, number, number>;
  lease_owner: string | null;
  lease_until_ms: ColumnType<number | string | null, number | null | undefined, number | null>;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  delivered_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface WebhookCursorsTable {
  name: string;
  last_event_id: ColumnType<number | string, number, number>;
  updated_at: Timestamp;
}

export interface EventConsumersTable {
  name: string;
  last_event_id: ColumnType<number | string, number | undefined, number>;
  lease_owner: string | null;
  lease_until_ms: ColumnType<number | string | null, number | null | undefined, number | null>;
  updated_at: Timestamp;
}

export interface EventReceiptsTable {
  consumer: string;
  event_id: ColumnType<number | string, number, number>;
  outcome: 'refreshed' | 'skipped';
  detail: string;
  created_at: Timestamp;
}

export interface Database {
  competitions: CompetitionsTable;
  teams: TeamsTable;
  team_aliases: TeamAliasesTable;
  matches: MatchesTable;
  odds: OddsTable;
  ingest_runs: IngestRunsTable;
  quarantine: QuarantineTable;
  feature_sets: FeatureSetsTable;
  feature_values: FeatureValuesTable;
  training_runs: TrainingRunsTable;
  training_logs: TrainingLogsTable;
  model_versions: ModelVersionsTable;
  tune_studies: TuneStudiesTable;
  tune_trials: TuneTrialsTable;
  registered_models: RegisteredModelsTable;
  registry_versions: RegistryVersionsTable;
  registry_aliases: RegistryAliasesTable;
  registry_audit: RegistryAuditTable;
  mlflow_spool: MlflowSpoolTable;
  predictions: PredictionsTable;
  api_keys: ApiKeysTable;
  security_audit: SecurityAuditTable;
  secrets: SecretsTable;
  feed_matches: FeedMatchesTable;
  feed_cursors: FeedCursorsTable;
  feed_requests: FeedRequestsTable;
  match_changes: MatchChangesTable;
  events: EventsTable;
  pipeline_runs: PipelineRunsTable;
  stage_runs: StageRunsTable;
  pipeline_locks: PipelineLocksTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_cursors: WebhookCursorsTable;
  event_consumers: EventConsumersTable;
  event_receipts: EventReceiptsTable;
  train_jobs: TrainJobsTable;
}

/** A queued train job's training runs (one per attempt that got as far as recording its run). */
export interface TrainJobsTable {
  job_id: string;
  run_id: number;
  created_at: Generated<string>;
}

export type MatchRow = Selectable<MatchesTable>;
export type NewIngestRun = Insertable<IngestRunsTable>;
export type IngestRun = Selectable<IngestRunsTable>;

/** The lease of a pipeline being run (migration 0012): at most one holder per pipeline. */
export interface PipelineLocksTable {
  pipeline: string;
  token: string;
  /** Who holds it: host:pid and the command or job. */
  holder: string;
  acquired_at: Timestamp;
  /** Epoch milliseconds; an unrenewed lease lapses then. */
  expires_ms: ColumnType<number | string, number, number>;
}

/** One `oracx run` invocation. */
export interface PipelineRunsTable {
  id: Generated<number>;
  pipeline: string;
  file: string;
  code_version: string;
  status: string;
  error: string | null;
  started_at: Timestamp;
  finished_at: string | null;
}

/** One stage considered by a pipeline run: inputs and outputs are JSON. */
export interface StageRunsTable {
  id: Generated<number>;
  pipeline_run_id: number;
  pipeline: string;
  stage: string;
  kind: string;
  input_hash: string;
  inputs: string;
  outputs: string | null;
  status: string;
  error: string | null;
  started_at: Timestamp;
  finished_at: string | null;
  duration_ms: number | null;
}
