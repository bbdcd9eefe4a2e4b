import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  defineFeatureSet,
  definitionHash,
  featureNames,
  validateDefinition,
  type FeatureSetDefinition,
} from '../../src/ml/features/definition.js';
import { DEFAULT_ELO } from '../../src/ml/features/params.js';
import { FEATURE_SETS, featureSetRef, parseFeatureSetRef } from '../../src/ml/features/registry.js';

const FORM_SIDE = ['ppg', 'gf', 'ga', 'shots_for', 'shots_against', 'sot_for', 'sot_against', 'n'];

describe('defineFeatureSet', () => {
  it('fills omitted parameters with the defaults and freezes the result', () => {
    const def = defineFeatureSet({ name: 'x', version: 1, groups: { elo: { k: 30 }, rest: {} } });
    expect(def.groups.elo).toEqual({ ...DEFAULT_ELO, k: 30 });
    expect(def.groups.rest).toEqual({ capDays: 30 });
    expect(def.description).toBe('');
    expect(Object.isFrozen(def.groups.elo)).toBe(true);
  });

  it('does not freeze arrays the caller passed in', () => {
    const windows = [3];
    defineFeatureSet({ name: 'x', version: 1, groups: { form: { windows } } });
    expect(Object.isFrozen(windows)).toBe(false);
  });

  it.each([
    [{ name: 'X', version: 1, groups: { rest: {} } }, /name must match/],
    [{ name: 'a@1', version: 1, groups: { rest: {} } }, /name must match/],
    [{ name: 'x', version: 0, groups: { rest: {} } }, /version must be an integer ≥ 1/],
    [{ name: 'x', version: 1, groups: {} }, /at least one group/],
    [{ name: 'x', version: 1, groups: { elo: { k: -1 } } }, /elo\.k must be > 0/],
    [{ name: 'x', version: 1, groups: { elo: { seasonRegression: 1.5 } } }, /seasonRegression must be in \[0, 1\]/],
    [{ name: 'x', version: 1, groups: { elo: { marginRule: 'fancy' } } }, /marginRule must be one of none, world-football/],
    [{ name: 'x', version: 1, groups: { pi: { lambda: Number.NaN } } }, /pi\.lambda must be in \(0, 1\]/],
    [{ name: 'x', version: 1, groups: { form: { windows: [] } } }, /windows must be a non-empty array/],
    [{ name: 'x', version: 1, groups: { form: { windows: [5, 5] } } }, /repeated window/],
    [{ name: 'x', version: 1, groups: { form: { windows: [2.5] } } }, /integer in \[1, 100\]/],
    [{ name: 'x', version: 1, groups: { rest: { capDays: 0 } } }, /capDays must be an integer/],
    [{ name: 'x', version: 1, groups: { h2h: { window: 101 } } }, /window must be an integer in \[1, 100\]/],
    [{ name: 'x', version: 1, groups: { shotRatings: { stats: [] } } }, /shotRatings\.stats must be a non-empty array/],
    [{ name: 'x', version: 1, groups: { shotRatings: { stats: ['goals'] } } }, /each must be one of shotsOnTarget, shots/],
    [{ name: 'x', version: 1, groups: { shotRatings: { stats: ['shots', 'shots'] } } }, /repeated statistic/],
    [{ name: 'x', version: 1, groups: { shotRatings: { step: 0 } } }, /shotRatings\.step must be in \(0, 1\]/],
    [{ name: 'x', version: 1, groups: { shotRatings: { seasonShrink: -0.1 } } }, /seasonShrink must be in \[0, 1\]/],
    [{ name: 'x', version: 1, groups: { shotRatings: { newcomerStrength: 3 } } }, /newcomerStrength must be within ±2/],
    [{ name: 'x', version: 1, groups: { market: { method: 'magic' } } }, /method must be one of multiplicative, additive, power, shin/],
    [{ name: 'x', version: 1, groups: { elo: { kay: 3 } } }, /unknown parameter "kay"/],
    [{ name: 'x', version: 1, groups: { xg: {} } }, /unknown group "xg"/],
  ])('rejects %j', (input, message) => {
    expect(() => defineFeatureSet(input as never)).toThrow(message);
  });

  it('throws RangeError for out-of-range numbers', () => {
    expect(() => defineFeatureSet({ name: 'x', version: 1, groups: { elo: { k: 0 } } })).toThrow(RangeError);
  });

  it('validateDefinition rejects a hand-built definition with a missing parameter', () => {
    const def = { name: 'x', version: 1, description: '', groups: { rest: {} } } as unknown as FeatureSetDefinition;
    expect(() => validateDefinition(def)).toThrow(/rest\.capDays is missing/);
  });
});

describe('featureNames', () => {
  it('lists core@1 in group order with stable, unique names', () => {
    const names = featureNames(FEATURE_SETS['core@1']!);
    const form = (n: number): string[] => [
      ...FORM_SIDE.map((s) => `form${n}_home_${s}`),
      ...FORM_SIDE.map((s) => `form${n}_away_${s}`),
      ...['ppg', 'gf', 'ga', 'n'].map((s) => `form${n}_home_at_home_${s}`),
      ...['ppg', 'gf', 'ga', 'n'].map((s) => `form${n}_away_at_away_${s}`),
    ];
    expect(names).toEqual([
      'elo_home',
      'elo_away',
      'elo_diff',
      'elo_expected_home',
      'pi_home_at_home',
      'pi_away_at_away',
      'pi_diff',
      'pi_expected_gd',
      ...form(5),
      ...form(10),
      'rest_home_days',
      'rest_away_days',
      'rest_diff',
      'h2h_gd_mean',
      'h2h_home_win_share',
      'h2h_n',
    ]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('appends the market group to market@1', () => {
    const core = featureNames(FEATURE_SETS['core@1']!);
    expect(featureNames(FEATURE_SETS['market@1']!)).toEqual([...core, 'market_p_home', 'market_p_draw', 'market_p_away', 'market_overround', 'market_missing']);
  });

  it('appends the shot ratings to core@1 in core@2, before any market columns', () => {
    const core = featureNames(FEATURE_SETS['core@1']!);
    const shots = ['sot', 'shots'].flatMap((p) => [`${p}_expected_home`, `${p}_expected_away`, `${p}_expected_log_ratio`]);
    expect(featureNames(FEATURE_SETS['core@2']!)).toEqual([...core, ...shots]);
    const withMarket = defineFeatureSet({ name: 'x', version: 1, groups: { market: {}, shotRatings: { stats: ['shots'] } } });
    expect(featureNames(withMarket).slice(0, 4)).toEqual(['shots_expected_home', 'shots_expected_away', 'shots_expected_log_ratio', 'market_p_home']);
  });

  it('follows GROUP_ORDER whatever order the groups object lists them in', () => {
    const a = defineFeatureSet({ name: 'x', version: 1, groups: { h2h: {}, elo: {} } });
    expect(featureNames(a).slice(0, 4)).toEqual(['elo_home', 'elo_away', 'elo_diff', 'elo_expected_home']);
  });

  it('drops the shot columns when shots is off', () => {
    const def = defineFeatureSet({ name: 'x', version: 1, groups: { form: { windows: [3], shots: false, venueSplit: false } } });
    expect(featureNames(def)).toEqual([
      'form3_home_ppg',
      'form3_home_gf',
      'form3_home_ga',
      'form3_home_n',
      'form3_away_ppg',
      'form3_away_gf',
      'form3_away_ga',
      'form3_away_n',
    ]);
  });
});

describe('definitionHash', () => {
  it('pins the registered sets: a failure here means a registered version changed — add a new version instead', () => {
    const hashes = Object.fromEntries(Object.entries(FEATURE_SETS).map(([ref, def]) => [ref, definitionHash(def)]));
    expect(hashes).toMatchInlineSnapshot(`
      {
        "closing@1": "c46d9a2b96b07bb9e20a2ddc1b1de8163fc1538e5daf786f85f34693a435bcb7",
        "core@1": "04929715c587afe0f2d77903b18a813864655f73677ce277983f69768087bc17",
        "core@2": "97c5e250776ce8a791195edc4008449a81c7f612dc49682f2b9d4fb531ae7a0e",
        "market@1": "d1bff613366e9f9ae014ad81770bb9f9355f2bc4acd7046f95ba9ef728eaa7b8",
        "market@2": "043f8833ae2dfd13fe8d3a527162095eef9bc1948abea1a242287897a3cb65b4",
      }
    `);
  });

  it('ignores key order and the description, but not parameters', () => {
    const a = defineFeatureSet({ name: 'x', version: 1, description: 'one', groups: { rest: {}, h2h: {} } });
    const b = defineFeatureSet({ name: 'x', version: 1, description: 'two', groups: { h2h: {}, rest: {} } });
    const c = defineFeatureSet({ name: 'x', version: 1, groups: { h2h: {}, rest: { capDays: 31 } } });
    expect(definitionHash(a)).toBe(definitionHash(b));
    expect(definitionHash(a)).not.toBe(definitionHash(c));
    expect(definitionHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('canonicalJson sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: 'x' }, e: undefined })).toBe('{"a":{"c":"x","d":[3,1]},"b":1}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(RangeError);
  });
});

describe('parseFeatureSetRef', () => {
  it('resolves name@version and a bare name to its latest version', () => {
    expect(parseFeatureSetRef('core@1')).toBe(FEATURE_SETS['core@1']);
    expect(parseFeatureSetRef('market')).toBe(FEATURE_SETS['market@2']);
    expect(parseFeatureSetRef('core')).toBe(FEATURE_SETS['core@2']);
    expect(featureSetRef(parseFeatureSetRef(' market@1 '))).toBe('market@1');
  });

  it.each(['core@9', 'nope@1', 'nope', 'core@', '@1', ''])('rejects %j listing the valid sets', (ref) => {
    expect(() => parseFeatureSetRef(ref)).toThrow(/valid: closing@1, core@1, core@2, market@1, market@2/);
  });

  it('registers core@1 without market and market@1 with Shin probabilities', () => {
    expect(FEATURE_SETS['core@1']!.groups.market).toBeUndefined();
    expect(FEATURE_SETS['market@1']!.groups.market).toEqual({ method: 'shin' });
    const { market: _m, ...marketCore } = FEATURE_SETS['market@1']!.groups;
    expect(marketCore).toEqual(FEATURE_SETS['core@1']!.groups);
  });

  it('registers core@2 as core@1 plus shot ratings on shots on target and shots, step 0.08', () => {
    const { shotRatings, ...rest } = FEATURE_SETS['core@2']!.groups;
    expect(rest).toEqual(FEATURE_SETS['core@1']!.groups);
    expect(shotRatings).toEqual({ stats: ['shotsOnTarget', 'shots'], step: 0.08, baseStep: 0.01, seasonShrink: 0.25, newcomerStrength: -0.1 });
  });
});
