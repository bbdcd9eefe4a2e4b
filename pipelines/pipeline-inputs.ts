/**
 * The inputs of a pipeline stage and their hash, as DVC compares them: cheap to compute, so that `oracx run` with
 * nothing changed stays about as fast as `oracx --help`. The data hash is one aggregate query over the relevant
 * matches' ids and updated_at, never their features.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { definitionHash } from '../src/ml/features/definition.js';
import { parseFeatureSetRef } from '../src/ml/features/registry.js';
import type { Store } from '../src/store/connect.js';

/** sha256 of the canonical JSON of a value (object keys sorted). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}

/**
 * JSON with object keys sorted by code point (not localeCompare: the hash must not depend on the machine's locale,
 * or a CI runner with another LANG would rerun every stage), so equal inputs give equal text.
 */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * A fingerprint of the store's matches in these competitions (all when empty): count, id sum and range, and the
 * latest updated_at. Both writers bump updated_at whenever a row's hash (every stored field and odds quote) changes,
 * and the online feature state relies on the same column, so an insert, correction or deletion changes it. One
 * aggregate query: nothing is read row by row and no feature is loaded.
 */
export async function dataHash(store: Store, competitions: readonly string[]): Promise<{ matches: number; hash: string }> {
  let query = store.db
    .selectFrom('matches')
    .innerJoin('competitions', 'competitions.id', 'matches.competition_id')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.sum<number | string | null>('matches.id').as('id_sum'),
      eb.fn.min<number | string | null>('matches.id').as('id_min'),
      eb.fn.max<number | string | null>('matches.id').as('id_max'),
      eb.fn.max<string | Date | null>('matches.updated_at').as('updated'),
    ]);
  if (competitions.length > 0) query = query.where('competitions.code', 'in', [...competitions]);
  const row = await query.executeTakeFirstOrThrow();
  const updated = row.updated instanceof Date ? row.updated.toISOString() : row.updated;
  const fingerprint = { n: String(row.n), sum: String(row.id_sum ?? 0), min: String(row.id_min ?? ''), max: String(row.id_max ?? ''), updated: updated ?? '' };
  return { matches: Number(row.n), hash: hashOf(fingerprint) };
}

/** The definition hash of a feature set reference (a UserError listing the valid sets when unknown). */
export function featureSetHash(ref: string): string {
  try {
    return definitionHash(parseFeatureSetRef(ref));
  } catch (error) {
    throw new UserError((error as Error).message, { hint: 'see oracx features list' });
  }
}

/** Size and modification time of a file whose content hash is known, keyed like the hashes. */
export type FileStats = Record<string, [size: number, mtimeMs: number]>;

/**
 * Content hashes of collect's inputs: a file, or a folder's CSV files (as collect reads them); URLs by their text.
 * As DVC does, a file whose size and mtime equal those recorded with `known` keeps its recorded hash unread.
 */
export async function inputFileHashes(
  inputs: readonly string[],
  cwd: string,
  known: { files?: Record<string, string>; stats?: FileStats } = {},
): Promise<{ files: Record<string, string>; stats: FileStats }> {
  const files: Record<string, string> = {};
  const stats: FileStats = {};
  for (const input of inputs) {
    if (/^https?:\/\//i.test(input)) {
      files[input] = 'url';
      continue;
    }
    const absolute = path.resolve(cwd, input);
    const info = await stat(absolute).catch(() => null);
    if (!info) throw new UserError(`collect input ${input} does not exist`, { hint: `paths are relative to ${cwd}` });
    const paths = info.isDirectory()
      ? (await readdir(absolute))
          .filter((n) => n.toLowerCase().endsWith('.csv'))
          .sort()
          .map((n) => path.join(absolute, n))
      : [absolute];
    for (const file of paths) {
      // Named relative to the pipeline's folder when inside it, so that moving the project keeps the hashes.
      const relative = path.relative(cwd, file);
      const key = relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
      const s = paths.length === 1 && !info.isDirectory() ? info : await stat(file);
      stats[key] = [s.size, s.mtimeMs];
      const before = known.stats?.[key];
      const cached = before && before[0] === s.size && before[1] === s.mtimeMs ? known.files?.[key] : undefined;
      files[key] =
        cached ??
        createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
    }
  }
  return { files, stats };
}
