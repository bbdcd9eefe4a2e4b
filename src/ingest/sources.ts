/** Turning `collect` inputs (files, folders, URLs, `-`) into local files with a content hash. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { redact } from '../store/location.js';
import { pause } from '../pause.js';

export type InputKind = 'file' | 'url' | 'stdin';

export interface Input {
  kind: InputKind;
  /** Stable identity of the source: absolute path, URL (password redacted) or "stdin". */
  source: string;
  /** File name used to guess the season (E0_2019-2020.csv). */
  name: string;
  location: string;
}

export interface LocalFile {
  path: string;
  sha256: string;
  size: number;
  /** Removes a temporary copy (URLs, stdin); no-op for user files. */
  cleanup(): Promise<void>;
}

export interface FetchOptions {
  timeoutMs: number;
  retries: number;
  /** First backoff delay; doubles each retry. */
  backoffMs: number;
}

export const DEFAULT_FETCH: FetchOptions = { timeoutMs: 30_000, retries: 3, backoffMs: 500 };

/** Expands folders into their *.csv files (sorted) and classifies each input. */
export async function resolveInputs(inputs: string[], cwd: string): Promise<Input[]> {
  const out: Input[] = [];
  for (const value of inputs) {
    if (value === '-') {
      out.push({ kind: 'stdin', source: 'stdin', name: 'stdin', location: '-' });
      continue;
    }
    if (/^https?:\/\//i.test(value)) {
      const url = new URL(value);
      out.push({ kind: 'url', source: redact(value), name: path.posix.basename(url.pathname), location: value });
      continue;
    }
    const absolute = path.resolve(cwd, value);
    const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new UserError(`${value}: no such file or folder`, { hint: 'check the path' });
      throw new UserError(`${value}: cannot read (${error.code ?? error.message})`);
    });
    if (info.isDirectory()) {
      const names = (await readdir(absolute)).filter((n) => n.toLowerCase().endsWith('.csv')).sort();
      if (names.length === 0) throw new UserError(`${value}: folder has no .csv files`);
      for (const n of names) {
        const file = path.join(absolute, n);
        out.push({ kind: 'file', source: file, name: n, location: file });
      }
    } else {
      out.push({ kind: 'file', source: absolute, name: path.basename(absolute), location: absolute });
    }
  }
  return out;
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function spool(stream: Readable | AsyncIterable<Uint8Array>): Promise<LocalFile> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oracx-'));
  const file = path.join(dir, 'input.csv');
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    stream,
    async function* (source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  return { path: file, sha256: hash.digest('hex'), size, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Downloads a URL with a timeout per attempt and retries with exponential backoff on network errors, 429 and 5xx. */
export async function download(url: string, options: FetchOptions, signal?: AbortSignal): Promise<LocalFile> {
  const shown = redact(url);
  // fetch refuses URLs with credentials: move them into a Basic Authorization header.
  const target = new URL(url);
  const headers: Record<string, string> = {};
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let lastError = '';
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) await pause(options.backoffMs * 2 ** (attempt - 1), signal);
    if (signal?.aborted) break;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const response = await fetch(target, { signal: combined, redirect: 'follow', headers });
      if (response.status === 429 || response.status >= 500) {
        lastError = `HTTP ${response.status}`;
        await response.body?.cancel();
        continue;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new UserError(`${shown}: HTTP ${response.status} ${response.statusText}`, { hint: 'check the URL' });
      }
      return await spool(response.body as unknown as AsyncIterable<Uint8Array>);
    } catch (error) {
      if (error instanceof UserError) throw error;
      const e = error as Error & { cause?: { code?: string } };
      lastError = timeout.aborted ? `timed out after ${options.timeoutMs} ms` : redact(e.cause?.code ?? (e.cause as Error | undefined)?.message ?? e.message);
    }
  }
  throw new UserError(`${shown}: download failed after ${options.retries + 1} attempts (${lastError})`, {
    hint: 'check the URL and your connection, or raise --retries / --timeout',
  });
}

/** Gives a local, hashed file for any input. */
export async function materialise(input: Input, stdin: Readable, fetchOptions: FetchOptions, signal?: AbortSignal): Promise<LocalFile> {
  if (input.kind === 'stdin') return spool(stdin);
  if (input.kind === 'url') return download(input.location, fetchOptions, signal);
  const { sha256, size } = await hashFile(input.location).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`${input.location}: cannot read (${error.code ?? error.message})`);
  });
  return { path: input.location, sha256, size, cleanup: async () => undefined };
}
