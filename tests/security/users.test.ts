// GDPR helpers on SQLite and PostgreSQL: `auth users export` (keys without hashes, predictions made with the user's
// keys or tokens, audit events about them) and `auth users delete` (keys deleted, predictions anonymised, audit
// events pseudonymised; --yes or a prompt; all in one transaction).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordSecurityEvent } from '../../src/auth/audit.js';
import type { UserErasure, UserExport } from '../../src/auth/users.js';
import { main } from '../../src/main.js';
import { insertPredictions, type PredictionRow } from '../../src/predict/predictions.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, ROOT, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const ANA = 'ana@example.com';
const MASTER = randomBytes(32).toString('base64');

async function predictions(store: Store, principals: Array<string | null>): Promise<void> {
  const teams = await store.db.selectFrom('teams').select('id').orderBy('id').limit(2).execute();
  const rows: PredictionRow[] = principals.map((principal, i) => ({
    competition: 'E0',
    season: '2019-2020',
    date: '2020-08-15',
    home_team_id: Number(teams[0]!.id),
    away_team_id: Number(teams[1]!.id),
    model_uri: 'models:/oracx-e0/1',
    feature_set: 'core@1',
    inputs_hash: `h${i}`,
    p_home: 0.5,
    p_draw: 0.3,
    p_away: 0.2,
    source: principal === null ? 'cli' : 'api',
    principal,
    request_id: principal === null ? null : `req-${i}`,
  }));
  await insertPredictions(store, rows);
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`auth users export|delete on ${dialect.name}`, () => {
    let location = '';
    const cli = (args: string[], env: Record<string, string> = {}) =>
      runCli([...args, '--store', location], { cwd: ROOT, env: { ORACX_ACTOR: 'dpo@example.com', ORACX_MASTER_KEY: MASTER, ...env } });
    let anaKeys: number[] = [];
    let bobKey = 0;

    beforeAll(async () => {
      location = dialect.newLocation();
      const collected = await cli(['collect', 'football-data', path.join(FIXTURES, 'E0_2019-2020.csv'), '-q']);
      expect(collected.code, collected.stderr).toBe(0);
      const create = async (name: string, owner: string) => {
        const r = await cli(['auth', 'keys', 'create', '--role', 'predictor', '--name', name, '--owner', owner, '--json']);
        expect(r.code, r.stderr).toBe(0);
        return r.json<{ id: number }>().id;
      };
      anaKeys = [await create('ana-laptop', ANA), await create('ana-ci', ANA)];
      bobKey = await create('bob', 'bob@example.com');
      expect((await cli(['auth', 'keys', 'revoke', String(anaKeys[0])])).code).toBe(0);
      expect((await cli(['auth', 'tokens', 'issue', '--sub', ANA, '--role', 'viewer'])).code).toBe(0);
      const store = await openStore(location);
      try {
        await predictions(store, [
          `key:${anaKeys[0]}`,
          `key:${anaKeys[0]}`,
          `key:${anaKeys[1]}`,
          `jwt:oracx|${ANA}`,
          `jwt:https://idp.example/|${ANA}`,
          // Not hers: another case, another subject that ends alike, another key, the CLI.
          `jwt:oracx|ANA@example.com`,
          `jwt:oracx|x${ANA}`,
          `key:${bobKey}`,
          null,
        ]);
        await recordSecurityEvent(store, {
          actor: `key:${anaKeys[0]}`,
          action: 'auth.failure',
          target: 'GET /v1/models',
          outcome: 'failed',
          ip: '203.0.113.7',
          requestId: 'r-1',
          details: { reason: 'key_revoked', count: 3, presented: { kind: 'api-key', prefix: 'abcdefgh' }, detail: 'API key … is revoked' },
        });
        await recordSecurityEvent(store, {
          actor: `key:${bobKey}`,
          action: 'http.admin',
          target: 'GET /health/detailed',
          outcome: 'ok',
          ip: '203.0.113.8',
          requestId: 'r-2',
          details: { status: 200 },
        });
      } finally {
        await store.close();
      }
    });

    it('exports everything stored about a user, and nothing else', async () => {
      const r = await cli(['auth', 'users', 'export', ANA]);
      expect(r.code, r.stderr).toBe(0);
      const data = r.json<UserExport>();
      expect(data.owner).toBe(ANA);
      expect(data.keys.map((k) => k.id).sort()).toEqual([...anaKeys].sort());
      expect(data.keys.find((k) => k.id === anaKeys[0])!.revokedAt).not.toBeNull();
      // No key hash, under any name (the predictions' inputsHash is the model inputs', not a secret's).
      expect(r.stdout).not.toMatch(/key_?hash/i);
      const s = await openStore(location);
      try {
        for (const { key_hash } of await s.db.selectFrom('api_keys').select('key_hash').execute()) expect(r.stdout).not.toContain(key_hash);
      } finally {
        await s.close();
      }
      expect(data.predictions.map((p) => p.principal).sort()).toEqual(
        [`jwt:https://idp.example/|${ANA}`, `jwt:oracx|${ANA}`, `key:${anaKeys[0]}`, `key:${anaKeys[0]}`, `key:${anaKeys[1]}`].sort(),
      );
      expect(data.predictions[0]).toMatchObject({ competition: 'E0', date: '2020-08-15', probabilities: { home: 0.5, draw: 0.3, away: 0.2 }, source: 'api' });
      expect(data.principals).toEqual([`jwt:https://idp.example/|${ANA}`, `jwt:oracx|${ANA}`, `key:${anaKeys[0]}`, `key:${anaKeys[1]}`].sort());
      const events = data.audit.map((e) => `${e.action} ${e.target}`);
      expect(events).toEqual([
        `api-key.create key:${anaKeys[0]}`,
        `api-key.create key:${anaKeys[1]}`,
        `api-key.revoke key:${anaKeys[0]}`,
        `token.issue jwt:oracx|${ANA}`,
        'auth.failure GET /v1/models',
      ]);
      expect(JSON.stringify(data)).not.toContain('bob@example.com');
    });

    it('refuses to erase without --yes when nobody can be asked, and changes nothing', async () => {
      const r = await cli(['auth', 'users', 'delete', ANA]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /Erase ana@example\.com: delete 2 key\(s\), anonymise 5 prediction\(s\), pseudonymise 6 audit event\(s\): pass --yes to confirm/,
      );
      const after = (await cli(['auth', 'users', 'export', ANA])).json<UserExport>();
      expect(after.keys).toHaveLength(2);
    });

    it('asks on a terminal, and a "no" changes nothing', async () => {
      const stdin = new PassThrough();
      let err = '';
      let answered = false;
      const sink = (fn: (t: string) => void) =>
        new Writable({
          write: (c: Buffer, _e, done) => {
            fn(c.toString());
            done();
          },
        });
      const io = {
        stdout: sink(() => undefined),
        stderr: sink((t) => {
          err += t;
          // Answer once the question is on screen.
          if (/Erase ana@example\.com/.test(err) && !answered) {
            answered = true;
            setImmediate(() => stdin.write('n\n'));
          }
        }),
        stdin,
        env: { PATH: process.env.PATH, ORACX_MASTER_KEY: MASTER },
        cwd: ROOT,
        stdoutIsTTY: false,
        stderrIsTTY: true,
        stdinIsTTY: true,
      };
      const code = await main(['auth', 'users', 'delete', ANA, '--store', location], io);
      expect(err).toMatch(/Erase ana@example\.com: delete 2 key\(s\)/);
      expect(code).toBe(1);
      expect(err).toMatch(/not confirmed: nothing was changed/);
      expect((await cli(['auth', 'users', 'export', ANA])).json<UserExport>().keys).toHaveLength(2);
    });

    it('erases: keys deleted, predictions anonymised, audit events pseudonymised, others untouched', async () => {
      const r = await cli(['auth', 'users', 'delete', ANA, '--yes', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const erased = r.json<UserErasure>();
      // The 5 events above and one user.export per export run so far (3).
      expect(erased).toMatchObject({ owner: ANA, keys: 2, predictions: 5, auditEvents: 8 });
      expect(erased.pseudonym).toMatch(/^erased:[0-9a-f]{12}$/);

      const store = await openStore(location);
      try {
        const keys = await store.db.selectFrom('api_keys').select(['id', 'owner']).execute();
        expect(keys.map((k) => Number(k.id))).toEqual([bobKey]);
        const rows = await store.db.selectFrom('predictions').select(['principal', 'request_id']).orderBy('id').execute();
        expect(rows.map((p) => p.principal)).toEqual([
          'erased',
          'erased',
          'erased',
          'erased',
          'erased',
          'jwt:oracx|ANA@example.com',
          `jwt:oracx|x${ANA}`,
          `key:${bobKey}`,
          null,
        ]);
        expect(rows.slice(0, 5).every((p) => p.request_id === null)).toBe(true);
        expect(rows[7]!.request_id).toBe('req-7');
        const audit = await store.db.selectFrom('security_audit').selectAll().orderBy('id').execute();
        const text = JSON.stringify(audit.filter((e) => e.target !== `key:${bobKey}` && e.actor !== `key:${bobKey}`));
        expect(text).not.toContain(ANA);
        expect(text).not.toContain('ana-laptop');
        expect(text).not.toContain('203.0.113.7');
        expect(text).not.toContain('abcdefgh');
        const theirs = audit.filter((e) => e.actor === erased.pseudonym || e.target === erased.pseudonym);
        expect(theirs).toHaveLength(9);
        const failure = theirs.find((e) => e.action === 'auth.failure')!;
        expect(failure).toMatchObject({ actor: erased.pseudonym, ip: null, request_id: null });
        expect(JSON.parse(failure.details)).toEqual({ reason: 'key_revoked', count: 3, erased: true });
        const record = audit[audit.length - 1]!;
        expect(record).toMatchObject({ actor: 'cli:dpo@example.com', action: 'user.delete', target: erased.pseudonym });
        expect(JSON.parse(record.details)).toEqual({ keys: 2, predictions: 5, auditEvents: 8 });
        // Bob's rows keep who and where.
        expect(audit.find((e) => e.actor === `key:${bobKey}`)).toMatchObject({ ip: '203.0.113.8', request_id: 'r-2' });
      } finally {
        await store.close();
      }

      const again = await cli(['auth', 'users', 'delete', ANA, '--yes']);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/nothing is stored about "ana@example\.com"/);
      const empty = (await cli(['auth', 'users', 'export', ANA])).json<UserExport>();
      expect(empty).toMatchObject({ keys: [], predictions: [], audit: [] });
    });
  });
}

describe('erasure is all or nothing', () => {
  it('leaves the store as it was when the transaction fails half-way', async () => {
    const location = path.join(tempDir(), 's.db');
    const cli = (args: string[]) => runCli([...args, '--store', location], { cwd: ROOT, env: { ORACX_ACTOR: 'dpo' } });
    expect((await cli(['collect', 'football-data', path.join(FIXTURES, 'E0_2019-2020.csv'), '-q'])).code).toBe(0);
    const created = await cli(['auth', 'keys', 'create', '--role', 'viewer', '--name', 'k', '--owner', ANA, '--json']);
    const id = created.json<{ id: number }>().id;
    const store = await openStore(location);
    try {
      await predictions(store, [`key:${id}`]);
      // Make the final audit insert fail (after keys, predictions and events were changed in the transaction).
      const { sql } = await import('kysely');
      await sql`create trigger no_delete_events before insert on security_audit when new.action = 'user.delete' begin select raise(abort, 'refused by test'); end`.execute(
        store.db,
      );
      const { deleteUser } = await import('../../src/auth/users.js');
      await expect(deleteUser(store, ANA, { actor: 'test', requestId: null })).rejects.toThrow(/refused by test/);
      expect(await store.db.selectFrom('api_keys').select('id').execute()).toHaveLength(1);
      expect((await store.db.selectFrom('predictions').select('principal').executeTakeFirstOrThrow()).principal).toBe(`key:${id}`);
      const events = await store.db.selectFrom('security_audit').select(['actor', 'target', 'details']).execute();
      expect(JSON.stringify(events)).toContain(ANA);
    } finally {
      await store.close();
    }
  });
});
