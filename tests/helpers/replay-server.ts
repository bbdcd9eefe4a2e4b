// A local HTTP server on 127.0.0.1 replaying recorded provider responses (football-data.org, API-Football): what it
// answers on a path is scripted by the test, and every request it saw is kept for the test to check.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface Reply {
  /** Answer after this long (a slow provider). */
  delayMs?: number;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
}
export type Scripted = Reply | ((h: IncomingHttpHeaders) => Reply);

export interface ReplayServer {
  /** http://127.0.0.1:PORT, set once the server listens (in beforeAll). */
  readonly base: string;
  /** What the server answers next on a path (query left out): a queue whose last entry repeats. Unscripted paths get 404. */
  readonly script: Map<string, Scripted[]>;
  /** Every request so far: its URL (with the query) and headers. */
  readonly seen: { path: string; headers: IncomingHttpHeaders }[];
  /** Answers this JSON body with 200 on path from now on. */
  answer(path: string, body: string): void;
}

/** A 200 with the body and an ETag, or a 304 to a request that sends that ETag back. */
export function withEtag(body: string, etag: string): (h: IncomingHttpHeaders) => Reply {
  return (h) => (h['if-none-match'] === etag ? { status: 304, headers: { etag } } : { body, headers: { etag, 'content-type': 'application/json' } });
}

/** Starts a replay server for the enclosing file or describe block (beforeAll) and closes it after (afterAll). */
export function useReplayServer(): ReplayServer {
  const script = new Map<string, Scripted[]>();
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    const p = (req.url ?? '').split('?')[0]!;
    seen.push({ path: req.url ?? '', headers: req.headers });
    const queue = script.get(p);
    const next = queue && (queue.length > 1 ? queue.shift()! : queue[0]!);
    if (!next) return void res.writeHead(404).end('{"message":"not found"}');
    const r = typeof next === 'function' ? next(req.headers) : next;
    const send = () => res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers }).end(r.body ?? '');
    if (r.delayMs) setTimeout(() => !res.destroyed && send(), r.delayMs).unref();
    else send();
  });
  const replay = {
    base: '',
    script,
    seen,
    answer: (path: string, body: string) => void script.set(path, [{ body }]),
  };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    replay.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return replay;
}
