/**
 * The logical payload: gzip'd JSON lines, dialect-neutral. Each table starts with a header line
 * `{"table":"matches","columns":["id",…]}` followed by one JSON array per row, in primary-key order, parents
 * before the tables that refer to them. Values are JSON numbers, strings (dates `yyyy-mm-dd`, timestamps ISO-8601 UTC)
 * and null; bytes are `{"$b":"<base64>"}` and non-finite numbers `{"$n":"NaN"}`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { once } from 'node:events';
import { Interrupted } from '../../errors.js';
import { TableChecksum, type RawValue, type TableSummary } from './checksum.js';
import type { SnapshotReader } from './readers.js';

/** One table's rows as a restore reads them. */
export type BatchHandler = (table: string, columns: readonly string[], rows: RawValue[][]) => Promise<void>;

function encode(value: RawValue): unknown {
  if (Buffer.isBuffer(value)) return { $b: value.toString('base64') };
  if (typeof value === 'number' && !Number.isFinite(value)) return { $n: String(value) };
  return value;
}

function decode(value: unknown): RawValue {
  if (value === null || typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'object') {
    const o = value as { $b?: string; $n?: string };
    if (typeof o.$b === 'string') return Buffer.from(o.$b, 'base64');
    if (typeof o.$n === 'string') return Number(o.$n);
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

/** Row counts and checksums of every table of a snapshot, read in full. */
export async function summarize(reader: SnapshotReader, signal?: AbortSignal, onTable?: (name: string, rows: number) => void): Promise<TableSummary[]> {
  const out: TableSummary[] = [];
  for (const table of await reader.tables()) {
    const sum = new TableChecksum();
    for await (const batch of reader.rows(table)) {
      if (signal?.aborted) throw new Interrupted();
      for (const row of batch) sum.add(row);
    }
    out.push({ name: table.name, rows: sum.rows, checksum: sum.digest() });
    onTable?.(table.name, sum.rows);
  }
  return out;
}

/** Writes every table of the snapshot to `file` as a logical payload; returns what it wrote, table by table. */
export async function writeLogical(
  reader: SnapshotReader,
  file: string,
  signal?: AbortSignal,
  onTable?: (name: string, rows: number) => void,
): Promise<TableSummary[]> {
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(file, { flags: 'wx' });
  gzip.pipe(out);
  const closed = once(out, 'close');
  const write = async (line: string) => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  const summaries: TableSummary[] = [];
  try {
    for (const table of await reader.tables()) {
      await write(JSON.stringify({ table: table.name, columns: table.columns }));
      const sum = new TableChecksum();
      for await (const batch of reader.rows(table)) {
        if (signal?.aborted) throw new Interrupted();
        // One write per batch: a promise per row costs more than the rest of the export.
        const lines: string[] = [];
        for (const row of batch) {
          sum.add(row);
          lines.push(JSON.stringify(row.map(encode)));
        }
        await write(lines.join('\n'));
      }
      summaries.push({ name: table.name, rows: sum.rows, checksum: sum.digest() });
      onTable?.(table.name, sum.rows);
    }
  } catch (error) {
    gzip.destroy();
    out.destroy();
    throw error;
  }
  gzip.end();
  await closed;
  return summaries;
}

/**
 * Reads a logical payload from `stream`, calling `handle` per batch of rows (at most `batchSize`, one table each).
 * Throws a plain Error naming the line when the payload is malformed.
 */
export async function readLogical(
  stream: NodeJS.ReadableStream,
  handle: BatchHandler,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const batchSize = options.batchSize ?? 1000;
  const gunzip = createGunzip();
  stream.pipe(gunzip);
  stream.on('error', (e) => gunzip.destroy(e as Error));
  const lines = createInterface({ input: gunzip, crlfDelay: Infinity });
  let table: string | null = null;
  let columns: string[] = [];
  let batch: RawValue[][] = [];
  let lineNo = 0;
  const flush = async () => {
    if (table !== null && batch.length > 0) await handle(table, columns, batch);
    batch = [];
  };
  for await (const line of lines) {
    lineNo++;
    if (options.signal?.aborted) throw new Interrupted();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`payload line ${lineNo} is not JSON`);
    }
    if (Array.isArray(parsed)) {
      if (table === null) throw new Error(`payload line ${lineNo}: a row before any table header`);
      if (parsed.length !== columns.length) throw new Error(`payload line ${lineNo}: ${parsed.length} values for ${columns.length} columns of ${table}`);
      batch.push(parsed.map(decode));
      if (batch.length >= batchSize) await flush();
    } else {
      const header = parsed as { table?: unknown; columns?: unknown };
      if (typeof header.table !== 'string' || !Array.isArray(header.columns)) throw new Error(`payload line ${lineNo} is neither a row nor a table header`);
      await flush();
      table = header.table;
      columns = header.columns as string[];
      // A table with no rows still reaches the handler once, so a restore knows it was in the backup.
      await handle(table, columns, []);
    }
  }
}

/** Counts and checksums of a logical payload file section, read in full. */
export async function summarizeLogical(file: string, start: number): Promise<TableSummary[]> {
  const sums = new Map<string, TableChecksum>();
  await readLogical(createReadStream(file, { start }), async (table, _columns, rows) => {
    let sum = sums.get(table);
    if (!sum) {
      sum = new TableChecksum();
      sums.set(table, sum);
    }
    for (const row of rows) sum.add(row);
  });
  return [...sums].map(([name, sum]) => ({ name, rows: sum.rows, checksum: sum.digest() }));
}
