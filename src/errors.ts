/** Exit codes, as STYLE.md lists them. */
export const ExitCode = {
  ok: 0,
  user: 1,
  usage: 2,
  gate: 3,
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with the user's input or environment: printed as one line, exit 1. */
export class UserError extends Error {
  readonly exitCode: ExitCode = ExitCode.user;
  /** What the user can do about it, appended to the message. */
  readonly hint?: string;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options?.hint;
  }
}

/** A bad command line (unknown flag, missing answer without a TTY): exit 2. */
export class UsageError extends UserError {
  override readonly exitCode: ExitCode = ExitCode.usage;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * Bad input to a forecast or an API call, with the HTTP status and a stable code the service maps it to (the CLI
 * treats it as a user error, exit 1). `details` are extra members of the problem document (e.g. suggestions).
 */
export class RequestError extends UserError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    options?: { hint?: string; cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.name = 'RequestError';
    this.details = options?.details;
  }
  readonly details?: Record<string, unknown>;
}

/** A quality gate failed (e.g. `evaluate --gate`, `collect --strict`): exit 3. */
export class GateFailed extends UserError {
  override readonly exitCode: ExitCode = ExitCode.gate;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options);
    this.name = 'GateFailed';
  }
}

/** The user pressed Ctrl-C (or the process got SIGTERM); work stopped at a consistent point. */
export class Interrupted extends Error {
  readonly exitCode: ExitCode = ExitCode.interrupted;
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'Interrupted';
  }
}

/** Maps any thrown value to the exit code STYLE.md prescribes. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UserError || error instanceof Interrupted) return error.exitCode;
  return ExitCode.internal;
}

/** Message plus hint, on one line, for the user. */
export function describeError(error: unknown): string {
  if (error instanceof UserError) return error.hint ? `${error.message} — ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
