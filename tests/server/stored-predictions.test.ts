// Every /v1 forecast is stored, on SQLite and PostgreSQL: one row per forecast, equal to the response; cached answers
// are stored too; a batch with a bad request stores nothing; concurrent requests (micro-batched) each get their row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServableStore,
  COMING,
  countPredictions,
  expectProblem,
  MODEL,
  pairing,
  startTestServer,
  type HttpResponse,
  type ServableStore,
  type TestServer,
} from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';

interface Forecast {
  matchId: number | null;
  competition: string;
  season: string;
  date: string;
  home: string;
  away: string;
  probabilities: { home: number; draw: number; away: number };
  model: { uri: string; name: string | null; version: number | null; alias: string | null; run: string | null };
  featureSet: string;
  inputsHash: string;
  cached: boolean;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`stored predictions on ${dialect.name}`, () => {
    let fx: ServableStore;
    let s: TestServer;

    beforeAll(async () => {
      fx = await buildServableStore({ dialect: dialect.name });
      s = await startTestServer(fx);
    }, 120_000);

    afterAll(async () => {
      await s?.close();
      await fx?.close();
    });

    /** The stored rows of a request id, with team names. */
    async function rowsOf(requestId: string) {
      await s.server.runtime.sink.drain();
      return fx.store.db
        .selectFrom('predictions as p')
        .innerJoin('teams as h', 'h.id', 'p.home_team_id')
        .innerJoin('teams as a', 'a.id', 'p.away_team_id')
        .selectAll('p')
        .select(['h.name as home', 'a.name as away'])
        .where('p.request_id', '=', requestId)
        .orderBy('p.id')
        .execute();
    }

    const keyId = async (role: 'predictor') => {
      const r = await s.call('POST', '/v1/predict', { key: fx.keys[role], body: { matchId: fx.coming[0] }, headers: { 'x-request-id': `whoami-${role}` } });
      expect(r.status).toBe(200);
      return (await rowsOf(`whoami-${role}`))[0]!.principal;
    };

    function expectRow(row: Record<string, unknown>, f: Forecast, requestId: string, principal: string | null): void {
      expect(row).toMatchObject({
        match_id: f.matchId,
        competition: f.competition,
        season: f.season,
        date: f.date,
        home: f.home,
        away: f.away,
        model_name: f.model.name,
        model_version: f.model.version,
        model_alias: f.model.alias,
        model_run: f.model.run,
        model_uri: f.model.uri,
        variant: null,
        feature_set: f.featureSet,
        inputs_hash: f.inputsHash,
        p_home: f.probabilities.home,
        p_draw: f.probabilities.draw,
        p_away: f.probabilities.away,
        source: 'api',
        principal,
        request_id: requestId,
      });
    }

    it('stores each forecast as answered, by id and by pairing, cached ones too', async () => {
      const principal = await keyId('predictor');
      expect(principal).toMatch(/^key:\d+$/);
      const asked: Array<[string, unknown]> = [
        ['by-id', { matchId: fx.coming[2] }],
        ['by-pairing', pairing('Arsenal', 'Chelsea', '2020-10-03')],
        ['again', pairing('Arsenal', 'Chelsea', '2020-10-03')],
      ];
      const answers: HttpResponse<Forecast>[] = [];
      for (const [id, body] of asked) {
        const r = await s.call<Forecast>('POST', '/v1/predict', { key: fx.keys.predictor, body, headers: { 'x-request-id': id } });
        expect(r.status, r.text).toBe(200);
        answers.push(r);
      }
      expect(answers.map((a) => a.body.cached)).toEqual([false, false, true]);
      for (const [k, [id]] of asked.entries()) {
        const rows = await rowsOf(id);
        expect(rows, id).toHaveLength(1);
        expectRow(rows[0]!, answers[k]!.body, id, principal);
      }
      expect(answers[0]!.body).toMatchObject({ matchId: fx.coming[2], home: COMING[2].home, model: { uri: `${MODEL}/1` } });
    });

    it('stores a batch as one row per forecast, in order', async () => {
      const principal = await keyId('predictor');
      const requests = [{ matchId: fx.coming[3] }, pairing('Everton', 'Wolves', '2020-10-17'), { matchId: fx.coming[4] }, { matchId: fx.coming[3] }];
      const r = await s.call<{ forecasts: Forecast[] }>('POST', '/v1/predict/batch', {
        key: fx.keys.predictor,
        body: { requests },
        headers: { 'x-request-id': 'batch-ok' },
      });
      expect(r.status, r.text).toBe(200);
      const rows = await rowsOf('batch-ok');
      expect(rows).toHaveLength(requests.length);
      for (const [k, f] of r.body.forecasts.entries()) expectRow(rows[k]!, f, 'batch-ok', principal);
    });

    it('stores nothing of a batch with a bad request', async () => {
      await s.server.runtime.sink.drain();
      const before = await countPredictions(fx.store);
      const requests = [{ matchId: fx.coming[0] }, pairing('Arsenal', 'Chelsea', '2020-10-24'), pairing('Arsenal', 'Nowhere FC', '2020-10-24')];
      const r = await s.call('POST', '/v1/predict/batch', { key: fx.keys.predictor, body: { requests }, headers: { 'x-request-id': 'batch-bad' } });
      expect(expectProblem(r, 422, 'batch_invalid').errors).toEqual([expect.objectContaining({ index: 2, code: 'unknown_team' })]);
      expect(await rowsOf('batch-bad')).toEqual([]);
      expect(await countPredictions(fx.store)).toBe(before);
    });

    it('stores every one of many concurrent requests (micro-batched), each with its own answer', async () => {
      const n = 200;
      const bodies = Array.from({ length: n }, (_, i) =>
        i % 3 === 0
          ? { matchId: fx.coming[i % fx.coming.length]! }
          : pairing(['Arsenal', 'Everton', 'Burnley'][i % 3]!, 'Chelsea', `2020-11-${String(1 + (i % 28)).padStart(2, '0')}`),
      );
      const answers = await Promise.all(
        bodies.map((body, i) => s.call<Forecast>('POST', '/v1/predict', { key: fx.keys.predictor, body, headers: { 'x-request-id': `burst-${i}` } })),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(n).fill(200));
      await s.server.runtime.sink.drain();
      const rows = await fx.store.db
        .selectFrom('predictions')
        .select(['request_id', 'p_home', 'p_draw', 'p_away', 'inputs_hash'])
        .where('request_id', 'like', 'burst-%')
        .execute();
      expect(rows).toHaveLength(n);
      const byId = new Map(rows.map((r) => [r.request_id, r]));
      for (const [i, a] of answers.entries()) {
        expect(byId.get(`burst-${i}`)).toEqual({
          request_id: `burst-${i}`,
          p_home: a.body.probabilities.home,
          p_draw: a.body.probabilities.draw,
          p_away: a.body.probabilities.away,
          inputs_hash: a.body.inputsHash,
        });
      }
      // The same inputs get the same answer, whichever micro-batch or the cache served them.
      const byHash = new Map<string, Forecast['probabilities']>();
      for (const a of answers) {
        const seen = byHash.get(a.body.inputsHash);
        if (seen) expect(a.body.probabilities).toEqual(seen);
        else byHash.set(a.body.inputsHash, a.body.probabilities);
      }
    });

    it('answers filters the database could choke on (year 0, NUL bytes) with 400, never 500', async () => {
      const cases: Array<[string, number]> = [
        ['/v1/matches?from=0000-01-01', 400],
        ['/v1/matches?to=0001-12-31', 400],
        ['/v1/matches?from=1800-01-01&limit=1', 200],
        ['/v1/matches?team=%00', 400],
        ['/v1/matches?team=Arse%00nal', 400],
        ['/v1/predictions?since=0000-01-01', 400],
        ['/v1/predictions?until=0001-01-01T00:00', 400],
        ['/v1/predictions?since=1800-01-01T00:00&limit=1', 200],
        // Ids beyond PostgreSQL's integer.
        ['/v1/matches/2147483648', 400],
        ['/v1/matches/2147483647', 404],
        ['/v1/predictions?version=2147483648', 400],
        ['/v1/predictions?match=2147483648', 400],
        ['/v1/predictions?match=2147483647', 200],
      ];
      for (const [route, status] of cases) {
        const r = await s.call('GET', route, { key: fx.keys.viewer });
        expect(r.status, `${route}: ${r.text}`).toBe(status);
        if (status === 400) expectProblem(r, 400, 'validation_failed');
      }
      const tooBig = await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: 2 ** 31 } });
      expectProblem(tooBig, 400, 'validation_failed');
      expectProblem(await s.call('POST', '/v1/predict', { key: fx.keys.predictor, body: { matchId: 2 ** 31 - 1 } }), 404, 'match_not_found');
      expect(s.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    });

    it('lists what it stored through GET /v1/predictions', async () => {
      await s.server.runtime.sink.drain();
      const r = await s.call('GET', '/v1/predictions?limit=500&source=api', { key: fx.keys.admin });
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBe(Math.min(500, await countPredictions(fx.store)));
      const stored = r.body.items.find((p: { requestId: string }) => p.requestId === 'by-id');
      expect(stored).toMatchObject({ matchId: fx.coming[2], model: { uri: `${MODEL}/1`, variant: null }, source: 'api' });
    });
  });
}
