/**
 * The `.oracx` backup file: a magic line, one line of JSON manifest, then the payload bytes.
 *
 *     ORACX-BACKUP 1\n
 *     {"format":1,"oracx":"0.1.0","dialect":"sqlite","payload":"sqlite",…,"payloadBytes":N,"payloadSha256":"…"}\n
 *     <N payload bytes>
 *
 * The manifest says where the data came from and what it must hold (migrations, per-table row counts and
 * checksums), so a file can be checked without restoring it; payloadBytes and payloadSha256 catch a truncated or
 * corrupt file before anything is restored. The file is written under a temporary name and renamed when complete,
 * so an interrupted backup never leaves a file under the name asked for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { z } from 'zod';
import { UserError } from '../../errors.js';

export const MAGIC = 'ORACX-BACKUP 1\n';
/** A manifest line longer than this is not a manifest (the file is not a backup, or is damaged). */
const MAX_MANIFEST = 16 * 1024 * 1024;

const tableSchema = z.object({ name: z.string().min(1), rows: z.number().int().nonnegative(), checksum: z.string().regex(/^[0-9a-f]{32}$/) });

/** What the manifest line holds. */
export const manifestSchema = z.object({
  format: z.literal(1),
  oracx: z.string(),
  createdAt: z.string(),
  /** The dialect of the store that was backed up. */
  dialect: z.enum(['sqlite', 'postgres']),
  /**
   * `sqlite`: a SQLite database file (online backup API). `pg_dump`: a pg_dump custom-format archive of one schema.
   * `logical`: gzip'd JSON lines, table by table (restores into either dialect).
   */
  payload: z.enum(['sqlite', 'pg_dump', 'logical']),
  /** pg_dump payloads: the PostgreSQL schema dumped (pg_restore recreates objects under this name). */
  schema: z.string().optional(),
  /** Migrations applied to the source, in order: they rebuild the schema on restore. */
  migrations: z.array(z.object({ name: z.string(), appliedAt: z.string() })),
  tables: z.array(tableSchema),
  payloadBytes: z.number().int().nonnegative(),
  payloadSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** A backup file that cannot be used: not a backup, truncated, or corrupt. */
export class BadBackup extends UserError {
  constructor(file: string, why: string) {
    super(`${file} is not a usable oracx backup: ${why}`, {
      hint: 'nothing was restored; use another backup file (oracx db backup --verify checks one when it is made)',
    });
    this.name = 'BadBackup';
  }
}

/** A temporary name next to `file` (same folder, so the final rename is atomic). */
export function tempNameFor(file: string, tag: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** sha256 and size of a file. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Writes `target` from a manifest and the payload file: to a temporary name first, fsync'd, then renamed, so the
 * target exists only once complete. `signal` aborts (the temporary file is removed).
 */
export async function writeBackupFile(target: string, manifest: Manifest, payloadFile: string, signal?: AbortSignal): Promise<void> {
  const temp = tempNameFor(target, 'partial');
  try {
    const out = createWriteStream(temp, { flags: 'wx' });
    out.write(`${MAGIC + JSON.stringify(manifest)}\n`);
    await pipeline(createReadStream(payloadFile), out, { signal });
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Reads and checks the magic line and manifest; the payload's size must match (a truncated file fails here). */
export async function readBackupHeader(file: string): Promise<{ manifest: Manifest; payloadOffset: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read backup ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
  }
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, MAGIC.length));
    await handle.read(head, 0, head.length, 0);
    if (head.toString('latin1') !== MAGIC) throw new BadBackup(file, size === 0 ? 'the file is empty' : `it does not start with "${MAGIC.trim()}"`);
    // Read the manifest line in chunks until its newline.
    const parts: Buffer[] = [];
    let offset = MAGIC.length;
    let length = 0;
    for (;;) {
      if (offset >= size) throw new BadBackup(file, 'the manifest is cut short (truncated file)');
      const chunk = Buffer.alloc(Math.min(64 * 1024, size - offset));
      await handle.read(chunk, 0, chunk.length, offset);
      const nl = chunk.indexOf(10);
      parts.push(nl < 0 ? chunk : chunk.subarray(0, nl));
      length += nl < 0 ? chunk.length : nl;
      offset += nl < 0 ? chunk.length : nl + 1;
      if (nl >= 0) break;
      if (length > MAX_MANIFEST) throw new BadBackup(file, 'no manifest line');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      throw new BadBackup(file, 'the manifest is not valid JSON');
    }
    const result = manifestSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new BadBackup(file, `manifest field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const manifest = result.data;
    const actual = size - offset;
    if (actual !== manifest.payloadBytes) {
      throw new BadBackup(
        file,
        actual < manifest.payloadBytes
          ? `truncated: ${actual} of ${manifest.payloadBytes} payload bytes`
          : `${actual - manifest.payloadBytes} bytes more than the manifest says`,
      );
    }
    return { manifest, payloadOffset: offset };
  } finally {
    await handle.close();
  }
}

/** Copies the payload to `dest` (or only hashes it when dest is null), failing with BadBackup when its sha256 differs. */
export async function extractPayload(file: string, header: { manifest: Manifest; payloadOffset: number }, dest: string | null): Promise<void> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, dest === null ? undefined : chunk);
    },
  });
  const source = createReadStream(file, { start: header.payloadOffset });
  if (dest === null) {
    tap.resume();
    await pipeline(source, tap);
  } else await pipeline(source, tap, createWriteStream(dest, { flags: 'wx' }));
  if (hash.digest('hex') !== header.manifest.payloadSha256) {
    if (dest !== null) await rm(dest, { force: true });
    throw new BadBackup(file, 'the payload does not match its sha256 (the file is corrupt)');
  }
}

/** A read stream of the payload bytes. */
export function payloadStream(file: string, payloadOffset: number): NodeJS.ReadableStream {
  return createReadStream(file, { start: payloadOffset });
}
