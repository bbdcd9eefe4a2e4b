// Registry events as MLflow tags (src/registry/events.ts), version descriptions and the --json error document.
import { describe, expect, it } from 'vitest';
import { GateFailed, UsageError, UserError } from '../../src/errors.js';
import { errorDocument } from '../../src/output/error-document.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import { aliasStack, moveAlias } from '../../src/registry/audit.js';
import { describeVersion, DESCRIPTION_LIMIT } from '../../src/registry/describe.js';
import { MlflowRegistry } from '../../src/registry/mlflow.js';
import type { Store } from '../../src/store/connect.js';
import { decodeEvents, encodeEvent, EVENT_VALUE_LIMIT, eventKeyTime, newEventKey, versionTags, type RegistryEvent } from '../../src/registry/events.js';

const event = (over: Partial<RegistryEvent> = {}): RegistryEvent => ({
  modelName: 'm',
  action: 'promote',
  alias: 'champion',
  fromVersion: 1,
  toVersion: 2,
  actor: 'ana@host',
  details: { gates: [{ gate: 'rps<=champion', passed: true, actual: 0.2011, threshold: 0.203 }] },
  ...over,
});

describe('event keys', () => {
  it('sort as text in time order, carry their time, and differ between two writers at the same millisecond', () => {
    const t = Date.UTC(2026, 11, 1, 8, 15, 2, 123);
    const a = newEventKey([], t);
    const b = newEventKey([], t);
    expect(a).toMatch(/^oracx\.event\.20261201T081502\.123Z-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(eventKeyTime(a)).toBe(t);
    expect(newEventKey([], t + 1) > a).toBe(true);
    expect(eventKeyTime('oracx.event.garbage')).toBeNull();
  });

  it('sort after the latest recorded event even when this clock is behind', () => {
    const later = newEventKey([], Date.UTC(2030, 0, 1));
    const mine = newEventKey(['owner', later, 'oracx.event.bad'], Date.UTC(2026, 0, 1));
    expect(mine > later).toBe(true);
    expect(eventKeyTime(mine)).toBe(Date.UTC(2030, 0, 1) + 1);
  });
});

describe('event values', () => {
  it('round-trip through a tag: compact JSON read back as an audit entry', () => {
    const at = new Date('2026-12-01T08:00:00.000Z');
    const key = newEventKey([], at.getTime());
    const value = encodeEvent(event(), at);
    expect(JSON.parse(value)).toEqual({
      action: 'promote',
      alias: 'champion',
      from: 1,
      to: 2,
      actor: 'ana@host',
      at: at.toISOString(),
      details: event().details,
    });
    const { entries, warnings } = decodeEvents('m', { [key]: value, owner: 'x' });
    expect(warnings).toEqual([]);
    expect(entries).toEqual([
      {
        id: 1,
        key,
        modelName: 'm',
        action: 'promote',
        alias: 'champion',
        fromVersion: 1,
        toVersion: 2,
        backend: 'mlflow',
        actor: 'ana@host',
        details: event().details,
        createdAt: at.toISOString(),
      },
    ]);
  });

  it('stay within what MLflow stores, cutting details to gates and headline figures, then dropping them', () => {
    const summary = { n: 380, rps: 0.2, logLoss: 1, brier: 0.6, accuracy: 0.5, ece: 0.02 };
    const big = event({ details: { gates: event().details.gates, figures: { challenger: summary, champion: summary }, notes: 'x'.repeat(10_000) } });
    const value = encodeEvent(big, new Date());
    expect(value.length).toBeLessThanOrEqual(EVENT_VALUE_LIMIT);
    expect(JSON.parse(value).details).toEqual({
      gates: event().details.gates,
      figures: { challenger: { rps: 0.2, n: 380 }, champion: { rps: 0.2, n: 380 } },
      truncated: true,
    });
    const huge = event({ details: { gates: Array.from({ length: 200 }, () => event().details.gates).flat() } });
    expect(JSON.parse(encodeEvent(huge, new Date())).details).toEqual({ truncated: true });
    expect(() => encodeEvent(event({ actor: 'a'.repeat(6000) }), new Date())).toThrow(/does not fit in 5000 characters/);
  });

  it('skip tags edited by hand with a warning naming them, keeping the rest in order', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const keys = new Map<number, string>();
    const k = (s: number) => keys.get(s) ?? keys.set(s, newEventKey([], at(s).getTime())).get(s)!;
    const tags = {
      [k(3)]: encodeEvent(event({ action: 'rollback', fromVersion: 2, toVersion: 1 }), at(3)),
      [k(1)]: encodeEvent(event({ fromVersion: null, toVersion: 1 }), at(1)),
      [k(2)]: '{not json',
      [k(4)]: JSON.stringify({ action: 'explode', alias: null, from: null, to: null, actor: 'x', at: 'now' }),
      [k(5)]: encodeEvent(event({ fromVersion: 1, toVersion: 2 }), at(5)),
    };
    const { entries, warnings } = decodeEvents('m', tags);
    expect(entries.map((e) => [e.action, e.fromVersion, e.toVersion])).toEqual([
      ['promote', null, 1],
      ['rollback', 2, 1],
      ['promote', 1, 2],
    ]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`${k(2)} is not JSON`);
    expect(warnings[1]).toMatch(new RegExp(`${k(4).replace(/\./g, '\\.')} is not an oracx event \\(action: .*at: not a date\\)`));
    expect(aliasStack(entries)).toEqual([1, 2]);
  });
});

describe('version tags', () => {
  it('mark the new holder promoted and the old one demoted, per alias, and a new version registered', () => {
    const at = new Date('2026-12-01T08:00:00.000Z');
    const tags = versionTags(event(), at);
    expect(tags.get(2)).toEqual({
      'oracx.champion.promoted_at': at.toISOString(),
      'oracx.champion.promoted_by': 'ana@host',
      'oracx.champion.promoted_from': '1',
      'oracx.champion.promoted_via': 'promote',
      'oracx.champion.promoted_gates': 'rps<=champion: 0.20110 vs 0.20300',
    });
    expect(tags.get(1)).toEqual({
      'oracx.champion.demoted_at': at.toISOString(),
      'oracx.champion.demoted_by': 'ana@host',
      'oracx.champion.demoted_to': '2',
      'oracx.champion.demoted_via': 'promote',
    });
    const registered = versionTags(event({ action: 'register', alias: 'challenger', fromVersion: null, toVersion: 3, details: {} }), at);
    expect([...registered.keys()]).toEqual([3]);
    expect(registered.get(3)).toMatchObject({
      'oracx.registered_by': 'ana@host',
      'oracx.challenger.promoted_from': 'none',
      'oracx.challenger.promoted_via': 'register',
    });
    expect(versionTags(event({ action: 'register', alias: null, fromVersion: null, toVersion: 4 }), at).get(4)).toEqual({
      'oracx.registered_by': 'ana@host',
      'oracx.registered_at': at.toISOString(),
    });
  });
});

describe('describeVersion', () => {
  const facts = {
    modelKind: 'logreg',
    featureSet: 'core@2',
    runId: 12,
    mlflowRunId: 'a'.repeat(32),
    competitions: ['E0', 'E1'],
    trainFrom: '2017-08-01',
    trainUntil: '2019-06-30',
    nMatches: 1520,
    train: { rps: 0.20123, logLoss: 0.98, accuracy: 0.51 },
    auto: { l2: { value: 3, method: 'validation', grid: [1, 3, 10], valRps: [0.21, 0.2055, 0.207] } },
    params: { l2: 3, epochs: 200, members: ['a', 'b'] },
    parity: { rows: 1520, maxAbsDiff: 3e-7 },
    quantization: { kept: true, rpsFloat: 0.20123, rpsInt8: 0.20131 },
  };

  it('says what was trained on what, how well and how faithfully it was exported', () => {
    const text = describeVersion(facts);
    expect(text).toContain('logreg on feature set core@2, trained by oracx run 12 (MLflow run aaaa');
    expect(text).toContain('E0, E1, 2017-08-01 … 2019-06-30, 1520 matches');
    expect(text).toContain('Train RPS 0.2012');
    expect(text).toContain('validation RPS 0.2055 (hold-out at the end of the window, l2=3)');
    expect(text).toContain('Params: l2=3 (auto), epochs=200.');
    expect(text).toContain('ONNX parity: max |Δp| 3.0e-7 on 1520 training rows');
    expect(text).toContain('int8 weights kept: RPS 0.20123 float vs 0.20131 int8');
  });

  it("stays within MLflow's description column", () => {
    const many = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`p${i}`, i]));
    expect(describeVersion({ ...facts, params: many }).length).toBe(DESCRIPTION_LIMIT);
  });
});

describe('errorDocument', () => {
  it('names the kind and exit code, with hint, details and credentials redacted', () => {
    expect(errorDocument(new UserError('no such model', { hint: 'see models list' }))).toEqual({
      ok: false,
      error: { kind: 'user', exitCode: 1, message: 'no such model', hint: 'see models list' },
    });
    expect(errorDocument(new UsageError('bad alias')).error).toMatchObject({ kind: 'usage', exitCode: 2 });
    const gate = Object.assign(new GateFailed('not promoted'), { details: { gates: [] } });
    expect(errorDocument(gate).error).toMatchObject({ kind: 'gate', exitCode: 3, details: { gates: [] } });
    expect(errorDocument(new Error('at http://ana:s3cret@host/x')).error).toEqual({ kind: 'internal', exitCode: 70, message: 'at http://ana:***@host/x' });
    expect(errorDocument(new Error('boom'), true).error).toMatchObject({ kind: 'interrupted', exitCode: 130 });
  });
});

describe('moveAlias on MLflow when the event cannot be written', () => {
  /** A client whose alias and tag calls are recorded; `failOn` names the call that throws. */
  function fakeClient(calls: string[], failOn: string) {
    const call = (name: string, ...args: unknown[]) => {
      calls.push([name, ...args].join(' '));
      if (name === failOn) throw new Error(`${name} refused`);
    };
    const version = (v: string) => ({ name: 'm', version: v, source: 's', status: 'READY', tags: {} });
    return {
      getRegisteredModel: async () => ({ name: 'm', tags: {}, aliases: { champion: '1' }, latestVersions: [] }),
      getModelVersion: async (_n: string, v: string) => version(v),
      setAlias: async (_n: string, alias: string, v: string) => call('setAlias', alias, v),
      deleteAlias: async (_n: string, alias: string) => call('deleteAlias', alias),
      setRegisteredModelTag: async (_n: string, key: string) => call('setRegisteredModelTag', key.slice(0, 12)),
      deleteRegisteredModelTag: async (_n: string, key: string) => call('deleteRegisteredModelTag', key.slice(0, 12)),
      setModelVersionTag: async (_n: string, v: string, key: string) => call('setModelVersionTag', v, key),
    } as unknown as MlflowClient;
  }
  const store = {} as Store; // never reached: the local copy is written only after MLflow took the event

  it('moves the alias back when the event tag is refused', async () => {
    const calls: string[] = [];
    const registry = new MlflowRegistry(fakeClient(calls, 'setRegisteredModelTag'), 'http://mlflow');
    await expect(moveAlias(store, registry, { ...event(), alias: 'champion', toVersion: 2 })).rejects.toThrow(
      /"champion" of m was not moved to version 2: the promote could not be recorded in http:\/\/mlflow \(setRegisteredModelTag refused\); it was moved back/,
    );
    expect(calls).toEqual(['setAlias champion 2', 'setRegisteredModelTag oracx.event.', 'setAlias champion 1']);
  });

  it('removes the event tag and moves the alias back when a version tag is refused; deletes an alias that was new', async () => {
    const calls: string[] = [];
    const registry = new MlflowRegistry(fakeClient(calls, 'setModelVersionTag'), 'http://mlflow');
    await expect(moveAlias(store, registry, { ...event({ fromVersion: null }), alias: 'champion', toVersion: 2 })).rejects.toThrow(
      /was not moved to version 2.*it was moved back/,
    );
    expect(calls).toEqual([
      'setAlias champion 2',
      'setRegisteredModelTag oracx.event.',
      'setModelVersionTag 2 oracx.champion.promoted_at',
      'deleteRegisteredModelTag oracx.event.',
      'deleteAlias champion',
    ]);
  });
});
