/** Maps database driver errors that are the user's situation (locks, lost connections) to one-line UserErrors. */
import { UserError } from '../errors.js';
import { redact } from './location.js';

const PG_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08006',
  '08001',
  '08004',
  '28P01',
  '28000',
  '3D000',
]);

/** Returns a UserError for known environmental failures, else the error unchanged. */
export function storeError(error: unknown, display: string): unknown {
  if (error instanceof UserError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = redact(error instanceof Error ? error.message : String(error));
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new UserError(`SQLite store ${display} is locked by another process`, {
      hint: 'wait for the other oracx command to finish, then run this one again',
      cause: error,
    });
  }
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new UserError(`SQLite store ${display} is damaged (${message})`, {
      hint: 'see the problems with oracx db check; restore the file from a backup',
      cause: error,
    });
  }
  if (code === 'SQLITE_NOTADB') {
    return new UserError(`${display} is not an oracx SQLite store (${message})`, { hint: 'pass another --store path', cause: error });
  }
  if (code === 'SQLITE_FULL') return new UserError(`SQLite store ${display}: disk full`, { cause: error });
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') {
    return new UserError(`cannot write SQLite store ${display}: ${message}`, { cause: error });
  }
  if (PG_CONNECTION_CODES.has(code) || /Connection terminated|connect ECONNREFUSED/.test(message)) {
    return new UserError(`PostgreSQL store ${display}: ${message || code}`, {
      hint: 'check that the server is running and the URL and credentials are right',
      cause: error,
    });
  }
  return error;
}
