// The registry's history in MLflow: two "machines" (two stores, one MLflow server) see one history of promotions and
// rollbacks, and either can roll back; MLflow's own Python client sees the event tags, the version tags and the
// version descriptions; failed `models … --json` commands print an error document.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainResult } from '../../pipelines/train.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { AuditEntry } from '../../src/registry/audit.js';
import { EVENT_TAG_PREFIX } from '../../src/registry/events.js';
import { MlflowRegistry } from '../../src/registry/mlflow.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, pythonMlflow, testClient, uniqueName } from '../helpers/mlflow.js';
import { tempDir } from '../helpers/stores.js';

type History = { history: (AuditEntry & { key: string })[]; warnings: string[] };
type ErrorDoc = { ok: false; error: { kind: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown> } };

describe.skipIf(!mlflowOrSkip())('registry events in MLflow, shared by two machines', () => {
  let url = '';
  let client: MlflowClient;
  let dirA = '';
  let dirB = '';
  const experiment = uniqueName('oracx-events');
  const model = uniqueName('oracx-ev');
  const env = (actor: string) => ({ MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1', ORACX_ACTOR: actor });
  // Machine A trains and registers; machine B has a store of its own that never saw any of it.
  const onA = (args: string[]) => runCli([...args, '--store', path.join(dirA, 'a.db')], { cwd: dirA, env: env('machine-a') });
  const onB = (args: string[]) => runCli([...args, '--store', path.join(dirB, 'b.db')], { cwd: dirB, env: env('machine-b') });
  const champion = async () => (await client.getVersionByAlias(model, 'champion'))?.version;
  const moves = (h: History) => h.history.filter((e) => e.alias === 'champion').map((e) => [e.action, e.fromVersion, e.toVersion, e.actor]);

  beforeAll(async () => {
    url = await mlflowServer();
    client = testClient(url);
    dirA = tempDir();
    dirB = tempDir();
    const c = await onA(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
    expect(c.code, c.stderr).toBe(0);
    const train = async (extra: string[]) => {
      const r = await onA(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return r.json<TrainResult>();
    };
    const good = await train(['--param', 'l2=10']);
    // Five months of matches and a weak pinned L2: worse than the good one on 2019-2020.
    const weak = await train(['--train-from', '2019-02-01', '--param', 'l2=0.001']);
    const v1 = await onA(['register', '--run', String(good.runId), '--name', model, '--model-description', 'E0 1X2 probabilities', '--json']);
    expect(v1.code, v1.stderr).toBe(0);
    const v2 = await onA([
      'register',
      '--run',
      String(weak.runId),
      '--name',
      model,
      '--alias',
      'challenger',
      '--description',
      'the weak one, for the rollback drill',
      '--json',
    ]);
    expect(v2.code, v2.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await client?.deleteRegisteredModel(model).catch(() => undefined);
  });

  it('A promotes and rolls back; B shows the same history and rolls back from it; a refused promote --json prints the error', async () => {
    expect((await onA(['models', 'promote', `${model}/1`, '--require', 'rps<=champion'])).code).toBe(0);

    const refused = await onA(['models', 'promote', model, '--require', 'rps<=champion', '--json']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/version 2 not promoted to "champion": rps<=champion/);
    const doc = refused.json<ErrorDoc>();
    expect(doc).toMatchObject({ ok: false, error: { kind: 'gate', exitCode: 3, hint: expect.stringMatching(/measured on 380 matches of E0 2019-2020/) } });
    expect(doc.error.message).toMatch(/version 2 not promoted to "champion"/);
    expect(doc.error.details).toMatchObject({ name: model, alias: 'champion', from: 1, to: 2, gates: [{ gate: 'rps<=champion', passed: false }] });
    expect(await champion()).toBe('1');

    expect((await onA(['models', 'promote', model, '--require', 'rps<=champion+0.1'])).code).toBe(0);
    expect((await onA(['models', 'rollback', model])).code).toBe(0);
    expect((await onA(['models', 'promote', model, '--require', 'rps<=champion+0.1'])).code).toBe(0);
    expect(await champion()).toBe('2');

    const showA = await onA(['models', 'show', model, '--json']);
    const showB = await onB(['models', 'show', model, '--json']);
    expect(showB.code, showB.stderr).toBe(0);
    const a = showA.json<History>();
    const b = showB.json<History>();
    expect(b.history).toEqual(a.history);
    expect(b.warnings).toEqual([]);
    expect(b.history.map((e) => [e.action, e.alias, e.fromVersion, e.toVersion])).toEqual([
      ['register', null, null, 1],
      ['register', 'challenger', null, 2],
      ['promote', 'champion', null, 1],
      ['promote', 'champion', 1, 2],
      ['rollback', 'champion', 2, 1],
      ['promote', 'champion', 1, 2],
    ]);
    expect(new Set(b.history.map((e) => e.actor))).toEqual(new Set(['machine-a']));
    expect(b.history[3]!.details).toMatchObject({ gates: [{ gate: 'rps<=champion+0.1', passed: true }], figures: { challenger: { n: 380 } } });
    const times = b.history.map((e) => e.key);
    expect([...times].sort()).toEqual(times);

    // B never saw these moves in its own store, yet rolls back to the previous champion from MLflow's history.
    const back = await onB(['models', 'rollback', model, '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json()).toMatchObject({ from: 2, to: 1 });
    expect(await champion()).toBe('1');
    // …and A sees B's rollback, although its own store never recorded it.
    const after = (await onA(['models', 'show', model, '--json'])).json<History>();
    expect(moves(after).at(-1)).toEqual(['rollback', 2, 1, 'machine-b']);
    // Walking back past the first promotion is refused, on both machines, with a JSON error under --json.
    const none = await onA(['models', 'rollback', model, '--json']);
    expect(none.code).toBe(1);
    expect(none.json<ErrorDoc>()).toMatchObject({
      ok: false,
      error: { kind: 'user', exitCode: 1, message: expect.stringMatching(/no previous version to roll back to/) },
    });
  });

  it("MLflow's own client sees the event tags, the version tags and the descriptions", async () => {
    const seen = await pythonMlflow<{
      description: string;
      tags: Record<string, string>;
      versions: Record<string, { description: string; tags: Record<string, string> }>;
    }>(
      url,
      [
        'import json, sys',
        'from mlflow import MlflowClient',
        'c = MlflowClient()',
        'm = c.get_registered_model(sys.argv[1])',
        'vs = {v: c.get_model_version(sys.argv[1], v) for v in ("1", "2")}',
        'print(json.dumps({"description": m.description, "tags": m.tags, "versions": {k: {"description": v.description, "tags": v.tags} for k, v in vs.items()}}))',
      ].join('\n'),
      [model],
    );
    expect(seen.description).toBe('E0 1X2 probabilities');
    const events = Object.entries(seen.tags)
      .filter(([k]) => k.startsWith(EVENT_TAG_PREFIX))
      .sort(([x], [y]) => x.localeCompare(y));
    expect(events).toHaveLength(7);
    for (const [key, value] of events) {
      expect(key).toMatch(/^oracx\.event\.\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/);
      expect(value.length).toBeLessThanOrEqual(5000);
    }
    const last = JSON.parse(events.at(-1)![1]) as Record<string, unknown>;
    expect(last).toMatchObject({ action: 'rollback', alias: 'champion', from: 2, to: 1, actor: 'machine-b' });
    expect(Date.parse(String(last.at))).toBeGreaterThan(Date.now() - 10 * 60_000);

    // v1 holds champion again (B's rollback); v2 was promoted by A, then demoted by B's rollback.
    const v1 = seen.versions['1']!;
    const v2 = seen.versions['2']!;
    expect(v1.tags).toMatchObject({
      'oracx.registered_by': 'machine-a',
      'oracx.champion.promoted_by': 'machine-b',
      'oracx.champion.promoted_from': '2',
      'oracx.champion.promoted_via': 'rollback',
    });
    expect(v2.tags).toMatchObject({
      'oracx.challenger.promoted_via': 'register',
      'oracx.champion.promoted_by': 'machine-a',
      'oracx.champion.promoted_from': '1',
      'oracx.champion.promoted_via': 'promote',
      'oracx.champion.promoted_gates': expect.stringMatching(/^rps<=champion\+0\.1: 0\.\d{5} vs 0\.\d{5}$/),
      'oracx.champion.demoted_by': 'machine-b',
      'oracx.champion.demoted_to': '1',
      'oracx.champion.demoted_via': 'rollback',
    });
    expect(Date.parse(v2.tags['oracx.champion.demoted_at']!)).toBeGreaterThan(Date.parse(v2.tags['oracx.champion.promoted_at']!));
    // The default version description says what the version is; --description replaces it.
    expect(v1.description).toMatch(/^logreg on feature set core@2, trained by oracx run \d+ \(MLflow run [0-9a-f]{32}\)\./);
    expect(v1.description).toMatch(/Training window: E0, 20\d\d-\d\d-\d\d … 2019-0\d-\d\d, 760 matches/);
    expect(v1.description).toMatch(/Train RPS 0\.\d{4}/);
    expect(v1.description).toMatch(/ONNX parity: max \|Δp\| \d\.\de-\d+ on 760 training rows/);
    expect(v2.description).toBe('the weak one, for the rollback drill');
    const shown = (await onB(['models', 'show', model, '--json'])).json<{ versions: { version: number; description: string }[] }>();
    expect(shown.versions.find((v) => v.version === 2)?.description).toBe('the weak one, for the rollback drill');
  });

  it('shows a history whose event tags were edited by hand, with a warning, and keeps rolling back from the rest', async () => {
    const bad = `${EVENT_TAG_PREFIX}20000101T000000.000Z-deadbeef`;
    await client.setRegisteredModelTag(model, bad, '{"action": "promote", oops');
    try {
      const r = await onB(['models', 'show', model, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<History>();
      expect(doc.warnings).toEqual([expect.stringContaining(`${bad} is not JSON`)]);
      expect(r.stderr).toContain(bad);
      expect(doc.history).toHaveLength(7);
      const table = await onB(['models', 'show', model]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stderr).toMatch(/is not JSON.*event skipped/);
      // The history table: B's rollback, by B, from 2 to 1.
      expect(table.stdout).toMatch(/rollback\s*│\s*champion\s*│\s*2\s*│\s*1\s*│\s*machine-b/);
      // Rollback reads the rest of the history: B promotes v2 (no gates, so no data needed) and rolls back again.
      expect((await onB(['models', 'promote', `${model}/2`])).code).toBe(0);
      const back = await onB(['models', 'rollback', model, '--json']);
      expect(back.code, back.stderr).toBe(0);
      expect(back.json()).toMatchObject({ from: 2, to: 1, warnings: [expect.stringContaining(bad)] });
      expect(await champion()).toBe('1');
      const none = await onB(['models', 'rollback', model]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no previous version to roll back to — pass --to VERSION; 1 history record\(s\) could not be read/);
    } finally {
      await client.deleteRegisteredModelTag(model, bad);
    }
  });

  it('keeps both events when two writers record at once', async () => {
    const registry = new MlflowRegistry(client, url);
    const event = (actor: string) => ({ modelName: model, action: 'set-alias' as const, alias: 'shadow', fromVersion: null, toVersion: 1, actor, details: {} });
    await Promise.all([registry.appendEvent(event('writer-1')), registry.appendEvent(event('writer-2'))]);
    const { entries } = await registry.history(model);
    expect(
      entries
        .filter((e) => e.alias === 'shadow')
        .map((e) => e.actor)
        .sort(),
    ).toEqual(['writer-1', 'writer-2']);
  });

  it('prints a JSON error document for unknown models, versions and aliases, keeping the exit code and stderr', async () => {
    const cases: [string[], RegExp, number][] = [
      [['models', 'promote', `${model}-nope/1`], /unknown registered model/, 1],
      [['models', 'promote', `${model}/99`], /has no version 99/, 1],
      [['models', 'promote', `${model}@staging`], /has no alias "staging"/, 1],
      [['models', 'promote', model, '--alias', 'latest'], /"latest" is reserved/, 2],
      [['models', 'show', `${model}-nope`], /unknown registered model/, 1],
      [['models', 'rollback', model, '--alias', 'staging'], /no alias "staging" to roll back/, 1],
      [['models', 'pull', `${model}/99`], /has no version 99/, 1],
    ];
    for (const [args, message, code] of cases) {
      const r = await onB([...args, '--json']);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.json<ErrorDoc>().error, args.join(' ')).toMatchObject({
        exitCode: code,
        kind: code === 2 ? 'usage' : 'user',
        message: expect.stringMatching(message),
      });
    }
    expect(await champion()).toBe('1');
  });
});
