import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectParam, loadParams } from '../../commands/params.js';
import { tempDir } from '../helpers/stores.js';

describe('model params from flags and files', () => {
  it('parses key=value flags into numbers, booleans and strings', () => {
    let acc = collectParam('l2=0.01');
    acc = collectParam('members=dixon-coles,logreg', acc);
    acc = collectParam('flag=true', acc);
    expect(acc).toEqual({ l2: 0.01, members: 'dixon-coles,logreg', flag: true });
    expect(() => collectParam('novalue')).toThrow(/key=value/);
  });

  it('reads JSON, tune output and YAML, with flags taking precedence', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ l2: 0.5, maxIter: 100 }));
    writeFileSync(path.join(dir, 'best.json'), JSON.stringify({ study: 's', params: { xi: 0.002 } }));
    writeFileSync(path.join(dir, 'p.yaml'), 'hiddenUnits: 32\ndropout: 0.2\n');
    expect(await loadParams('p.json', { l2: 0.1 }, dir)).toEqual({ l2: 0.1, maxIter: 100 });
    expect(await loadParams('best.json', undefined, dir)).toEqual({ xi: 0.002 });
    expect(await loadParams('p.yaml', undefined, dir)).toEqual({ hiddenUnits: 32, dropout: 0.2 });
  });

  it('explains unreadable or malformed files', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'list.json'), '[1, 2]');
    writeFileSync(path.join(dir, 'nested.yml'), 'a:\n  b: 1\n');
    await expect(loadParams('missing.json', undefined, dir)).rejects.toThrow(/cannot read params file missing\.json/);
    await expect(loadParams('list.json', undefined, dir)).rejects.toThrow(/must hold an object/);
    await expect(loadParams('nested.yml', undefined, dir)).rejects.toThrow(/"a" must be a number, string or boolean/);
  });
});
