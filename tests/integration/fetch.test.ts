// collect over real HTTP on 127.0.0.1: retries with backoff on 5xx, a timeout per attempt, clear errors.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectResult } from '../../pipelines/collect.js';
import { download } from '../../src/ingest/sources.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

const csv = readFileSync(path.join(FIXTURES, 'full', 'E0_2018-2019.csv'));
let server: Server;
let base = '';
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    const n = (hits.get(url) ?? 0) + 1;
    hits.set(url, n);
    if (url.startsWith('/flaky/') && n <= 2) {
      res.writeHead(503).end('busy');
      return;
    }
    if (url.startsWith('/slow/')) {
      setTimeout(() => res.writeHead(200).end(csv), 2000);
      return;
    }
    if (url.startsWith('/private/')) {
      const expected = `Basic ${Buffer.from('user:p@ss').toString('base64')}`;
      if (req.headers.authorization !== expected) res.writeHead(401).end('who are you');
      else res.writeHead(200).end(csv);
      return;
    }
    if (url.startsWith('/always-500/')) {
      res.writeHead(500).end('broken');
      return;
    }
    if (url.endsWith('E0_2018-2019.csv')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('collect from URLs', () => {
  it('downloads, takes the season from the URL file name, and ingests', async () => {
    const r = await runCli(['collect', 'football-data', `${base}/data/E0_2018-2019.csv`, '--json'], { cwd: tempDir() });
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<CollectResult>();
    expect(result.files[0]!.source).toBe(`${base}/data/E0_2018-2019.csv`);
    expect(result.totals.inserted).toBe(380);
  });

  it('sends URL credentials as Basic auth and never prints them', async () => {
    const good = `${base.replace('http://', 'http://user:p%40ss@')}/private/E0_2018-2019.csv`;
    const ok = await runCli(['collect', 'football-data', good, '--json'], { cwd: tempDir() });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<CollectResult>().files[0]!.source).toContain('user:***@');
    expect(ok.stdout + ok.stderr).not.toContain('p%40ss');
    const bad = await runCli(['collect', 'football-data', good.replace('p%40ss', 'wrong')], { cwd: tempDir() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HTTP 401');
    expect(bad.stderr).not.toContain('wrong@');
  });

  it('retries 5xx with backoff and then succeeds', async () => {
    const url = `${base}/flaky/E0_2018-2019.csv`;
    const file = await download(url, { timeoutMs: 5000, retries: 3, backoffMs: 10 });
    try {
      expect(hits.get('/flaky/E0_2018-2019.csv')).toBe(3);
      expect(readFileSync(file.path).equals(csv)).toBe(true);
      expect(file.size).toBe(csv.length);
    } finally {
      await file.cleanup();
    }
  });

  it('gives up after the retries with the last status, exit 1', async () => {
    const r = await runCli(['collect', 'football-data', `${base}/always-500/E0.csv`, '--retries', '2', '--timeout', '2s'], { cwd: tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/always-500\/E0\.csv: download failed after 3 attempts \(HTTP 500\)/);
    expect(hits.get('/always-500/E0.csv')).toBe(3);
  });

  it('times out a slow server per attempt', async () => {
    const started = Date.now();
    await expect(download(`${base}/slow/E0_2018-2019.csv`, { timeoutMs: 200, retries: 1, backoffMs: 10 })).rejects.toThrow(
      /download failed after 2 attempts \(timed out after 200 ms\)/,
    );
    expect(Date.now() - started).toBeLessThan(1900);
  });

  it('does not retry a 404 and names the URL without its password', async () => {
    const url = `${base.replace('http://', 'http://user:pw@')}/missing.csv`;
    const r = await runCli(['collect', 'football-data', url], { cwd: tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/missing.csv: HTTP 404');
    expect(r.stderr).toContain('user:***@');
    expect(r.stderr).not.toContain(':pw@');
    expect(hits.get('/missing.csv')).toBe(1);
  });

  it('reports an unreachable host', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(download(`http://127.0.0.1:${port}/x.csv`, { timeoutMs: 1000, retries: 1, backoffMs: 10 })).rejects.toThrow(
      /x\.csv: download failed after 2 attempts \(ECONNREFUSED\)/,
    );
  });
});
