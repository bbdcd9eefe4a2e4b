/**
 * pg_dump and pg_restore, when they are on PATH: PostgreSQL's own tools for `--format native` backups of a
 * PostgreSQL store (custom format, one schema, taken in the snapshot the checksums are computed in).
 */
import { spawn, spawnSync } from 'node:child_process';
import { UserError } from '../../errors.js';
import { redact } from '../location.js';

/** True when `tool --version` runs. */
export function hasTool(tool: 'pg_dump' | 'pg_restore'): boolean {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * The `--dbname` argument for a connection URL, with its password moved to PGPASSWORD: a password on a command line
 * is visible to every user of the machine (ps).
 */
export function connectionArgs(url: string): { args: string[]; env: Record<string, string> } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { args: [`--dbname=${parsed.toString()}`], env: password === '' ? {} : { PGPASSWORD: password } };
}

/** Runs a PostgreSQL client tool; a failure is a UserError quoting its stderr (passwords redacted). */
export async function runTool(tool: 'pg_dump' | 'pg_restore', args: string[], signal?: AbortSignal, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], signal, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (error) => reject(error.name === 'AbortError' ? error : new UserError(`cannot run ${tool}: ${error.message}`, { cause: error })));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new UserError(`${tool} failed (exit ${code}): ${redact(stderr.trim().split('\n').slice(-3).join(' ')) || 'no message'}`, {
            hint: tool === 'pg_dump' ? 'a version of pg_dump older than the server fails; --format logical needs no PostgreSQL tools' : 'see the message above',
          }),
        );
    });
  });
}

/** pg_restore's table of contents without the schema's own entries (the restore creates the schema itself). */
export async function contentsWithoutSchema(archive: string): Promise<string> {
  const list = await runTool('pg_restore', ['--list', archive]);
  return list
    .split('\n')
    .filter((line) => !/^\d+; \d+ \d+ (SCHEMA|COMMENT) - (SCHEMA )?\S+ /.test(line))
    .join('\n');
}
