// oracx.yaml parsed once per (build, file name, text): a hit gives the same spec as a parse, any edit or another build
// is a miss, a broken file is never cached, a damaged entry is a miss, and the cache can be turned off.
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline, pipelineCacheDir } from '../../pipelines/pipeline-spec-cache.js';
import { parsePipeline } from '../../pipelines/pipeline-spec.js';
import { tempDir } from '../helpers/stores.js';

const TEXT = [
  'name: nightly',
  'stages:',
  '  collect:',
  '    inputs: [data/E0.csv]',
  '  train:',
  '    competitions: [E0]',
  '    params: { l2: 0.1 }',
  '  evaluate:',
  '    seasons: [2019-2020]',
  '    gate: ["rps<=bookmaker+0.01"]',
  '',
].join('\n');

/** Loads through a cache in a fresh folder, recording what the cache said. */
function cached(build = 'build-1') {
  const root = tempDir();
  const env = { ORACX_CACHE_DIR: root };
  const said: string[] = [];
  const load = (text: string, file = 'oracx.yaml', b = build) => loadPipeline(text, file, { env, build: b, onCache: (hit) => said.push(hit ? 'hit' : 'miss') });
  const entries = () => readdirSync(path.join(root, 'pipelines'));
  return { root, env, said, load, entries };
}

describe('the parsed-pipeline cache', () => {
  it('answers a second load of the same text with the spec a parse gives; an edit, another file name or build is a miss', async () => {
    const c = cached();
    const first = await c.load(TEXT);
    expect(first).toEqual(parsePipeline(TEXT, 'oracx.yaml'));
    expect(c.said).toEqual(['miss']);
    expect(c.entries()).toHaveLength(1);
    const again = await c.load(TEXT);
    expect(c.said).toEqual(['miss', 'hit']);
    expect(again).toEqual(first);

    const edited = TEXT.replace('l2: 0.1', 'l2: 0.2');
    const changed = await c.load(edited);
    expect(c.said.at(-1)).toBe('miss');
    expect(changed.stages.find((s) => s.kind === 'train')!.params).toMatchObject({ params: { l2: 0.2 } });
    await c.load(TEXT, 'ci/oracx.yaml');
    expect(c.said.at(-1)).toBe('miss');
    await c.load(TEXT, 'oracx.yaml', 'build-2');
    expect(c.said.at(-1)).toBe('miss');
    expect(c.entries()).toHaveLength(4);
  });

  it('parses (and reports) a broken file every time, caching nothing', async () => {
    const c = cached();
    const broken = TEXT.replace('  train:', '  trian:');
    for (let i = 0; i < 2; i++) await expect(c.load(broken)).rejects.toThrow(/unknown kind "trian" — did you mean "train"\?/);
    expect(c.said).toEqual([]);
  });

  it('treats a damaged or foreign entry as a miss and writes it again', async () => {
    const c = cached();
    await c.load(TEXT);
    const entry = path.join(c.root, 'pipelines', c.entries()[0]!);
    writeFileSync(entry, '{"name": "nightly", "stag');
    expect(await c.load(TEXT)).toEqual(parsePipeline(TEXT, 'oracx.yaml'));
    expect(c.said).toEqual(['miss', 'miss']);
    expect(JSON.parse(readFileSync(entry, 'utf8'))).toEqual(parsePipeline(TEXT, 'oracx.yaml'));
    await c.load(TEXT);
    expect(c.said.at(-1)).toBe('hit');
  });

  it('does not cache what JSON would change (-0 comes back as 0)', async () => {
    const c = cached();
    const text = 'stages:\n  train:\n    params: { l2: -0 }\n';
    const spec = await c.load(text);
    expect(Object.is((spec.stages[0]!.params as { params: { l2: number } }).params.l2, -0)).toBe(true);
    expect(c.said).toEqual([]);
  });

  it('keeps the newest 200 entries', async () => {
    const c = cached();
    for (let i = 0; i < 201; i++) {
      await c.load(TEXT.replace('name: nightly', `name: p${i}`));
      // Distinct modification times, oldest first.
      const file = c.entries().find((n) => !n.endsWith('.tmp'));
      if (file && i === 0) utimesSync(path.join(c.root, 'pipelines', file), new Date(0), new Date(0));
    }
    expect(c.entries()).toHaveLength(200);
    // The first (oldest) one went: loading it again is a miss.
    await c.load(TEXT.replace('name: nightly', 'name: p0'));
    expect(c.said.at(-1)).toBe('miss');
  });

  it('is off with ORACX_CACHE_DIR=off and when not running a build; else under XDG_CACHE_HOME or ~/.cache', () => {
    expect(pipelineCacheDir({ ORACX_CACHE_DIR: 'off' }, 'b')).toBeNull();
    expect(pipelineCacheDir({}, undefined)).toBeNull();
    expect(pipelineCacheDir({ ORACX_CACHE_DIR: '/c' }, 'b')).toBe(path.join('/c', 'pipelines'));
    expect(pipelineCacheDir({ XDG_CACHE_HOME: '/x' }, 'b')).toBe(path.join('/x', 'oracx', 'pipelines'));
    expect(pipelineCacheDir({}, 'b')).toMatch(/[\\/]\.cache[\\/]oracx[\\/]pipelines$/);
  });
});
