/** The registry contract shared by the local store and MLflow: registered models, numbered versions, aliases. */
import type { AuditEntry } from './audit.js';
import type { RegistryEvent } from './events.js';

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
  /** The version's own description (MLflow shows it on the version page); the local registry keeps none. */
  description?: string;
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
  /** The registered model's description, set when this registration creates the model. */
  description?: string;
  /** The new version's description (MLflow only: the local store has no column for it). */
  versionDescription?: string;
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
  /**
   * Records an audit event where every user of this registry sees it: MLflow gets an event tag on the registered model
   * and tags on the versions it moved an alias between; the local registry's history is the store's audit table,
   * which recordEvent (audit.ts) writes for both backends, so here it does nothing.
   */
  appendEvent(event: RegistryEvent): Promise<void>;
  /** The audit history of a model, oldest first, as this registry holds it; warnings name records it had to skip. */
  history(name: string): Promise<{ entries: AuditEntry[]; warnings: string[] }>;
}

/** Alias names as MLflow accepts them (and "latest" is reserved there). */
export const ALIAS_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;

/** Registered model names: what both MLflow and a folder name can hold. */
export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
