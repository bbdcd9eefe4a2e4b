// `oracx serve` as a process (bin/oracx.js, built): SIGTERM while requests are in flight exits 0 with every answered
// forecast stored; --workers 2 starts, serves from two processes and stops with exit 0; a model file that is not ONNX
// or whose feature set differs from the store's is a clear error, exit 1, with nothing left listening.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type Spawned } from '../helpers/cli.js';
import { buildServableStore, eventually, httpCall, MODEL, pairing, type ServableStore } from '../helpers/server.js';

let fx: ServableStore;

beforeAll(async () => {
  fx = await buildServableStore();
});

afterAll(async () => {
  await fx?.close();
});

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface ServeProcess extends Spawned {
  url: string;
  stderr(): string;
}

/** Spawns `oracx serve` on the fixture and waits for its "listening on" line(s). */
async function serve(args: string[], listeners = 1): Promise<ServeProcess> {
  const spawned = spawnCli(['--store', fx.location, 'serve', '--registry', 'local', '--no-access-log', ...args], { cwd: fx.dir });
  let stderr = '';
  spawned.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`oracx serve did not start within 30 s:\n${stderr}`)), 30_000);
    const check = () => {
      const found = [...stderr.matchAll(/listening on (http:\/\/[\d.]+:\d+)/g)];
      if (found.length >= listeners) {
        clearTimeout(timer);
        resolve(found[0]![1]!);
      }
    };
    spawned.child.stderr!.on('data', check);
    spawned.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`oracx serve exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { ...spawned, url, stderr: () => stderr };
}

describe('oracx serve as a process', () => {
  it('stops on SIGTERM with requests in flight: exit 0, every answered forecast stored', async () => {
    const p = await serve(['--model', `${MODEL}@champion`, '--port', '0']);
    const answered: Array<{ requestId: string; pHome: number }> = [];
    const failures: string[] = [];
    let stop = false;
    const caller = async (w: number) => {
      for (let i = 0; !stop && i < 2000; i++) {
        const requestId = `sigterm-${w}-${i}`;
        try {
          const r = await httpCall(undefined, p.url, 'POST', '/v1/predict', {
            key: fx.keys.predictor,
            body: i % 2 ? { matchId: fx.coming[w % fx.coming.length] } : pairing('Arsenal', 'Chelsea', `2020-10-${String(1 + (i % 28)).padStart(2, '0')}`),
            headers: { 'x-request-id': requestId },
          });
          if (r.status === 200) answered.push({ requestId, pHome: r.body.probabilities.home });
          else failures.push(`${r.status} ${r.text.slice(0, 200)}`);
        } catch {
          // Refused or cut once the server stops accepting: not answered, so nothing to store.
          if (p.child.exitCode === null && !p.child.killed) await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const callers = Array.from({ length: 8 }, (_, w) => caller(w));
    await eventually(async () => expect(answered.length).toBeGreaterThan(100), 20_000);
    p.child.kill('SIGTERM');
    const exit = await p.done;
    stop = true;
    await Promise.all(callers);

    expect(exit.signal).toBeNull();
    expect(exit.code, p.stderr()).toBe(0);
    expect(p.stderr()).toMatch(/SIGTERM received/);
    expect(p.stderr()).toMatch(/stopped \(\d+ prediction\(s\) stored\)/);
    // Nothing failed while it ran or stopped: refused connections aside, every answer was a forecast or a 503.
    expect(
      failures.filter((f) => !f.startsWith('503')),
      failures.join('\n'),
    ).toEqual([]);
    const stored = await fx.store.db.selectFrom('predictions').select(['request_id', 'p_home']).where('request_id', 'like', 'sigterm-%').execute();
    const byId = new Map(stored.map((r) => [r.request_id, r.p_home]));
    const lost = answered.filter((a) => byId.get(a.requestId) !== a.pHome);
    expect(lost.map((l) => l.requestId)).toEqual([]);
    expect(stored).toHaveLength(answered.length);
    expect(Number(/stopped \((\d+) prediction/.exec(p.stderr())![1])).toBe(answered.length);
    expect(await listening(Number(new URL(p.url).port))).toBe(false);
  }, 90_000);

  it('--workers 2 starts two workers on one port, serves from both and stops with exit 0', async () => {
    const port = await freePort();
    const p = await serve(['--model', `${MODEL}@champion`, '--port', String(port), '--workers', '2'], 2);
    try {
      expect(p.stderr()).toMatch(/starting 2 workers/);
      const pids = new Set<number>();
      const forecasts = [];
      for (let i = 0; i < 40 && pids.size < 2; i++) {
        const [health, forecast] = await Promise.all([
          httpCall(undefined, p.url, 'GET', '/health/detailed', { key: fx.keys.admin }),
          httpCall(undefined, p.url, 'POST', '/v1/predict', {
            key: fx.keys.predictor,
            body: { matchId: fx.coming[0] },
            headers: { 'x-request-id': `workers-${i}` },
          }),
        ]);
        expect(health.status).toBe(200);
        expect(forecast.status).toBe(200);
        pids.add(health.body.pid);
        forecasts.push(forecast.body.probabilities);
      }
      expect(pids.size).toBe(2);
      expect(pids.has(p.child.pid!)).toBe(false);
      expect(new Set(forecasts.map((f) => JSON.stringify(f))).size).toBe(1);
    } finally {
      p.child.kill('SIGTERM');
    }
    const exit = await p.done;
    expect(exit.code, p.stderr()).toBe(0);
    expect(p.stderr()).toMatch(/every worker stopped/);
    expect(await listening(port)).toBe(false);
    const stored = await fx.store.db
      .selectFrom('predictions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('request_id', 'like', 'workers-%')
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBeGreaterThan(0);
  }, 90_000);

  describe('refuses a model it cannot serve: exit 1, a clear message, nothing listening', () => {
    const refuse = async (model: string, expected: RegExp) => {
      const port = await freePort();
      const spawned = spawnCli(['--store', fx.location, 'serve', '--registry', 'local', '--model', model, '--port', String(port)], { cwd: fx.dir });
      const exit = await spawned.done;
      expect(exit.code, exit.stderr).toBe(1);
      expect(exit.stderr).toMatch(expected);
      expect(exit.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(exit.stderr).not.toMatch(/listening on/);
      expect(await listening(port)).toBe(false);
    };
    const pkg = () => path.join(fx.dir, '.oracx', 'registry', MODEL, String(fx.versions.dixonColes));

    it('a model.onnx that is not ONNX', async () => {
      const dir = path.join(fx.dir, 'not-onnx');
      mkdirSync(dir, { recursive: true });
      copyFileSync(path.join(pkg(), 'oracx-model.json'), path.join(dir, 'oracx-model.json'));
      writeFileSync(path.join(dir, 'model.onnx'), 'PK\u0003\u0004 this is a zip, not an ONNX graph');
      await refuse(path.join(dir, 'model.onnx'), /oracx: .*model\.onnx is not an oracx ONNX model.*oracx register/);
      await refuse(dir, /is not an oracx ONNX model/);
    });

    it('a model file without its oracx-model.json', async () => {
      const dir = path.join(fx.dir, 'alone');
      mkdirSync(dir, { recursive: true });
      copyFileSync(path.join(pkg(), 'model.onnx'), path.join(dir, 'model.onnx'));
      await refuse(path.join(dir, 'model.onnx'), /cannot read oracx-model\.json beside it/);
    });

    it('a model whose feature set was built from another definition in this store', async () => {
      const original = await fx.store.db
        .selectFrom('feature_sets')
        .select('definition_hash')
        .where('name', '=', 'core')
        .where('version', '=', 2)
        .executeTakeFirstOrThrow();
      await fx.store.db
        .updateTable('feature_sets')
        .set({ definition_hash: 'f'.repeat(64) })
        .where('name', '=', 'core')
        .where('version', '=', 2)
        .execute();
      try {
        await refuse(`${MODEL}@champion`, /uses feature set core@2, but the store's core@2 was built from a different definition/);
        await refuse(path.join(pkg(), 'model.onnx'), /uses feature set core@2, but the store's core@2 was built from a different definition/);
      } finally {
        await fx.store.db
          .updateTable('feature_sets')
          .set({ definition_hash: original.definition_hash })
          .where('name', '=', 'core')
          .where('version', '=', 2)
          .execute();
      }
    });

    it('an alias that does not exist', async () => {
      await refuse(`${MODEL}@staging`, /model "oracx-e0" has no alias "staging".*its aliases: (champion, challenger|challenger, champion)/);
    });
  });
});
