/** `collect football-data`: parse, validate, quarantine and upsert files into the store in crash-safe chunks. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { describeError, Interrupted, UserError } from '../src/errors.js';
import { KNOWN_DIVISIONS, parseFootballData, seasonFromFileName } from '../src/ingest/football-data/parse.js';
import { hashMatch } from '../src/ingest/hash.js';
import { SeenKeys } from '../src/ingest/seen-keys.js';
import { DEFAULT_FETCH, materialise, resolveInputs, type FetchOptions, type Input } from '../src/ingest/sources.js';
import type { Store } from '../src/store/connect.js';
import type { BadRowWrite, Counters, MatchWrite } from '../src/store/ingest-writer.js';

export const SOURCE_KIND = 'football-data';

export interface FileSummary {
  source: string;
  status: 'completed' | 'failed' | 'interrupted';
  runId: number | null;
  /** The unfinished run this one took over (its rows up to `resumedAfterLine` were already committed), or null. */
  resumedFrom: number | null;
  resumedAfterLine: number | null;
  /** What the unfinished run(s) this one resumed had committed; the counts below are this run's own. */
  earlier: Counters | null;
  fileHash: string | null;
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  error: string | null;
  durationMs: number;
}

export interface CollectResult {
  files: FileSummary[];
  totals: Counters;
}

export type CollectProgress =
  | { type: 'file-start'; source: string; index: number; count: number; bytes: number }
  | { type: 'file-progress'; source: string; bytesRead: number; bytes: number; rows: number }
  | { type: 'file-end'; summary: FileSummary }
  | { type: 'resume'; source: string; fromRun: number; afterLine: number };

export interface CollectOptions {
  inputs: string[];
  cwd: string;
  stdin: Readable;
  /** Rows per transaction. */
  chunkSize?: number;
  /** Season label for every input (overrides file names and dates). */
  season?: string;
  fetch?: FetchOptions;
  signal?: AbortSignal;
  onProgress?: (event: CollectProgress) => void;
}

const zero = (): Counters => ({ rowsRead: 0, inserted: 0, updated: 0, unchanged: 0, quarantined: 0 });

/** Collects every input (two at a time on PostgreSQL), summaries in input order; a file-level error fails that file only. */
export async function collectFootballData(store: Store, options: CollectOptions): Promise<CollectResult> {
  return collectInputs(store, await resolveInputs(options.inputs, options.cwd), options);
}

/**
 * Collects inputs already resolved: a queue worker gives the file it received under the source (path) it had on the
 * machine that enqueued it, so quarantine rows and resume checkpoints are those a single-process collect writes.
 */
export async function collectInputs(store: Store, inputs: Input[], options: Omit<CollectOptions, 'inputs'>): Promise<CollectResult> {
  const files: FileSummary[] = new Array(inputs.length);
  const totals = zero();
  // Files are independent; on PostgreSQL two at a time overlap one file's parsing with the other's writes.
  let next = 0;
  let stop: Error | null = null;
  const worker = async () => {
    while (next < inputs.length && stop === null) {
      if (options.signal?.aborted) {
        stop = new Interrupted();
        return;
      }
      const index = next++;
      const input = inputs[index]!;
      const summary = await collectOne(store, input, index, inputs.length, options);
      files[index] = summary;
      options.onProgress?.({ type: 'file-end', summary });
      if (summary.status === 'interrupted') stop = new Interrupted(`interrupted while collecting ${input.source}`);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(store.writer.concurrency, inputs.length) }, worker));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (stop) throw stop;
  for (const summary of files) {
    for (const key of ['rowsRead', 'inserted', 'updated', 'unchanged', 'quarantined'] as const) totals[key] += summary[key];
  }
  await nameCompetitions(store);
  return { files, totals };
}

/** Gives new competitions their league name (the writers only know division codes). */
async function nameCompetitions(store: Store): Promise<void> {
  const unnamed = await store.db.selectFrom('competitions').select('code').where('name', 'is', null).execute();
  for (const { code } of unnamed) {
    const name = KNOWN_DIVISIONS[code];
    if (name) await store.db.updateTable('competitions').set({ name }).where('code', '=', code).where('name', 'is', null).execute();
  }
}

async function collectOne(store: Store, input: Input, index: number, count: number, options: Omit<CollectOptions, 'inputs'>): Promise<FileSummary> {
  const started = Date.now();
  const summary: FileSummary = {
    source: input.source,
    status: 'failed',
    runId: null,
    resumedFrom: null,
    resumedAfterLine: null,
    earlier: null,
    fileHash: null,
    ...zero(),
    error: null,
    durationMs: 0,
  };
  let local: Awaited<ReturnType<typeof materialise>>;
  try {
    local = await materialise(input, options.stdin, options.fetch ?? DEFAULT_FETCH, options.signal);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    summary.error = describeError(error);
    summary.durationMs = Date.now() - started;
    return summary;
  }
  summary.fileHash = local.sha256;
  options.onProgress?.({ type: 'file-start', source: input.source, index, count, bytes: local.size });
  const db = store.db;
  try {
    // A run of this exact file that never finished (killed, interrupted) and that no later run has taken over yet is
    // resumed from its checkpoint. Once resumed it is closed: a later collect starts afresh and sees every row unchanged.
    const previous = await db
      .selectFrom('ingest_runs')
      .selectAll()
      .where('source', '=', input.source)
      .where('file_hash', '=', local.sha256)
      .where('status', 'in', ['running', 'interrupted'])
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('ingest_runs as later').select('later.id').whereRef('later.resumed_from', '=', 'ingest_runs.id'))),
      )
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const resumeAfter = previous?.last_line ?? 0;
    const run = await db
      .insertInto('ingest_runs')
      .values({
        source: input.source,
        source_kind: SOURCE_KIND,
        file_hash: local.sha256,
        status: 'running',
        resumed_from: previous?.id ?? null,
        last_line: resumeAfter,
        rows_read: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        quarantined: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const runId = Number(run.id);
    summary.runId = runId;
    if (previous) {
      summary.resumedFrom = previous.id;
      summary.resumedAfterLine = resumeAfter;
      summary.earlier = await committedBefore(store, previous.id);
      await db
        .updateTable('ingest_runs')
        .set({ status: 'interrupted', finished_at: new Date().toISOString() })
        .where('id', '=', previous.id)
        .where('status', '=', 'running')
        .execute();
      options.onProgress?.({ type: 'resume', source: input.source, fromRun: previous.id, afterLine: resumeAfter });
    }

    const counters = zero();
    const outcome = await ingestFile(store, input, local.path, local.size, runId, local.sha256, resumeAfter, counters, options);
    Object.assign(summary, counters);
    summary.status = outcome;
    await db.updateTable('ingest_runs').set({ status: outcome, finished_at: new Date().toISOString() }).where('id', '=', runId).execute();
  } catch (error) {
    if (summary.runId !== null) {
      await db
        .updateTable('ingest_runs')
        .set({ status: 'failed', error: error instanceof Error ? error.message : String(error), finished_at: new Date().toISOString() })
        .where('id', '=', summary.runId)
        .execute()
        .catch(() => undefined);
    }
    if (!(error instanceof UserError)) throw error;
    summary.status = 'failed';
    summary.error = describeError(error);
  } finally {
    await local.cleanup();
    summary.durationMs = Date.now() - started;
  }
  return summary;
}

/** What a chain of unfinished runs (each resuming the one before) committed, ending with run `id`. */
async function committedBefore(store: Store, id: number): Promise<Counters> {
  const total = zero();
  for (let next: number | null = id; next !== null; ) {
    const run = await store.db
      .selectFrom('ingest_runs')
      .select(['resumed_from', 'rows_read', 'inserted', 'updated', 'unchanged', 'quarantined'])
      .where('id', '=', next)
      .executeTakeFirstOrThrow();
    total.rowsRead += run.rows_read;
    total.inserted += run.inserted;
    total.updated += run.updated;
    total.unchanged += run.unchanged;
    total.quarantined += run.quarantined;
    next = run.resumed_from;
  }
  return total;
}

async function ingestFile(
  store: Store,
  input: Input,
  file: string,
  bytes: number,
  runId: number,
  fileHash: string,
  resumeAfter: number,
  counters: Counters,
  options: Omit<CollectOptions, 'inputs'>,
): Promise<'completed' | 'interrupted'> {
  const chunkSize = options.chunkSize ?? 1000;
  let bytesRead = 0;
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream) {
      bytesRead += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  const seasonHint = options.season ?? seasonFromFileName(input.name);
  const seen = new SeenKeys();
  let matches: MatchWrite[] = [];
  let bad: BadRowWrite[] = [];
  let lastLine = resumeAfter;
  let first = true;
  let lastReport = 0;

  const flush = async () => {
    const result = await store.writer.writeChunk({
      runId,
      source: input.source,
      sourceKind: SOURCE_KIND,
      fileHash,
      matches,
      bad,
      supersedeQuarantine: first,
      lastLine,
      rowsRead: counters.rowsRead,
      before: counters,
    });
    counters.inserted += result.inserted;
    counters.updated += result.updated;
    counters.unchanged += result.unchanged;
    counters.quarantined += bad.length;
    first = false;
    matches = [];
    bad = [];
    // Let signal handlers run: with buffered input and SQLite's synchronous writes, nothing else would yield.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };

  // Every row is parsed (so duplicate keys across the resume point are still seen); rows already committed are not written.
  for await (const row of parseFootballData(counted(), { label: input.source, seasonHint })) {
    if (row.kind === 'match') {
      const r = row.record;
      const earlier = seen.firstLine(r, row.line);
      // A second unplayed row of one pairing must not take over the match the first one wrote (see planChunk).
      const exactKeyOnly = earlier === undefined && r.status === 'scheduled' && seen.firstUnplayedLine(r, row.line) !== undefined;
      if (row.line <= resumeAfter) continue;
      counters.rowsRead++;
      if (earlier !== undefined) {
        bad.push({ line: row.line, raw: row.raw, reason: `duplicate key: ${r.homeTeam} v ${r.awayTeam} on ${r.date} also on line ${earlier}` });
      } else {
        matches.push({ record: r, hash: hashMatch(r), exactKeyOnly });
      }
    } else {
      if (row.line <= resumeAfter) continue;
      counters.rowsRead++;
      bad.push({ line: row.line, raw: row.raw, reason: row.reason });
    }
    lastLine = row.line;
    if (matches.length + bad.length >= chunkSize) {
      await flush();
      if (options.signal?.aborted) return 'interrupted';
    }
    const now = Date.now();
    if (options.onProgress && now - lastReport > 100) {
      lastReport = now;
      options.onProgress({ type: 'file-progress', source: input.source, bytesRead, bytes, rows: counters.rowsRead });
    }
  }
  if (matches.length > 0 || bad.length > 0 || first) await flush();
  options.onProgress?.({ type: 'file-progress', source: input.source, bytesRead, bytes, rows: counters.rowsRead });
  return 'completed';
}
