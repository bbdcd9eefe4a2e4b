// Fixtures files (football-data's fixtures.csv): many divisions in one file, each row filed under its own division
// and the season of its own date; season files keep one division and one season.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { kindRevealedBy, MAX_UNDECIDED_ROWS, parseFootballData } from '../../src/ingest/football-data/parse.js';
import type { ParsedRow } from '../../src/ingest/football-data/types.js';
import { cellOf, fixture, matches, parse, parseFixture, quote, sized } from './football-data-helpers.js';

const UPCOMING = 'upcoming/fixtures.csv';
const H = 'Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,B365H,B365D,B365A\n';
const bad = (rows: ParsedRow[]) => rows.flatMap((r) => (r.kind === 'bad' ? [[r.line, r.reason]] : []));
const filed = (rows: ParsedRow[]) => matches(rows).map((r) => `${r.line} ${r.competition} ${r.season}`);

describe('kindRevealedBy', () => {
  it('a score means a season file; another Div without a score a fixtures file; anything else waits', () => {
    expect(kindRevealedBy(undefined, 'E0', true)).toBe('season');
    expect(kindRevealedBy('E0', 'E1', true)).toBe('season');
    expect(kindRevealedBy('E0', 'E1', false)).toBe('fixtures');
    expect(kindRevealedBy('XX', 'E1', false)).toBe('fixtures');
    expect(kindRevealedBy('E0', 'XX', false)).toBe('fixtures');
    // Two unknown codes: a season file, which the unknown first division then rejects.
    expect(kindRevealedBy('XX', 'YY', false)).toBe('season');
    expect(kindRevealedBy(undefined, 'E0', false)).toBeUndefined();
    expect(kindRevealedBy('E0', 'E0', false)).toBeUndefined();
    expect(kindRevealedBy('E0', '', false)).toBeUndefined();
  });
});

describe('the bundled fixtures.csv (E1 2019-20 and E0 2020-21 rows, results and closing odds emptied)', () => {
  it('files every row under its own division and the season of its own date, unplayed, with pre-match odds only', async () => {
    const rows = await parseFixture(UPCOMING);
    expect(bad(rows)).toEqual([]);
    const recs = matches(rows);
    expect(recs).toHaveLength(30);
    expect(recs.filter((r) => r.competition === 'E1').map((r) => r.season)).toEqual(Array(10).fill('2019-2020'));
    expect(recs.filter((r) => r.competition === 'E0').map((r) => r.season)).toEqual(Array(20).fill('2020-2021'));
    for (const r of recs) {
      expect(r).toMatchObject({ status: 'scheduled', fthg: null, ftag: null, ftr: null, hthg: null, htr: null, referee: null });
      expect(r.time).toMatch(/^\d{2}:\d{2}$/);
      expect(Object.values(r.stats).every((v) => v === null)).toBe(true);
      expect(r.odds.length).toBeGreaterThan(10);
      expect(r.odds.every((q) => q.kind === 'pre')).toBe(true);
    }
    const fulham = recs.find((r) => r.homeTeam === 'Fulham')!;
    expect(fulham).toMatchObject({ competition: 'E0', date: '2020-09-12', awayTeam: 'Arsenal', line: 12 });
    expect(quote(fulham, '1x2', 'pre', 'B365')).toMatchObject({ home: cellOf(UPCOMING, 12, 'B365H'), away: cellOf(UPCOMING, 12, 'B365A') });
    expect(quote(fulham, 'ah', 'pre', 'PS')).toMatchObject({ line: cellOf(UPCOMING, 12, 'AHh'), home: cellOf(UPCOMING, 12, 'PAHH') });
  });

  it('gives the same rows whatever the chunking and with LF endings', async () => {
    const bytes = fixture(UPCOMING);
    const expected = await parse(bytes);
    const out: ParsedRow[] = [];
    for await (const r of parseFootballData(
      sized(bytes, () => 1),
      { label: 'test.csv' },
    ))
      out.push(r);
    expect(out).toEqual(expected);
    expect(await parse(Buffer.from(bytes.toString('latin1').replaceAll('\r\n', '\n'), 'latin1'))).toEqual(expected);
  });

  it('resumed after any line, yields exactly the rows an uninterrupted parse yields after it', async () => {
    const bytes = fixture(UPCOMING);
    const full = await parse(bytes);
    // Line 12 is where the file shows it is a fixtures file: rows before it were held back, not guessed.
    for (let after = 0; after <= 32; after++) {
      expect(await parse(bytes, { startAfterLine: after }), `after line ${after}`).toEqual(full.filter((r) => r.line > after));
    }
  });

  it('takes --season (seasonHint) for every row', async () => {
    const recs = matches(await parseFixture(UPCOMING, { seasonHint: '2020-2021' }));
    expect(new Set(recs.map((r) => `${r.competition} ${r.season}`))).toEqual(new Set(['E1 2020-2021', 'E0 2020-2021']));
  });
});

describe('fixtures files', () => {
  it('reads the current fixtures.csv shape: no result columns, rows grouped by division', async () => {
    const csv =
      'Div,Date,Time,HomeTeam,AwayTeam,Referee,B365H,B365D,B365A\r\n' +
      'B1,19/09/2025,19:45,Westerlo,Dender,,2.1,3.5,3.2\r\n' +
      'B1,20/09/2025,16:15,Genk,Gent,,1.8,3.8,4.2\r\n' +
      'E1,19/09/2025,20:00,Norwich,Leeds,T Robinson,2.4,3.3,2.9\r\n' +
      'SC0,20/09/2025,15:00,Hibernian,Kilmarnock,R Lee,1.4,4.8,6.5\r\n';
    const rows = await parse(csv);
    expect(filed(rows)).toEqual(['2 B1 2025-2026', '3 B1 2025-2026', '4 E1 2025-2026', '5 SC0 2025-2026']);
    expect(matches(rows).every((r) => r.status === 'scheduled')).toBe(true);
    expect(matches(rows)[2]!.referee).toBe('T Robinson');
  });

  it('files each row by its own date, also the rows held back before the second division showed', async () => {
    const csv = `${H}E0,30/06/2021,,A,B,,,,2,3,4\nE0,01/07/2021,,C,D,,,,2,3,4\nD1,02/07/2021,,E,F,,,,2,3,4\nE0,03/07/2021,,G,H,,,,2,3,4\n`;
    expect(filed(await parse(csv))).toEqual(['2 E0 2020-2021', '3 E0 2021-2022', '4 D1 2021-2022', '5 E0 2021-2022']);
  });

  it('quarantines a row of an unknown division, and rows of other kinds of trouble, keeping the rest', async () => {
    const csv =
      H +
      'XX,14/09/2020,,Alpha,Beta,,,,2,3,4\n' + // unknown first division: the file is still a fixtures file
      'E0,14/09/2020,,Arsenal,Leeds,,,,2,3,4\n' +
      'SP1,15/09/2020,,Betis,Getafe,,,,2,3,4\n' +
      'X1,15/09/2020,,Gamma,Delta,,,,2,3,4\n' +
      ',15/09/2020,,Cadiz,Elche,,,,2,3,4\n' +
      'D1,31/09/2020,,Bayern,Hertha,,,,2,3,4\n' +
      'I1,16/09/2020,,Roma,Lazio,1,0,H,2,3,4\n'; // a played row in a fixtures file is filed like any other
    const rows = await parse(csv);
    expect(bad(rows)).toEqual([
      [2, expect.stringMatching(/^unknown division: "XX" \(known: E0 E1 .* G1\)$/)],
      [5, expect.stringMatching(/^unknown division: "X1"/)],
      [6, 'missing division'],
      [7, 'invalid date: "31/09/2020"'],
    ]);
    expect(filed(rows)).toEqual(['3 E0 2020-2021', '4 SP1 2020-2021', '8 I1 2020-2021']);
    expect(matches(rows)[2]).toMatchObject({ status: 'finished', fthg: 1, ftr: 'H' });
  });

  it('is a file-level error when no row is of a known division', async () => {
    const csv = `${H}XX,14/09/2020,,Alpha,Beta,,,,2,3,4\nYY,14/09/2020,,Gamma,Delta,,,,2,3,4\n`;
    await expect(parse(csv)).rejects.toThrow(UserError);
    await expect(parse(csv)).rejects.toThrow(/test\.csv:2: unknown division code "XX"/);
    await expect(parse(`${H}XX,14/09/2020,,Alpha,Beta,,,,2,3,4\n`)).rejects.toThrow(/unknown division code "XX"/);
  });
});

describe('season files keep one division and one season', () => {
  it('a row of another division after a played row is quarantined, also when it has no score', async () => {
    const csv = `${H}E0,14/08/2020,,A,B,1,0,H,2,3,4\nE1,15/08/2020,,C,D,,,,2,3,4\nE0,16/08/2020,,E,F,,,,2,3,4\n`;
    const rows = await parse(csv);
    expect(bad(rows)).toEqual([[3, 'division mismatch: E1 in a E0 file']]);
    expect(filed(rows)).toEqual(['2 E0 2020-2021', '4 E0 2020-2021']);
  });

  it('one division without scores is a season file: one season, from the first date (held back to the end)', async () => {
    const csv = `${H}E0,30/06/2020,,A,B,,,,2,3,4\nE0,01/07/2020,,C,D,,,,2,3,4\nE0,02/07/2020,,E,F,,,,2,3,4\n`;
    expect(filed(await parse(csv))).toEqual(['2 E0 2019-2020', '3 E0 2019-2020', '4 E0 2019-2020']);
    expect(filed(await parse(csv, { startAfterLine: 3 }))).toEqual(['4 E0 2019-2020']);
  });

  it(`decides a season file after ${MAX_UNDECIDED_ROWS} rows of one division without a score`, async () => {
    const lines = [H.trimEnd()];
    for (let i = 0; i < MAX_UNDECIDED_ROWS; i++) lines.push(`E0,14/08/2020,,H${i},A${i},,,,2,3,4`);
    lines.push('E1,15/08/2020,,C,D,,,,2,3,4');
    const rows = await parse(lines.join('\n'));
    expect(rows).toHaveLength(MAX_UNDECIDED_ROWS + 1);
    expect(rows.at(-1)).toMatchObject({ kind: 'bad', reason: 'division mismatch: E1 in a E0 file' });
  });
});
