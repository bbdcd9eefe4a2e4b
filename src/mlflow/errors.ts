/**
 * Errors of the MLflow client. They are UserErrors (exit 1 with a one-line message and a hint): an unreachable or
 * misconfigured tracking server is a problem of the user's environment, not a bug in oracx.
 */
import { UserError } from '../errors.js';
import type { ModelVersionStatus } from './types.js';

export interface MlflowErrorDetails {
  /** The REST path called, e.g. `/api/2.0/mlflow/runs/log-batch` (never the host or credentials). */
  endpoint: string;
  status?: number;
  /** MLflow's `error_code`: RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, … */
  errorCode?: string;
  hint?: string;
  cause?: unknown;
}

/** Any failure talking to MLflow; carries MLflow's error code, the HTTP status and the endpoint. */
export class MlflowError extends UserError {
  readonly endpoint: string;
  readonly status?: number;
  readonly errorCode?: string;
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, { hint: details.hint, cause: details.cause });
    this.name = 'MlflowError';
    this.endpoint = details.endpoint;
    this.status = details.status;
    this.errorCode = details.errorCode;
  }
}

/** The server could not be reached (connection refused, DNS, TLS, timeouts) even after the retries. */
export class MlflowUnreachable extends MlflowError {
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, details);
    this.name = 'MlflowUnreachable';
  }
}

/** 401/403: missing or wrong credentials, or no permission. */
export class MlflowAuthError extends MlflowError {
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, {
      ...details,
      hint: details.hint ?? 'check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD (Basic) or MLFLOW_TRACKING_TOKEN (Bearer)',
    });
    this.name = 'MlflowAuthError';
  }
}

/** RESOURCE_DOES_NOT_EXIST: no such experiment, run, model, version or artifact. */
export class MlflowNotFound extends MlflowError {
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, details);
    this.name = 'MlflowNotFound';
  }
}

/** The server is older than oracx needs, or lacks an endpoint oracx calls. */
export class MlflowUnsupportedVersion extends MlflowError {
  /** What `GET /version` answered, when known. */
  readonly serverVersion?: string;
  constructor(message: string, details: MlflowErrorDetails & { serverVersion?: string }) {
    super(message, details);
    this.name = 'MlflowUnsupportedVersion';
    this.serverVersion = details.serverVersion;
  }
}

/** A parameter was logged again with another value; MLflow params are immutable within a run. */
export class MlflowParamChanged extends MlflowError {
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, {
      ...details,
      hint: details.hint ?? 'a run keeps the first value of each param: start a new run, or log the new value under another key (or as a tag)',
    });
    this.name = 'MlflowParamChanged';
  }
}

/** A value oracx refused to send because MLflow would reject or silently truncate it (key/value lengths, names). */
export class MlflowValidationError extends MlflowError {
  constructor(message: string, details: MlflowErrorDetails) {
    super(message, { errorCode: 'INVALID_PARAMETER_VALUE', ...details });
    this.name = 'MlflowValidationError';
  }
}

/** A model version that failed registration, or was still pending when the wait timed out. */
export class ModelVersionNotReady extends MlflowError {
  readonly modelName: string;
  readonly version: string;
  readonly versionStatus: ModelVersionStatus;
  constructor(message: string, details: MlflowErrorDetails & { modelName: string; version: string; versionStatus: ModelVersionStatus }) {
    super(message, details);
    this.name = 'ModelVersionNotReady';
    this.modelName = details.modelName;
    this.version = details.version;
    this.versionStatus = details.versionStatus;
  }
}

/** True when `error` is an MlflowError with the given MLflow error code. */
export function hasErrorCode(error: unknown, code: string): error is MlflowError {
  return error instanceof MlflowError && error.errorCode === code;
}
