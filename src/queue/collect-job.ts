/** The `collect` job: one football-data file, ingested by the same pipeline as `oracx collect`, resumable on retry. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { collectInputs, type FileSummary } from '../../pipelines/collect.js';
import type { Store } from '../store/connect.js';
import type { CollectPayload } from './payload.js';

/** What a collect job reports while it runs (job.progress). */
export interface CollectJobProgress {
  rows: number;
  /** Share of the file's bytes read, 0–1. */
  fraction: number;
}

/** A file's bytes as they travel in a job. */
export const packContent = (bytes: Buffer): string => gzipSync(bytes).toString('base64');

/** Thrown for a job that retrying cannot fix (a bad file, a job for another store): the worker fails it at once. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * Runs one collect job. Safe to run again after a crash or a stalled lock: the ingest upserts by match key and resumes
 * the unfinished run of the same source and file hash from its last committed chunk, so no row is written twice.
 */
export async function runCollectJob(store: Store, payload: CollectPayload, onProgress: (progress: CollectJobProgress) => void): Promise<FileSummary> {
  if (payload.store !== store.location) {
    throw new PermanentJobError(
      `job is for store ${payload.store}, but this worker writes to ${store.location}: workers of different stores must not share a queue; ` +
        'give each store its own --queue-prefix, then oracx jobs retry ID',
    );
  }
  const bytes = gunzipSync(Buffer.from(payload.content, 'base64'));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== payload.sha256)
    throw new PermanentJobError(`job content of ${payload.source} does not match its sha256 (${payload.sha256.slice(0, 12)}…): the job is corrupt`);
  const dir = await mkdtemp(path.join(tmpdir(), 'oracx-job-'));
  try {
    const file = path.join(dir, 'input.csv');
    await writeFile(file, bytes);
    const { files } = await collectInputs(store, [{ kind: 'file', source: payload.source, name: payload.name, location: file }], {
      cwd: dir,
      stdin: Readable.from([]),
      chunkSize: payload.chunkSize,
      season: payload.season ?? undefined,
      onProgress(event) {
        if (event.type === 'file-progress') onProgress({ rows: event.rows, fraction: event.bytes ? event.bytesRead / event.bytes : 1 });
      },
    });
    const summary = files[0]!;
    // A file oracx cannot read stays unreadable: no retry, the job goes straight to the failed (dead-letter) state.
    if (summary.status === 'failed') throw new PermanentJobError(summary.error ?? `${payload.source}: failed`);
    return summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
