/** The registry contract shared by the local store and MLflow: registered models, numbered versions, aliases. */

/** Where registered models live. */
export type RegistryBackend = 'local' | 'mlflow';

/** One registered version of a model. */
export interface VersionRecord {
  name: string;
  version: number;
  /** The oracx training run (local store) it came from, when known. */
  runId: number | null;
  mlflowRunId: string | null;
  modelKind: string;
  featureSet: string;
  /** Local folder (local backend) or MLflow artifact URI of the model package. */
  source: string;
  status: 'READY' | 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION';
  /** Figures recorded at registration (train metrics, the params fitted with and which were chosen by l2=auto, ONNX parity, quantisation). */
  metrics: Record<string, unknown>;
  aliases: string[];
  createdAt: string;
}

/** A registered model with its aliases. */
export interface ModelRecord {
  name: string;
  description: string;
  latestVersion: number | null;
  versions: number;
  /** alias → version */
  aliases: Record<string, number>;
  createdAt: string;
}

/** What register needs: a prepared package folder and where it came from. */
export interface RegisterInput {
  name: string;
  /** Folder holding MLmodel, model.onnx, model.json, metadata.json… copied or uploaded as a whole. */
  packageDir: string;
  runId: number;
  mlflowRunId: string | null;
  modelKind: string;
  featureSet: string;
  metrics: Record<string, unknown>;
  description?: string;
}

/** Registry operations; every backend gives the same semantics and the same errors. */
export interface Registry {
  readonly backend: RegistryBackend;
  /** Where this registry lives, for messages (a store path or a tracking URI, credentials redacted). */
  readonly location: string;
  register(input: RegisterInput): Promise<VersionRecord>;
  listModels(): Promise<ModelRecord[]>;
  /** Throws UserError for an unknown name. */
  getModel(name: string): Promise<ModelRecord>;
  listVersions(name: string): Promise<VersionRecord[]>;
  /** Throws UserError for an unknown name or version. */
  getVersion(name: string, version: number): Promise<VersionRecord>;
  /** null when the alias is not set. */
  getAlias(name: string, alias: string): Promise<VersionRecord | null>;
  setAlias(name: string, alias: string, version: number): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Copies or downloads the version's package into destDir; returns the files written. */
  pull(version: VersionRecord, destDir: string): Promise<string[]>;
}

/** Alias names as MLflow accepts them (and "latest" is reserved there). */
export const ALIAS_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;

/** Registered model names: what both MLflow and a folder name can hold. */
export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
