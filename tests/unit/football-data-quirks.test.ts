import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { MatchRecord } from '../../src/ingest/football-data/types.js';
import { fixture, matches, parse, parseFixture, quote } from './football-data-helpers.js';

describe('quirks', () => {
  it('decodes Latin-1, normalises NBSP and padding in names, reads ragged rows, skips blank and all-comma rows', async () => {
    const rows = await parseFixture('quirks/latin1_nbsp_ragged.csv');
    expect(rows.map((r) => [r.line, r.kind])).toEqual([
      [2, 'match'],
      [3, 'match'],
      [5, 'match'],
      [7, 'match'],
      [8, 'match'],
    ]);
    const [alaves, bilbao, valencia, atm, cadiz] = matches(rows);
    expect([alaves!.homeTeam, alaves!.awayTeam]).toEqual(['Alavés', 'Barcelona']);
    expect([bilbao!.homeTeam, bilbao!.awayTeam]).toEqual(['Ath Bilbao', 'Sociedad']);
    expect([cadiz!.homeTeam, cadiz!.awayTeam]).toEqual(['Cadiz', 'Real Madrid']);
    // short row: result columns only
    expect(valencia).toMatchObject({ homeTeam: 'Valencia', fthg: 1, ftag: 0, htr: 'D', odds: [] });
    expect(valencia!.stats.homeShots).toBeNull();
    // long row: extra fields ignored, odds as on the untouched source line
    expect(atm!.odds.length).toBeGreaterThan(10);
    expect(quote(atm!, '1x2', 'pre', 'B365')!.home).toBe(1.72);
    expect(rows[0]!.raw).toContain('Alavés');
  });

  it('quarantines each broken row with a reason that starts with its category', async () => {
    const rows = await parseFixture('quirks/bad_rows.csv');
    const bad = rows.flatMap((r) => (r.kind === 'bad' ? [[r.line, r.reason]] : []));
    expect(bad).toEqual([
      [3, 'invalid date: "31/02/06"'],
      [4, 'invalid goals: FTHG="-1"'],
      [5, 'result mismatch: FTR=H but 0-0'],
      [6, 'same team: Middlesbrough v Middlesbrough'],
      [7, 'bad odds: B365H="abc" is not a decimal price'],
      [8, 'half-time exceeds full-time: 2-1 at HT, 1-3 at FT'],
      [9, 'missing team: home'],
      [10, 'division mismatch: E1 in a E0 file'],
      [11, 'bad odds: WHD="1.00" is below 1.01'],
      [12, 'invalid stat: HS="-3"'],
      [13, 'invalid goals: FTAG="2.5"'],
      [14, 'impossible score: 31-0'],
    ]);
    expect(matches(rows).map((r) => r.line)).toEqual([2, 15, 16]);
    const raw = fixture('quirks/bad_rows.csv').toString('utf8').split('\n');
    for (const r of rows) expect(r.raw).toBe(raw[r.line - 1]);
  });

  const H = 'Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,FTR,HTHG,HTAG,HTR,Referee,B365H,B365D,B365A,AHh,B365AHH,B365AHA\n';

  it('marks rows without a score as scheduled fixtures and keeps their odds', async () => {
    const [row] = await parse(`${H}E0,16/08/2025,15:00,Arsenal,Leeds,,,,,,,,1.3,5.5,9,,1.9,1.95\n`);
    expect(row).toMatchObject({ kind: 'match', record: { status: 'scheduled', fthg: null, ftr: null, time: '15:00' } });
    const rec = (row as { record: MatchRecord }).record;
    // AH prices without a line cannot be placed: no AH quote
    expect(rec.odds.map((q) => q.market)).toEqual(['1x2']);
  });

  it('emits a 1x2 quote with whatever prices exist, and derives FTR from the score when absent', async () => {
    const [row] = await parse(`${H}E0,16/08/2025,,Arsenal,Leeds,2,0,,,,, M Dean  ,1.3,,,-1.5,1.9,\n`);
    const rec = (row as { record: MatchRecord }).record;
    expect(rec).toMatchObject({ ftr: 'H', referee: 'M Dean', time: null });
    expect(rec.odds).toEqual([
      { bookmaker: 'B365', market: '1x2', line: 0, kind: 'pre', home: 1.3, draw: null, away: null, over: null, under: null },
      { bookmaker: 'B365', market: 'ah', line: -1.5, kind: 'pre', home: 1.9, draw: null, away: null, over: null, under: null },
    ]);
  });

  it('quarantines other malformed cells', async () => {
    const reasons = async (row: string): Promise<string> => {
      const [r] = await parse(`${H + row}\n`);
      return r!.kind === 'bad' ? r!.reason : 'match';
    };
    expect(await reasons('E0,,,Arsenal,Leeds,1,0,H')).toBe('invalid date: missing');
    expect(await reasons('E0,29/02/2023,,Arsenal,Leeds,1,0,H')).toBe('invalid date: "29/02/2023"');
    expect(await reasons('E0,01/09/2023,25:00,Arsenal,Leeds,1,0,H')).toBe('invalid time: "25:00"');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,x,0,H')).toBe('invalid goals: FTHG="x"');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,,H')).toBe('invalid goals: FTHG="1" with FTAG=""');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,,,H')).toBe('result mismatch: FTR=H but no score');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,0,W')).toBe('invalid result: FTR="W"');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,1,D,1,0,D')).toBe('result mismatch: HTR=D but 1-0');
    expect(await reasons('E0,01/09/2023,,Arsenal,ARSENAL,1,1,D')).toBe('same team: Arsenal v ARSENAL');
    expect(await reasons('E0,01/09/2023,,,,1,1,D')).toBe('missing team: home and away');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,1,D,,,,,1.5,3,4,x,1.9,1.9')).toBe('bad odds: AHh="x" is not a handicap line');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,1,D,,,,,1e3,3,4')).toBe('bad odds: B365H="1e3" is not a decimal price');
    expect(await reasons('E0,01/09/2023,,Arsenal,Leeds,1,1,D,,,,,-2,3,4')).toBe('bad odds: B365H="-2" is not a decimal price');
  });

  it('reads quoted fields', async () => {
    const [row] = await parse(`${H}E0,01/09/2023,,"Brighton, Hove",Leeds,1,0,H\n`);
    expect((row as { record: MatchRecord }).record.homeTeam).toBe('Brighton, Hove');
  });
});
describe('file-level errors', () => {
  const fails = async (name: string): Promise<UserError> => {
    try {
      await parseFixture(name);
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      return error as UserError;
    }
    throw new Error(`${name} parsed without error`);
  };

  it('empty file', async () => {
    expect((await fails('quirks/empty.csv')).message).toBe('quirks/empty.csv: empty file (0 bytes)');
    await expect(parse('\n\r\n', { label: 'blank.csv' })).rejects.toThrow('blank.csv: empty file (no header line)');
  });

  it('binary content', async () => {
    const e = await fails('quirks/binary.csv');
    expect(e.message).toContain('quirks/binary.csv: binary content');
    expect(e.hint).toContain('football-data.co.uk');
    await expect(parse('Div,\u0001Date\n', { label: 'ctl.csv' })).rejects.toThrow('ctl.csv: binary content');
  });

  it('header without the football-data columns', async () => {
    expect((await fails('quirks/no_div.csv')).message).toBe(
      'quirks/no_div.csv: not a football-data.co.uk CSV: header lacks Div, Date, HomeTeam, AwayTeam (found: name, age, city)',
    );
    await expect(parse('Div,HomeTeam,AwayTeam,a,b,c,d,e,f,g,h\n', { label: 'x.csv' })).rejects.toThrow(
      'x.csv: not a football-data.co.uk CSV: header lacks Date (found: Div, HomeTeam, AwayTeam, a, b, c, d, e …)',
    );
  });

  it('unknown division code in the first data row', async () => {
    expect((await fails('quirks/unknown_div.csv')).message).toMatch(/^quirks\/unknown_div\.csv:2: unknown division code "XX" \(known: E0 E1 /);
  });
});
