/**
 * The JSON document a failed command prints on stdout under --json (commands that opt in with withJsonErrors), so a
 * script reading stdout gets one parseable answer either way; the message still goes to stderr and the exit code is
 * unchanged.
 */
import { exitCodeOf, ExitCode, UsageError, type UserError } from '../errors.js';
import { redact } from '../store/location.js';

/** What kind of failure, named after the exit codes in STYLE.md. */
export type ErrorKind = 'user' | 'usage' | 'gate' | 'internal' | 'interrupted';

export interface ErrorDocument {
  ok: false;
  error: {
    kind: ErrorKind;
    exitCode: number;
    message: string;
    hint?: string;
    /** Extra figures the error carries (e.g. a refused promotion's gates and measurements). */
    details?: Record<string, unknown>;
  };
}

const KINDS: Record<number, ErrorKind> = {
  [ExitCode.user]: 'user',
  [ExitCode.usage]: 'usage',
  [ExitCode.gate]: 'gate',
  [ExitCode.internal]: 'internal',
  [ExitCode.interrupted]: 'interrupted',
};

/** The error document for a thrown value, credentials redacted as in the stderr message. */
export function errorDocument(error: unknown, aborted = false): ErrorDocument {
  let exitCode: number = exitCodeOf(error);
  // As main() maps it: an internal error caused by Ctrl-C is an interruption.
  if (aborted && exitCode === ExitCode.internal) exitCode = ExitCode.interrupted;
  const e = error as Partial<UserError> & { details?: unknown };
  const details = e.details !== null && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : undefined;
  return {
    ok: false,
    error: {
      kind: error instanceof UsageError ? 'usage' : (KINDS[exitCode] ?? 'internal'),
      exitCode,
      message: redact(error instanceof Error ? error.message : String(error)),
      ...(typeof e.hint === 'string' ? { hint: redact(e.hint) } : {}),
      ...(details ? { details } : {}),
    },
  };
}
