// Ingests all 70 shared football-data files into each store and checks per-file counts against the files.
// Needs ../shared/data/football-data (outside this repo): skipped, with the reason printed, when absent.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CollectResult } from '../../pipelines/collect.js';
import type { DataReport } from '../../pipelines/report.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

const SHARED = fileURLToPath(new URL('../../../shared/data/football-data/', import.meta.url));
const missing = !existsSync(SHARED);
if (missing) console.warn(`[oracx tests] skipping the all-files ingest: ${SHARED} is absent`);

/** Non-empty data lines per file: each must become one match or one quarantined row. */
function dataLines(file: string): number {
  return readFileSync(file, 'latin1')
    .split('\n')
    .slice(1)
    .filter((l) => !/^[\s,]*$/.test(l)).length;
}

for (const dialect of DIALECTS) {
  describe.skipIf(missing || !dialect.available)(`all 70 shared files into ${dialect.name}`, () => {
    it('stores one match per data row of every file, and again nothing changes', async () => {
      const store = dialect.newLocation();
      const r = await runCli(['--store', store, 'collect', 'football-data', SHARED, '--json'], { cwd: tempDir() });
      expect(r.code, r.stderr).toBe(0);
      const result = r.json<CollectResult>();
      const names = readdirSync(SHARED).filter((n) => n.endsWith('.csv'));
      expect(result.files).toHaveLength(70);
      expect(names).toHaveLength(70);
      for (const f of result.files) {
        expect(f.status, f.source).toBe('completed');
        expect(f.inserted + f.quarantined, f.source).toBe(dataLines(f.source));
      }
      // The one real row that breaks a rule: I1 2006-07 line 303 has HY="1.2".
      expect(result.files.filter((f) => f.quarantined > 0).map((f) => `${path.basename(f.source)}:${f.quarantined}`)).toEqual(['I1_2006-2007.csv:1']);
      const report = (await runCli(['--store', store, 'data', 'report', '--json'], { cwd: tempDir() })).json<DataReport>();
      expect(report.totals.matches).toBe(result.totals.inserted);
      expect(report.seasons).toHaveLength(70);
      for (const s of report.seasons)
        expect(s.matches, `${s.competition} ${s.season}`).toBe(
          s.competition === 'D1' ? 306 : s.competition === 'E1' ? 552 : s.competition === 'I1' && s.season === '2006-2007' ? 379 : 380,
        );

      const again = (await runCli(['--store', store, 'collect', 'football-data', SHARED, '--json'], { cwd: tempDir() })).json<CollectResult>();
      expect(again.totals).toMatchObject({ inserted: 0, updated: 0, unchanged: result.totals.inserted });
    });
  });
}
