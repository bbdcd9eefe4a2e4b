// Prediction refresh end to end, on SQLite and PostgreSQL: a real feed poll (a local football-data.org replay) finishes
// matches, `predictions refresh` recomputes the stored predictions of the coming matches those results moved with a
// real ONNX model (logreg on core@1), appends them (source 'refresh'), emits one prediction_updated each, and the
// webhook fan-out queues a delivery per event for a subscriber. Then: a second pass, two consumers at once and a crash
// inside the transaction leave every event handled once; an event whose match is gone, a model that cannot score the
// competition or reads no features, and finished matches with nothing stored after them are skipped with a reason.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPredictor } from '../../pipelines/predict-run.js';
import { refreshPredictions, type RefreshResult } from '../../pipelines/prediction-refresh.js';
import { LeaseLost } from '../../src/predict/event-consumer.js';
import { loadModelFrom, parseModelSource } from '../../src/predict/model.js';
import { openRegistry } from '../../src/registry/open.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { fanOut } from '../../src/webhooks/deliveries.js';
import { FIXTURES, ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { useReplayServer } from '../helpers/replay-server.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const FEEDS = path.join(ROOT, 'fixtures', 'feeds');
const read = (name: string) => readFileSync(path.join(FEEDS, name), 'utf8');
const LIVE = read('football-data-org/PL-2020-md1-2-live.json');
const FINISHED = read('football-data-org/PL-2020-md1-3-finished.json');
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

const replay = useReplayServer();

const ok = (r: CliResult, what: string) => {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  return r;
};

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`prediction refresh on ${dialect.name}`, () => {
    if (!dialect.available) console.warn(`[oracx tests] prediction refresh on ${dialect.name} skipped: service not available`);
    const location = dialect.newLocation();
    const cwd = tempDir();
    const code = `R${dialect.name}`;
    const env = { FOOTBALL_DATA_ORG_TOKEN: 'tok', ORACX_FOOTBALL_DATA_ORG_URL: '', ORACX_MASTER_KEY: MASTER_KEY, HOOK_SECRET: 'a'.repeat(64) };
    const cli = (...argv: string[]) => runCli(['--store', location, ...argv], { env: { ...env, ORACX_FOOTBALL_DATA_ORG_URL: replay.base }, cwd });
    const feed = async (body: string) => {
      replay.answer(`/v4/competitions/${code}/matches`, body);
      return ok(
        await cli(
          'collect',
          'feed',
          '--provider',
          'football-data-org',
          '--competitions',
          code,
          '--map',
          `${code}=E0`,
          '--quota',
          '600/min',
          '--retries',
          '1',
          '--json',
        ),
        'feed',
      );
    };
    const refresh = async (...extra: string[]) =>
      ok(
        await cli('predictions', 'refresh', '--model', 'models:/oracx-e0@champion', '--registry', 'local', '--json', ...extra),
        'refresh',
      ).json<RefreshResult>();
    let store: Store;
    const loaded: Array<{ release(): Promise<void> }> = [];
    /** A model and its predictor, in this process (for consumers run side by side). */
    const open = async (ref = 'oracx-e0@champion') => {
      const model = await loadModelFrom(store, parseModelSource(ref, cwd), async () => (await openRegistry(store, { env: {}, cwd }, 'local')).registry);
      loaded.push(model);
      return { model, predictor: await openPredictor(store, model) };
    };
    const count = async (table: 'events' | 'predictions' | 'event_receipts', where?: [string, string]) => {
      let q = store.db.selectFrom(table as 'events').select((eb) => eb.fn.countAll<number>().as('n'));
      if (where) q = q.where(where[0] as 'type', '=', where[1] as 'match_finished');
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    const matchId = async (home: string, away: string) =>
      Number(
        (
          await store.db
            .selectFrom('matches as m')
            .innerJoin('teams as h', 'h.id', 'm.home_team_id')
            .innerJoin('teams as a', 'a.id', 'm.away_team_id')
            .select('m.id')
            .where('h.name', '=', home)
            .where('a.name', '=', away)
            .where('m.date', '>', '2020-08-01')
            .executeTakeFirstOrThrow()
        ).id,
      );
    /** No duplicates, whatever ran: one receipt per event, one refresh row per prediction_updated, unique keys. */
    const expectEachOnce = async () => {
      const updated = await store.db.selectFrom('events').select(['dedupe_key', 'payload']).where('type', '=', 'prediction_updated').execute();
      expect(new Set(updated.map((e) => e.dedupe_key)).size).toBe(updated.length);
      expect(await count('predictions', ['source', 'refresh'])).toBe(updated.length);
      const ids = updated.map((e) => (JSON.parse(e.payload) as { new: { predictionId: number } }).new.predictionId);
      expect(new Set(ids).size).toBe(ids.length);
      const finished = await count('events', ['type', 'match_finished']);
      expect(await count('event_receipts')).toBe(finished);
    };

    beforeAll(async () => {
      ok(await cli('collect', 'football-data', path.join(FIXTURES, 'full'), path.join(FIXTURES, 'upcoming', 'fixtures.csv'), '-q'), 'collect');
      writeFileSync(path.join(cwd, 'aliases.json'), read('aliases.json'));
      ok(await cli('teams', 'alias', '--file', path.join(cwd, 'aliases.json')), 'aliases');
      const lr = ok(
        await cli(
          'train',
          '--model',
          'logreg',
          '--features',
          'core@1',
          '--competitions',
          'E0',
          '--train-until',
          '2020-07-31',
          '--param',
          'l2=1',
          '--seed',
          '7',
          '--json',
        ),
        'train',
      ).json<{ runId: number }>();
      ok(await cli('register', '--run', String(lr.runId), '--name', 'oracx-e0', '--alias', 'champion', '--registry', 'local'), 'register logreg');
      const dc = ok(await cli('train', '--model', 'dixon-coles', '--competitions', 'E0', '--train-until', '2020-07-31', '--json'), 'train dc').json<{
        runId: number;
      }>();
      ok(await cli('register', '--run', String(dc.runId), '--name', 'oracx-dc', '--alias', 'champion', '--registry', 'local'), 'register dc');
      ok(await cli('predict', '--model', 'oracx-e0@champion', '--competitions', 'E0', '--registry', 'local', '--json'), 'predict');
      ok(await cli('webhooks', 'add', '--url', 'http://127.0.0.1:9/hook', '--events', 'prediction_updated', '--secret-env', 'HOOK_SECRET'), 'webhooks add');
      store = await openStore(location);
    }, 240_000);
    afterAll(async () => {
      for (const m of loaded) await m.release();
      await store?.close();
    });

    it('a feed finishing matches → coming predictions recomputed with the ONNX model, prediction_updated, webhook deliveries', async () => {
      const before = await store.db.selectFrom('predictions').selectAll().where('source', '=', 'cli').execute();
      expect(before.length).toBe(20);
      await feed(LIVE); // Fulham 0–3 Arsenal and Crystal Palace 1–0 Southampton finish; Liverpool is still playing
      expect(await count('events', ['type', 'match_finished'])).toBe(2);

      const result = await refresh();
      expect(result).toMatchObject({ leased: true, events: 2, skipped: [] });
      // The next match of each of the four teams (round 2 and 3), and nothing else: core@1 features are per team. Not
      // Chelsea–Liverpool: Liverpool's match is in play (3–2 at the break), and a score in play is not a result.
      const expected = [
        await matchId('Leeds', 'Fulham'),
        await matchId('Man United', 'Crystal Palace'),
        await matchId('Arsenal', 'West Ham'),
        await matchId('Southampton', 'Tottenham'),
        await matchId('Crystal Palace', 'Everton'),
      ].sort((a, b) => a - b);
      const rows = await store.db.selectFrom('predictions').selectAll().where('source', '=', 'refresh').orderBy('match_id').execute();
      expect(rows.map((r) => Number(r.match_id))).toEqual(expected);
      expect(result.refreshed).toBe(expected.length);
      // The old rows stay (a history); each new row has new inputs and valid probabilities from the champion.
      expect(await count('predictions', ['source', 'cli'])).toBe(20);
      for (const r of rows) {
        const old = before.find((b) => Number(b.match_id) === Number(r.match_id))!;
        expect(r.inputs_hash).not.toBe(old.inputs_hash);
        expect(r.p_home + r.p_draw + r.p_away).toBeCloseTo(1, 5);
        expect([r.p_home, r.p_draw, r.p_away]).not.toEqual([old.p_home, old.p_draw, old.p_away]);
        expect(r).toMatchObject({ model_uri: 'oracx-e0/1', model_alias: 'champion', feature_set: 'core@1' });
      }
      // One prediction_updated per refreshed match: old and new probabilities, the model, the result behind it.
      const updated = await store.db.selectFrom('events').selectAll().where('type', '=', 'prediction_updated').orderBy('id').execute();
      expect(updated.map((e) => Number(e.match_id)).sort((a, b) => a - b)).toEqual(expected);
      const fulham = await matchId('Fulham', 'Arsenal');
      const arsenalWestHam = await matchId('Arsenal', 'West Ham');
      const aw = JSON.parse(updated.find((e) => Number(e.match_id) === arsenalWestHam)!.payload) as { causes: unknown[]; new: unknown; old: unknown };
      expect(aw).toMatchObject({ matchId: arsenalWestHam, homeTeam: 'Arsenal', awayTeam: 'West Ham', finishedMatchId: fulham });
      expect(aw.causes).toEqual([expect.objectContaining({ matchId: fulham, homeGoals: 0, awayGoals: 3, homeTeam: 'Fulham', awayTeam: 'Arsenal' })]);
      const awRow = rows.find((r) => Number(r.match_id) === arsenalWestHam)!;
      expect(aw.new).toEqual({ predictionId: Number(awRow.id), probabilities: { home: awRow.p_home, draw: awRow.p_draw, away: awRow.p_away } });
      const awOld = before.find((b) => Number(b.match_id) === arsenalWestHam)!;
      expect(aw.old).toMatchObject({
        predictionId: Number(awOld.id),
        probabilities: { home: awOld.p_home, draw: awOld.p_draw, away: awOld.p_away },
        modelUri: 'oracx-e0/1',
      });

      // The webhook fan-out queues one delivery per prediction_updated for the subscriber (not for match_finished).
      const fan = await fanOut(store);
      expect(fan.created).toBe(expected.length);
      const deliveries = await store.db.selectFrom('webhook_deliveries as d').innerJoin('events as e', 'e.id', 'd.event_id').select(['e.type']).execute();
      expect(deliveries.map((d) => d.type)).toEqual(expected.map(() => 'prediction_updated'));

      // Processing again is a no-op.
      expect(await refresh()).toMatchObject({ leased: true, events: 0, refreshed: 0 });
      await expectEachOnce();
    });

    it('two consumers at once whose leases expire mid-way, and a crash inside the transaction: every event once', async () => {
      await feed(FINISHED); // the rest of round 1: six more match_finished
      expect(await count('events', ['type', 'match_finished'])).toBe(8);
      // A model that fails to score (its onnxruntime session gone): the pass fails, nothing is receipted, the events
      // stay pending for the next pass (retrying is right: the failure is not the event's).
      const broken = await open();
      loaded.pop();
      await broken.model.release();
      await expect(refreshPredictions(store, broken)).rejects.toThrow();
      expect(await count('event_receipts')).toBe(2);
      // A crash after the predictions and events are written, before commit: nothing of it is kept.
      const a = await open();
      const eventsBefore = await count('events');
      await expect(
        refreshPredictions(store, {
          ...a,
          beforeCommit: () => {
            throw new Error('simulated crash');
          },
        }),
      ).rejects.toThrow('simulated crash');
      expect(await count('events')).toBe(eventsBefore);
      expect(await count('event_receipts')).toBe(2);
      // Two consumers with leases that expire at once (0 ms): both do the work, one commit wins per batch, the other
      // rolls back (LeaseLost), or waits (PostgreSQL row lock) and finds the receipts taken.
      const b = await open();
      const runs = await Promise.allSettled([
        refreshPredictions(store, { ...a, owner: 'replica-a', leaseMs: 0 }),
        refreshPredictions(store, { ...b, owner: 'replica-b', leaseMs: 0 }),
      ]);
      for (const r of runs) if (r.status === 'rejected') expect(r.reason instanceof LeaseLost || /unique|UNIQUE|duplicate/.test(String(r.reason))).toBe(true);
      const after = await refreshPredictions(store, { ...a, owner: 'replica-a' });
      const handled = runs.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value.events : 0), 0) + after.events;
      expect(handled).toBe(6);
      expect(await count('event_receipts')).toBe(8);
      await expectEachOnce();
      expect(await count('predictions', ['source', 'refresh'])).toBeGreaterThan(5);
    });

    it('bad input: a match gone, a model that reads no features, nothing stored after a result: skipped with a reason, cursor moved', async () => {
      const { model, predictor } = await open('oracx-dc@champion');
      // An event whose match was deleted (match_id set null by the foreign key), written as a feed would.
      await store.db
        .insertInto('events')
        .values({ type: 'match_finished', match_id: null, dedupe_key: 'match_finished:999999', payload: JSON.stringify({ matchId: 999999 }) })
        .execute();
      // A finished E0 match of the last round: no coming match after it holds a stored prediction.
      const last = await matchId('Crystal Palace', 'Everton');
      await store.db
        .updateTable('matches')
        .set({ status: 'finished', fthg: 1, ftag: 2, ftr: 'A', row_hash: 'test:finished', updated_at: new Date().toISOString() })
        .where('id', '=', last)
        .execute();
      await store.db
        .insertInto('events')
        .values({ type: 'match_finished', match_id: last, dedupe_key: `match_finished:${last}`, payload: JSON.stringify({ matchId: last }) })
        .execute();
      const progress: string[] = [];
      const r = await refreshPredictions(store, {
        model,
        predictor,
        consumer: 'dc_refresh',
        onProgress: (e) => e.type === 'skipped' && progress.push(e.reason),
      });
      // dc_refresh is a consumer of its own: it sees every match_finished; Dixon–Coles reads no features.
      expect(r.events).toBe(10);
      expect(r.refreshed).toBe(0);
      expect(r.skipped.find((s) => s.matchId === null)?.reason).toBe(
        `match 999999 of event ${r.skipped.find((s) => s.matchId === null)!.eventId} is no longer in the store`,
      );
      expect(progress.some((p) => /reads no features/.test(p))).toBe(true);
      // The cursor moved past all of them: a second pass has nothing to do.
      expect((await refreshPredictions(store, { model, predictor, consumer: 'dc_refresh' })).events).toBe(0);
      // The champion's consumer: the gone match and the last match (nothing stored after it) are skipped with a reason.
      const lr = await open();
      const champion = await refreshPredictions(store, lr);
      expect(champion.events).toBe(2);
      const reasons = champion.skipped.map((s) => s.reason).sort();
      expect(reasons[0]).toMatch(/^match 999999 of event \d+ is no longer in the store$/);
      expect(reasons[1]).toBe('no stored prediction of a coming match depends on it');
      const receipts = await store.db
        .selectFrom('event_receipts')
        .select(['outcome', 'detail'])
        .where('consumer', '=', 'prediction_refresh')
        .where('outcome', '=', 'skipped')
        .execute();
      expect(receipts.length).toBeGreaterThanOrEqual(2);
    });

    it('predictions refresh: usage errors (exit 2) and an unknown model (exit 1) change nothing', async () => {
      const receipts = await count('event_receipts');
      const none = await cli('predictions', 'refresh');
      expect([none.code, none.stderr]).toEqual([2, expect.stringContaining('pass --model or --run')]);
      const both = await cli('predictions', 'refresh', '--model', 'oracx-e0@champion', '--run', '1');
      expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('not both')]);
      const consumer = await cli('predictions', 'refresh', '--model', 'oracx-e0@champion', '--consumer', 'Bad Name');
      expect([consumer.code, consumer.stderr]).toEqual([2, expect.stringContaining('--consumer must be a lower-case name')]);
      const unknown = await cli('predictions', 'refresh', '--model', 'oracx-nope@champion', '--registry', 'local');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/oracx-nope/);
      expect(await count('event_receipts')).toBe(receipts);
    });

    it('bad input: a model that cannot score the competition (Dixon–Coles of E0, an E1 result) skips the event with the reason', async () => {
      const { model, predictor } = await open('oracx-dc@champion');
      const e1 = Number((await store.db.selectFrom('competitions').select('id').where('code', '=', 'E1').executeTakeFirstOrThrow()).id);
      const id = async (name: string) => Number((await store.db.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id);
      const [luton, boro, barnsley] = [await id('Luton'), await id('Middlesbrough'), await id('Barnsley')];
      const insert = async (date: string, home: number, away: number, goals: [number, number] | null) =>
        Number(
          (
            await store.db
              .insertInto('matches')
              .values({
                competition_id: e1,
                season: '2020-2021',
                date,
                kickoff_time: null,
                home_team_id: home,
                away_team_id: away,
                status: goals ? 'finished' : 'scheduled',
                fthg: goals?.[0] ?? null,
                ftag: goals?.[1] ?? null,
                ftr: goals ? 'H' : null,
                row_hash: `test:${date}:${home}`,
              })
              .returning('id')
              .executeTakeFirstOrThrow()
          ).id,
        );
      const coming = await insert('2020-10-10', barnsley, luton, null);
      // A stored prediction of the coming E1 match (as an earlier forecast by another model would have left it).
      await store.db
        .insertInto('predictions')
        .values({
          match_id: coming,
          competition: 'E1',
          season: '2020-2021',
          date: '2020-10-10',
          home_team_id: barnsley,
          away_team_id: luton,
          model_name: null,
          model_version: null,
          model_alias: null,
          model_run: null,
          model_uri: 'file:elsewhere.onnx',
          variant: null,
          feature_set: 'core@1',
          inputs_hash: 'old',
          p_home: 0.4,
          p_draw: 0.3,
          p_away: 0.3,
          source: 'cli',
          principal: null,
          request_id: null,
        })
        .execute();
      const played = await insert('2020-10-03', luton, boro, [2, 1]);
      const event = await store.db
        .insertInto('events')
        .values({ type: 'match_finished', match_id: played, dedupe_key: `match_finished:${played}`, payload: JSON.stringify({ matchId: played }) })
        .returning('id')
        .executeTakeFirstOrThrow();
      const r = await refreshPredictions(store, { model, predictor, consumer: 'dc_refresh' });
      expect(r).toMatchObject({ events: 1, refreshed: 0 });
      expect(r.skipped).toEqual([
        { eventId: Number(event.id), matchId: played, reason: `oracx-dc/1 cannot score E1 (trained on E0): match ${coming} not refreshed` },
      ]);
      const receipt = await store.db
        .selectFrom('event_receipts')
        .selectAll()
        .where('consumer', '=', 'dc_refresh')
        .where('event_id', '=', Number(event.id))
        .executeTakeFirstOrThrow();
      expect(receipt).toMatchObject({ outcome: 'skipped', detail: r.skipped[0]!.reason });
    });
  });
}
