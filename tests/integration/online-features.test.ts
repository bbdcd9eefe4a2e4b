// Train/serve skew, through the store on both dialects: a whole real season (E0 2019-20) is collected first as
// fixtures (results blanked), then its results arrive one matchday file at a time, with the online feature state of
// every registered feature set refreshed from the store in between. Each match's online vector, read just before its
// results are collected, must equal the vector the offline feature store builds for it afterwards.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { collectFootballData } from '../../pipelines/collect.js';
import { featureMatrix } from '../../pipelines/features.js';
import { OnlineFeatureStore } from '../../pipelines/online-features.js';
import { FEATURE_SETS } from '../../src/ml/features/registry.js';
import type { Store } from '../../src/store/connect.js';
import { FIXTURES } from '../helpers/cli.js';
import { DIALECTS, freshStore, tempDir } from '../helpers/stores.js';

const FULL = path.join(FIXTURES, 'full');
/** Columns known only after kick-off. Prices stay: closing prices are known at kick-off, when the forecast is made. */
const RESULT_COLUMNS = new Set(['FTHG', 'FTAG', 'FTR', 'HTHG', 'HTAG', 'HTR', 'HS', 'AS', 'HST', 'AST', 'HF', 'AF', 'HC', 'AC', 'HY', 'AY', 'HR', 'AR']);

const season = readFileSync(path.join(FULL, 'E0_2019-2020.csv'), 'latin1')
  .split(/\r?\n/)
  .filter((l) => l.trim() !== '');
const header = season[0]!.split(',');
const rows = season.slice(1);
const dateOf = (row: string) => {
  const [d, m, y] = row.split(',')[header.indexOf('Date')]!.split('/');
  return `${y}-${m}-${d}`;
};
const blanked = (row: string) =>
  row
    .split(',')
    .map((cell, i) => (RESULT_COLUMNS.has(header[i]!) ? '' : cell))
    .join(',');

async function collect(store: Store, file: string): Promise<void> {
  const result = await collectFootballData(store, { inputs: [file], cwd: path.dirname(file), stdin: new PassThrough() });
  expect(
    result.files.every((f) => f.status === 'completed'),
    JSON.stringify(result.files),
  ).toBe(true);
}

/** Writes lines as an E0_2019-2020.csv of its own folder (the file name carries the season). */
function seasonFile(lines: string[]): string {
  const dir = tempDir('oracx-online-');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'E0_2019-2020.csv');
  writeFileSync(file, `${[season[0], ...lines].join('\r\n')}\r\n`, 'latin1');
  return file;
}

const REFS = Object.keys(FEATURE_SETS);

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`online feature state on ${dialect.name}`, () => {
    it('serves every match of a real season the vector the feature store stores for it, for every feature set', async () => {
      const store = await freshStore(dialect);
      try {
        await collect(store, path.join(FULL, 'E0_2017-2018.csv'));
        await collect(store, path.join(FULL, 'E0_2018-2019.csv'));
        await collect(store, seasonFile(rows.map(blanked)));
        const online = await Promise.all(REFS.map((ref) => OnlineFeatureStore.open(store, ref)));
        expect(online[0]!.frontier).toBe('2019-05-12');
        expect(online[0]!.upcoming()).toHaveLength(rows.length);

        const served = REFS.map(() => new Map<number, Float64Array>());
        const dates = [...new Set(rows.map(dateOf))].sort();
        for (const date of dates) {
          const today = rows.filter((r) => dateOf(r) === date);
          for (const [k, state] of online.entries()) {
            const coming = state.upcoming().filter((m) => m.date === date);
            expect(coming, `${REFS[k]} on ${date}`).toHaveLength(today.length);
            for (const m of coming) {
              expect(m.homeGoals).toBeNull();
              served[k]!.set(m.id, state.vector(m));
            }
          }
          await collect(store, seasonFile(today));
          for (const state of online) expect((await state.refresh()).mode).toBe('advanced');
        }
        expect(online[0]!.frontier).toBe(dates[dates.length - 1]);
        expect(online[0]!.upcoming()).toHaveLength(0);

        for (const [k, ref] of REFS.entries()) {
          const offline = await featureMatrix(store, ref);
          expect(served[k]!.size).toBe(rows.length);
          let worst = 0;
          for (const [id, vector] of served[k]!) {
            const stored = offline.values.get(id)!;
            for (let i = 0; i < vector.length; i++) worst = Math.max(worst, Math.abs(vector[i]! - stored[i]!));
          }
          expect(worst, `${ref}: largest online/offline difference`).toBeLessThanOrEqual(1e-12);
        }
      } finally {
        await store.close();
      }
    }, 180_000);

    it('replays when an already folded-in result changes, and then equals a fresh replay', async () => {
      const store = await freshStore(dialect);
      try {
        await collect(store, path.join(FULL, 'E0_2018-2019.csv'));
        await collect(store, seasonFile(rows.slice(0, 30)));
        const state = await OnlineFeatureStore.open(store, 'core@1');
        expect((await state.refresh()).mode).toBe('unchanged');
        // The season's first match, rescored 4–0: every later rating moves, so only a replay is right.
        const cells = rows[0]!.split(',');
        cells[header.indexOf('FTHG')] = '4';
        cells[header.indexOf('FTAG')] = '0';
        cells[header.indexOf('FTR')] = 'H';
        await collect(store, seasonFile([cells.join(','), ...rows.slice(1, 30)]));
        const refreshed = await state.refresh();
        expect(refreshed).toMatchObject({ mode: 'replayed', changed: 1 });
        const fresh = await OnlineFeatureStore.open(store, 'core@1');
        const probe = { ...fresh.upcoming()[0]!, id: -1, date: '2019-12-01', season: '2019-2020', homeGoals: null, awayGoals: null };
        expect(Array.from(state.vector(probe))).toEqual(Array.from(fresh.vector(probe)));
      } finally {
        await store.close();
      }
    });
  });
}
