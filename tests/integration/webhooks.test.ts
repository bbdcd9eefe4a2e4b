// `oracx webhooks` against real HTTP receivers on loopback and real stores (SQLite and PostgreSQL): signed deliveries,
// retries with backoff, a hanging endpoint, dead letters and redelivery, two `deliver` processes at once, and a
// sender killed mid-request. Events are produced the way the feed does: rows inserted into the `events` outbox.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/connect.js';
import { verifySignature } from '../../src/webhooks/signature.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  at: number;
}

interface Receiver {
  url: string;
  received: Received[];
  /** Answers each request with this status (or hangs when it returns 'hang'). */
  answer: (n: number) => number | 'hang';
  close(): Promise<void>;
}

const servers: Server[] = [];
async function receiver(answer: Receiver['answer'] = () => 200): Promise<Receiver> {
  const r: Receiver = { url: '', received: [], answer, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      r.received.push({
        id: String(req.headers['oracx-webhook-id']),
        timestamp: String(req.headers['oracx-webhook-timestamp']),
        signature: String(req.headers['oracx-webhook-signature']),
        body,
        at: Date.now(),
      });
      const status = r.answer(r.received.length);
      if (status === 'hang') return; // never answers
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return r;
}

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const MASTER_KEY = randomBytes(32).toString('base64');
const SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let eventCounter = 0;
/** Inserts an outbox event as the feed does (src/ingest/feeds/apply.ts). */
async function emit(store: Store, type: 'match_finished' | 'prediction_updated', payload: Record<string, unknown> = {}): Promise<number> {
  const row = await store.db
    .insertInto('events')
    .values({ type, match_id: null, dedupe_key: `${type}:test:${process.pid}:${++eventCounter}`, payload: JSON.stringify(payload) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

interface Delivery {
  id: number;
  subscriptionId: number;
  eventId: number;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`webhooks on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] webhooks on ${dialect.name} skipped: service not available`);
    const stores: Store[] = [];
    afterAll(async () => {
      for (const s of stores) await s.close();
    });

    const setup = async () => {
      const location = dialect.newLocation();
      const cwd = tempDir();
      const env = { ORACX_MASTER_KEY: MASTER_KEY, HOOK_SECRET: SECRET };
      const cli = (...argv: string[]) => runCli(['--store', location, ...argv], { env, cwd });
      const migrated = await cli('db', 'migrate');
      expect(migrated.code, migrated.stderr).toBe(0);
      const store = await openStore(location);
      stores.push(store);
      const add = async (url: string, ...extra: string[]) => {
        const r = await cli('webhooks', 'add', '--url', url, '--events', 'match_finished', '--secret-env', 'HOOK_SECRET', '--json', ...extra);
        expect(r.code, r.stderr).toBe(0);
        return r.json<{ id: number }>().id;
      };
      const deliver = async (...extra: string[]) => {
        const r = await cli('webhooks', 'deliver', '--json', ...extra);
        expect(r.code, r.stderr).toBe(0);
        return r.json<{ total: { attempts: number; delivered: number; retrying: number; dead: number; created: number } }>().total;
      };
      const deliveries = async (...extra: string[]) => {
        const r = await cli('webhooks', 'deliveries', '--json', ...extra);
        expect(r.code, r.stderr).toBe(0);
        return r.json<{ deliveries: Delivery[] }>().deliveries;
      };
      return { location, cwd, env, cli, store, add, deliver, deliveries };
    };

    it('signs each delivery (verifies with the secret, not another), sends only subscribed types after the subscription, seals the secret', async () => {
      const { cli, store, location, add, deliver, deliveries } = await setup();
      const hook = await receiver();
      const before = await emit(store, 'match_finished', { matchId: 0 });
      const subId = await add(hook.url, '--events', 'match_finished,prediction_updated');
      const finished = await emit(store, 'match_finished', { matchId: 7, homeGoals: 2, awayGoals: 1 });
      const updated = await emit(store, 'prediction_updated', { matchId: 8 });
      const other = await add(hook.url.replace('/hook', '/other'), '--events', 'prediction_updated');
      expect(other).toBeGreaterThan(subId);
      await emit(store, 'match_finished', { matchId: 9 }); // not a type `other` wants; `subId` gets it

      const total = await deliver();
      expect(total).toMatchObject({ created: 3, delivered: 3, dead: 0, retrying: 0 });
      expect(hook.received).toHaveLength(3);
      const bodies = hook.received.map((r) => JSON.parse(r.body) as { id: number; type: string; createdAt: string; data: Record<string, unknown> });
      expect(bodies.map((b) => b.id)).not.toContain(before);
      const first = bodies.find((b) => b.id === finished)!;
      expect(first).toMatchObject({ type: 'match_finished', data: { matchId: 7, homeGoals: 2, awayGoals: 1 } });
      expect(Number.isNaN(Date.parse(first.createdAt))).toBe(false);
      expect(bodies.find((b) => b.id === updated)?.type).toBe('prediction_updated');
      for (const r of hook.received) {
        expect(r.signature).toMatch(/^v1=[0-9a-f]{64}$/);
        expect(verifySignature(SECRET, r.signature, r.timestamp, r.body)).toBe(true);
        expect(verifySignature('another-secret-of-enough-length', r.signature, r.timestamp, r.body)).toBe(false);
        expect(verifySignature(SECRET, r.signature, r.timestamp, r.body.replace('}', ',"x":1}'))).toBe(false);
        // A replay outside the 5-minute window is refused even with the right signature.
        expect(verifySignature(SECRET, r.signature, r.timestamp, r.body, Number(r.timestamp) + 301)).toBe(false);
        expect(r.id).toMatch(/^dlv_\d+$/);
      }
      expect(new Set(hook.received.map((r) => r.id)).size).toBe(3);

      // A second pass finds nothing new: each (event, subscription) is delivered once.
      expect(await deliver()).toMatchObject({ created: 0, attempts: 0 });
      expect((await deliveries('--state', 'delivered')).length).toBe(3);

      // At rest the secret is sealed: neither it nor its hex/base64 appear anywhere in the row.
      const row = await store.db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', subId).executeTakeFirstOrThrow();
      const raw = JSON.stringify(row);
      expect(raw).not.toContain(SECRET);
      expect(raw).not.toContain(Buffer.from(SECRET).toString('base64'));
      expect(row.secret_ciphertext.length).toBeGreaterThan(0);
      const listed = await cli('webhooks', 'list', '--json');
      expect(listed.stdout).not.toContain(SECRET);
      // Without the master key nothing can be signed: a clear error, not unsigned requests.
      const noKey = await runCli(['--store', location, 'webhooks', 'deliver'], { env: {} });
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('ORACX_MASTER_KEY is not set');
    });

    it('retries after a 500 with backoff (not before next_attempt_at), then delivers on the 200', async () => {
      const { store, add, deliver, deliveries } = await setup();
      const hook = await receiver((n) => (n === 1 ? 500 : 200));
      await add(hook.url);
      await emit(store, 'match_finished', { matchId: 1 });
      expect(await deliver('--backoff', '400ms')).toMatchObject({ attempts: 1, retrying: 1, delivered: 0 });
      const [pending] = await deliveries();
      expect(pending).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 500, lastError: 'HTTP 500 Internal Server Error' });
      // Backoff 400 ms ±50 %: due between 200 and 600 ms from the failure, so an immediate pass sends nothing.
      expect(Date.parse(pending!.nextAttemptAt!)).toBeGreaterThan(Date.now() + 50);
      expect(await deliver('--backoff', '400ms')).toMatchObject({ attempts: 0 });
      await sleep(700);
      expect(await deliver('--backoff', '400ms')).toMatchObject({ attempts: 1, delivered: 1 });
      expect(hook.received).toHaveLength(2);
      expect(hook.received[0]!.id).toBe(hook.received[1]!.id); // the same Oracx-Webhook-Id across retries
      const [done] = await deliveries();
      expect(done).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 200, lastError: null });
    });

    it('--watch runs passes until --passes, picking up events and retries that come due between passes', async () => {
      const { cli, store, add } = await setup();
      const hook = await receiver((n) => (n === 1 ? 500 : 200));
      await add(hook.url);
      await emit(store, 'match_finished', { matchId: 1 });
      const watching = cli('webhooks', 'deliver', '--watch', '300ms', '--passes', '4', '--backoff', '100ms', '--json');
      await sleep(150);
      await emit(store, 'match_finished', { matchId: 2 }); // recorded while the loop runs
      const r = await watching;
      expect(r.code, r.stderr).toBe(0);
      const out = r.json<{ passes: unknown[]; total: { delivered: number; retrying: number; dead: number } }>();
      expect(out.passes).toHaveLength(4);
      expect(out.total).toMatchObject({ delivered: 2, retrying: 1, dead: 0 });
      expect(new Set(hook.received.map((x) => x.id)).size).toBe(2);
    });

    it('a hanging endpoint times out while another endpoint gets its delivery promptly', async () => {
      const { store, add, deliver, deliveries } = await setup();
      const hanging = await receiver(() => 'hang');
      const good = await receiver();
      const hangingId = await add(hanging.url);
      await add(good.url);
      await emit(store, 'match_finished', { matchId: 1 });
      const started = Date.now();
      const total = await deliver('--timeout', '2s', '--concurrency', '2');
      const elapsed = Date.now() - started;
      expect(total).toMatchObject({ attempts: 2, delivered: 1, retrying: 1 });
      expect(good.received).toHaveLength(1);
      expect(good.received[0]!.at - started).toBeLessThan(1500);
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(8000);
      const [stuck] = await deliveries('--subscription', String(hangingId));
      expect(stuck).toMatchObject({ state: 'pending', attempts: 1, lastStatus: null, lastError: 'no answer within 2000 ms' });
    });

    it('is dead after max attempts, kept and listed; redeliver requeues it and it is delivered', async () => {
      const { cli, store, add, deliver, deliveries } = await setup();
      let failing = true;
      const hook = await receiver(() => (failing ? 503 : 204));
      await add(hook.url, '--max-attempts', '3');
      await emit(store, 'match_finished', { matchId: 3 });
      for (let i = 0; i < 3; i++) {
        await deliver('--backoff', '1ms');
        await sleep(20);
      }
      expect(hook.received).toHaveLength(3);
      // Dead: no more tries, however many passes run.
      expect(await deliver('--backoff', '1ms')).toMatchObject({ attempts: 0 });
      const dead = await deliveries('--state', 'dead');
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ attempts: 3, lastStatus: 503 });
      const table = await cli('webhooks', 'deliveries', '--state', 'dead');
      expect(table.stdout).toContain('dead');

      const again = await cli('webhooks', 'redeliver', String(dead[0]!.id), '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(again.json()).toMatchObject({ id: dead[0]!.id, previousState: 'dead', state: 'pending' });
      const twice = await cli('webhooks', 'redeliver', String(dead[0]!.id));
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain('pending already');
      failing = false;
      expect(await deliver()).toMatchObject({ attempts: 1, delivered: 1 });
      expect(await deliveries('--state', 'dead')).toHaveLength(0);
      expect(hook.received).toHaveLength(4);

      const missing = await cli('webhooks', 'redeliver', '999999');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no webhook delivery 999999');
    });

    it('refuses bad input clearly and stores nothing', async () => {
      const { cli, env, location } = await setup();
      const cases: Array<[string[], Record<string, string>, RegExp, number]> = [
        [['--url', 'ftp://example.org/x', '--events', 'match_finished', '--secret-env', 'HOOK_SECRET'], env, /only http and https/, 1],
        [['--url', 'not a url', '--events', 'match_finished', '--secret-env', 'HOOK_SECRET'], env, /not an absolute URL/, 1],
        [['--url', 'http://127.0.0.1/x', '--events', 'match_started', '--secret-env', 'HOOK_SECRET'], env, /unknown event type\(s\) match_started/, 1],
        [['--url', 'http://127.0.0.1/x', '--events', 'match_finished', '--secret-env', 'NOT_SET_ANYWHERE'], env, /NOT_SET_ANYWHERE is not set/, 1],
        [['--url', 'http://127.0.0.1/x', '--events', 'match_finished', '--secret-env', 'SHORT'], { ...env, SHORT: 'abc' }, /at least 16 are needed/, 1],
        [['--url', 'http://127.0.0.1/x', '--events', 'match_finished', '--secret-env', SECRET], env, /environment variable name/, 2],
        [
          ['--url', 'http://127.0.0.1/x', '--events', 'match_finished', '--secret-env', 'HOOK_SECRET'],
          { HOOK_SECRET: SECRET },
          /ORACX_MASTER_KEY is not set/,
          1,
        ],
      ];
      for (const [argv, e, message, code] of cases) {
        const r = await runCli(['--store', location, 'webhooks', 'add', ...argv], { env: e });
        expect(r.code, r.stderr).toBe(code);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toContain(SECRET);
      }
      expect((await cli('webhooks', 'list', '--json')).json()).toEqual({ subscriptions: [] });
      const rm = await cli('webhooks', 'remove', '42');
      expect(rm.code).toBe(1);
      expect(rm.stderr).toContain('no webhook subscription 42');
    });

    it('two concurrent deliver processes send each delivery exactly once', async () => {
      const { location, cwd, env, store, add, deliveries } = await setup();
      // A little latency per request, so both processes are busy at the same time.
      const counts = new Map<string, number>();
      const hook = await receiver();
      const slow = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const id = String(req.headers['oracx-webhook-id']);
          counts.set(id, (counts.get(id) ?? 0) + 1);
          setTimeout(() => res.writeHead(200).end(), 60);
        });
      });
      servers.push(slow);
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      await add(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/count`);
      await add(hook.url);
      for (let i = 0; i < 40; i++) await emit(store, 'match_finished', { matchId: i });
      const run = () => spawnCli(['--store', location, 'webhooks', 'deliver', '--concurrency', '4', '--json'], { env, cwd });
      const [a, b] = await Promise.all([run().done, run().done]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const sent = [a, b].map((r) => r.json<{ total: { delivered: number } }>().total.delivered);
      expect(sent[0]! + sent[1]!).toBe(80);
      // Both processes did part of the work (else the test would not exercise two claimers at once).
      expect(Math.min(...sent)).toBeGreaterThan(0);
      expect(counts.size).toBe(40);
      expect([...counts.values()].every((c) => c === 1)).toBe(true);
      expect(new Set(hook.received.map((r) => r.id)).size).toBe(40);
      expect(hook.received).toHaveLength(40);
      expect((await deliveries('--state', 'delivered', '--limit', '200')).length).toBe(80);
    }, 40_000);

    it('a sender killed mid-request (SIGKILL) leaves a lease that expires, and the delivery is sent again', async () => {
      const { location, cwd, env, store, add, deliver, deliveries } = await setup();
      const hook = await receiver((n) => (n === 1 ? 'hang' : 200));
      await add(hook.url);
      await emit(store, 'match_finished', { matchId: 5 });
      // --timeout 500ms: the lease is the timeout plus 5 s.
      const sender = spawnCli(['--store', location, 'webhooks', 'deliver', '--timeout', '500ms'], { env, cwd });
      const deadline = Date.now() + 15_000;
      while (hook.received.length === 0 && Date.now() < deadline) await sleep(20);
      expect(hook.received).toHaveLength(1);
      sender.child.kill('SIGKILL');
      const killed = await sender.done;
      expect(killed.signal).toBe('SIGKILL');
      const killedAt = Date.now();
      // Still leased: another sender leaves it alone.
      expect(await deliver('--timeout', '500ms')).toMatchObject({ attempts: 0 });
      expect((await deliveries())[0]).toMatchObject({ state: 'pending', attempts: 1 });
      while (Date.now() - killedAt < 5_600) await sleep(100);
      let total = await deliver('--timeout', '500ms');
      for (let i = 0; i < 10 && total.attempts === 0; i++) {
        await sleep(200);
        total = await deliver('--timeout', '500ms');
      }
      expect(total).toMatchObject({ attempts: 1, delivered: 1 });
      expect(hook.received).toHaveLength(2);
      expect(hook.received[1]!.id).toBe(hook.received[0]!.id);
      expect((await deliveries())[0]).toMatchObject({ state: 'delivered', attempts: 2 });
    }, 30_000);
  });
}
