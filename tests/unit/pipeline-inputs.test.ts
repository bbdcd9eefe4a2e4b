// The cheap inputs of `oracx run`: collect inputs rehashed only when size or mtime changed; canonical hashing.
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonical, hashOf, inputFileHashes } from '../../pipelines/pipeline-inputs.js';
import { tempDir } from '../helpers/stores.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('pipeline inputs', () => {
  it('hashes objects independently of key order, ignoring undefined members', () => {
    expect(hashOf({ a: 1, b: [1, { c: 2, d: 'x' }] })).toBe(hashOf({ b: [1, { d: 'x', c: 2 }], a: 1, e: undefined }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
  });

  it('sorts keys by code point, whatever the locale (a locale-aware sort would put "_" and "b" before "B")', () => {
    expect(canonical({ b: 1, B: 2, _x: 3, a: { Z: 1, é: 2, e: 3 } })).toBe('{"B":2,"_x":3,"a":{"Z":1,"e":3,"é":2},"b":1}');
  });

  it('reuses a recorded file hash while size and mtime are unchanged, rehashes otherwise', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data);
    writeFileSync(path.join(data, 'E0.csv'), 'a,b\n1,2\n');
    writeFileSync(path.join(data, 'notes.txt'), 'not read by collect');
    const first = await inputFileHashes(['data'], dir);
    expect(first.files).toEqual({ [path.join('data', 'E0.csv')]: sha('a,b\n1,2\n') });

    // A recorded hash with matching stats is trusted without reading (proved by a planted value).
    const planted = { files: { [path.join('data', 'E0.csv')]: 'planted' }, stats: first.stats };
    expect((await inputFileHashes(['data'], dir, planted)).files[path.join('data', 'E0.csv')]).toBe('planted');

    // Touched: read again, same content, same hash.
    utimesSync(path.join(data, 'E0.csv'), new Date(2020, 0, 1), new Date(2020, 0, 1));
    const touched = await inputFileHashes(['data'], dir, planted);
    expect(touched.files[path.join('data', 'E0.csv')]).toBe(sha('a,b\n1,2\n'));

    writeFileSync(path.join(data, 'E0.csv'), 'a,b\n1,3\n');
    expect((await inputFileHashes(['data'], dir, touched)).files[path.join('data', 'E0.csv')]).toBe(sha('a,b\n1,3\n'));
    await expect(inputFileHashes(['missing.csv'], dir)).rejects.toThrow(/collect input missing\.csv does not exist/);
  });
});
