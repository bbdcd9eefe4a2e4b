import { describe, expect, it } from 'vitest';
import { parseDate } from '../../src/ingest/football-data/cells.js';
import { KNOWN_DIVISIONS, normaliseTeamName, parseFootballData, seasonFromFileName, seasonOfDate } from '../../src/ingest/football-data/parse.js';
import type { ParsedRow } from '../../src/ingest/football-data/types.js';
import { cellOf, fixture, matches, parse, parseFixture, quote, sized } from './football-data-helpers.js';

const SMALL = [
  'E0_2024-2025.csv',
  'E0_2005-2006.csv',
  'D1_2010-2011.csv',
  'F1_2006-2007.csv',
  'E1_2018-2019.csv',
  'E0_2019-2020.csv',
  'D1_2018-2019.csv',
  'quirks/latin1_nbsp_ragged.csv',
  'quirks/bad_rows.csv',
];
describe('parseFootballData on real slices', () => {
  it('reads a BOM + CRLF file with the newest columns', async () => {
    const rows = await parseFixture('E0_2024-2025.csv');
    const recs = matches(rows);
    expect(recs).toHaveLength(30);
    expect(rows.every((r) => r.kind === 'match')).toBe(true);
    expect(recs[0]).toMatchObject({ competition: 'E0', season: '2024-2025', line: 2, status: 'finished' });
    expect(recs[0]!.time).toMatch(/^\d{2}:\d{2}$/);
    expect(quote(recs[0]!, '1x2', 'closing', '1XB')).toBeDefined();
    expect(quote(recs[0]!, 'ou', 'pre', 'BFE')).toBeDefined();
  });

  it('gives the same records for CRLF and LF bytes', async () => {
    const crlf = fixture('E0_2019-2020.csv');
    const lf = Buffer.from(crlf.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
    expect(await parse(lf)).toEqual(await parse(crlf));
  });

  it('gives the same rows whatever the chunking (1 byte, seeded random sizes)', async () => {
    const bytes = fixture('quirks/latin1_nbsp_ragged.csv');
    const expected = await parse(bytes);
    const collect = async (src: AsyncIterable<Uint8Array>): Promise<ParsedRow[]> => {
      const out: ParsedRow[] = [];
      for await (const r of parseFootballData(src, { label: 'test.csv' })) out.push(r);
      return out;
    };
    expect(await collect(sized(bytes, () => 1))).toEqual(expected);
    let seed = 12345;
    const lcg = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return 1 + (seed % 50);
    };
    expect(await collect(sized(bytes, lcg))).toEqual(expected);
    const e0 = fixture('E0_2024-2025.csv');
    expect(await collect(sized(e0, lcg))).toEqual(await parse(e0));
  });

  it('reads dd/mm/yy and dd/mm/yyyy dates', async () => {
    expect(matches(await parseFixture('E0_2005-2006.csv'))[0]).toMatchObject({ date: '2005-08-13', time: null });
    const f1 = matches(await parseFixture('F1_2006-2007.csv'));
    expect(f1).toHaveLength(20);
    expect(f1[0]!.date).toBe('2006-08-04');
    expect(f1.every((r) => r.season === '2006-2007')).toBe(true);
  });

  it('ignores trailing empty header columns and their empty fields', async () => {
    const rows = await parseFixture('D1_2010-2011.csv');
    expect(rows).toHaveLength(30);
    const first = matches(rows)[0]!;
    expect(first.referee).toBeNull();
    expect(quote(first, 'ah', 'pre', 'BbAv')!.away).toBe(cellOf('D1_2010-2011.csv', 2, 'BbAvAHA'));
  });

  it('tells pre-match from closing odds, with the prices in the file (E0 2019-20)', async () => {
    const file = 'E0_2019-2020.csv';
    const first = matches(await parseFixture(file))[0]!;
    expect(first).toMatchObject({ homeTeam: 'Liverpool', awayTeam: 'Norwich', fthg: 4, ftag: 1, ftr: 'H' });
    expect(quote(first, '1x2', 'pre', 'PS')).toEqual({
      bookmaker: 'PS',
      market: '1x2',
      line: 0,
      kind: 'pre',
      home: 1.15,
      draw: 9.59,
      away: 18.05,
      over: null,
      under: null,
    });
    expect(quote(first, '1x2', 'closing', 'PS')).toMatchObject({ home: 1.14, draw: 10.43, away: 19.63 });
    for (const [bk, col] of [
      ['B365', 'B365CH'],
      ['Max', 'MaxCH'],
      ['Avg', 'AvgCH'],
      ['WH', 'WHCH'],
    ] as const) {
      expect(quote(first, '1x2', 'closing', bk)!.home).toBe(cellOf(file, 2, col));
    }
    expect(quote(first, '1x2', 'pre', 'VC')!.away).toBe(cellOf(file, 2, 'VCA'));
    expect(quote(first, '1x2', 'closing', 'VC')!.away).toBe(cellOf(file, 2, 'VCCA'));
  });

  it('reads over/under 2.5 and Asian handicap with its line', async () => {
    const first = matches(await parseFixture('E0_2019-2020.csv'))[0]!;
    expect(quote(first, 'ou', 'pre', 'B365')).toMatchObject({ line: 2.5, over: 1.4, under: 3, home: null });
    expect(quote(first, 'ou', 'pre', 'PS')).toMatchObject({ line: 2.5, over: 1.4, under: 3.11 });
    expect(quote(first, 'ou', 'closing', 'PS')).toMatchObject({ over: 1.34, under: 3.44 });
    expect(quote(first, 'ah', 'pre', 'B365')).toMatchObject({ line: -2.25, home: 1.96, away: 1.94, draw: null });
    expect(quote(first, 'ah', 'closing', 'PS')).toMatchObject({ line: -2.25, home: 1.94, away: 1.98 });
    const old = matches(await parseFixture('E0_2005-2006.csv'))[0]!;
    expect(quote(old, 'ah', 'pre', 'BbMx')).toMatchObject({ line: -0.25, home: 2.1, away: 1.92 });
    expect(quote(old, 'ou', 'pre', 'BbAv')).toMatchObject({ over: 2.01, under: 1.7 });
  });

  it('leaves missing odds out instead of failing (D1 2018-19, no Pinnacle closing)', async () => {
    const recs = matches(await parseFixture('D1_2018-2019.csv'));
    expect(recs).toHaveLength(25);
    const bayern = recs.find((r) => r.line === 24)!;
    expect(bayern).toMatchObject({ homeTeam: 'Bayern Munich', awayTeam: 'Hannover', date: '2019-05-04' });
    // this match has no Pinnacle prices at all (PSH/PSD/PSA and PSCH/PSCD/PSCA empty); Bet365 is there
    expect(quote(bayern, '1x2', 'closing', 'PS')).toBeUndefined();
    expect(quote(bayern, '1x2', 'pre', 'PS')).toBeUndefined();
    expect(quote(bayern, '1x2', 'pre', 'B365')).toMatchObject({ home: 1.03, draw: 21, away: 34 });
    expect(recs.filter((r) => quote(r, '1x2', 'closing', 'PS') === undefined).map((r) => r.line)).toEqual([24]);
  });

  it('reads the real B365H=0 of E1 2018-19 as a price not offered, keeping the match', async () => {
    const rows = await parseFixture('E1_2018-2019.csv');
    expect(rows.filter((r) => r.kind === 'bad')).toEqual([]);
    const brentford = matches(rows).find((r) => r.line === 30)!;
    expect(brentford).toMatchObject({ homeTeam: 'Brentford', awayTeam: 'Blackburn', date: '2019-02-02' });
    const b365 = quote(brentford, '1x2', 'pre', 'B365')!;
    expect(b365.home).toBeNull();
    expect(b365.draw).toBeGreaterThan(1);
    expect(b365.away).toBeGreaterThan(1);
  });
});
describe('seasons', () => {
  it('uses the hint, or the first dated row, for the whole file (July 2020 stays in 2019-2020)', async () => {
    const recs = matches(await parseFixture('E0_2019-2020.csv'));
    const july = recs.filter((r) => r.date.startsWith('2020-07'));
    expect(july).toHaveLength(6);
    expect(recs.every((r) => r.season === '2019-2020')).toBe(true);
    const hinted = matches(await parseFixture('E0_2019-2020.csv', { seasonHint: '2018-2019' }));
    expect(new Set(hinted.map((r) => r.season))).toEqual(new Set(['2018-2019']));
  });

  it('startAfterLine skips rows but still decides the season from the first row', async () => {
    const rows = await parseFixture('E0_2019-2020.csv', { startAfterLine: 26 });
    expect(rows.map((r) => r.line)).toEqual([27, 28, 29, 30, 31, 32]);
    expect(matches(rows).every((r) => r.season === '2019-2020' && r.date.startsWith('2020-07'))).toBe(true);
    expect(await parseFixture('E0_2019-2020.csv', { startAfterLine: 1000 })).toEqual([]);
  });

  it('seasonOfDate splits in July', () => {
    expect(seasonOfDate('2019-08-09')).toBe('2019-2020');
    expect(seasonOfDate('2020-07-26')).toBe('2020-2021');
    expect(seasonOfDate('2020-06-30')).toBe('2019-2020');
  });

  it('seasonFromFileName reads <DIV>_<YYYY>-<YYYY> from a name, path or URL', () => {
    expect(seasonFromFileName('E0_2019-2020.csv')).toBe('2019-2020');
    expect(seasonFromFileName('/data/SP1_2005-2006.csv')).toBe('2005-2006');
    expect(seasonFromFileName('https://x.test/a/SC0_2001-2002.csv?raw=1')).toBe('2001-2002');
    expect(seasonFromFileName('E0_2019-2021.csv')).toBeUndefined();
    expect(seasonFromFileName('Premier.csv')).toBeUndefined();
  });

  it('rejects a malformed season hint', async () => {
    await expect(parse('Div,Date,HomeTeam,AwayTeam\n', { seasonHint: '2019/20' })).rejects.toThrow(RangeError);
  });
});
describe('cells', () => {
  it('parseDate validates calendar dates and pivots two-digit years at 50', () => {
    expect(parseDate('13/08/05')).toBe('2005-08-13');
    expect(parseDate('13/08/2005')).toBe('2005-08-13');
    expect(parseDate('01/01/99')).toBe('1999-01-01');
    expect(parseDate('29/02/2008')).toBe('2008-02-29');
    expect(parseDate('29/02/00')).toBe('2000-02-29');
    for (const bad of ['31/02/19', '29/02/07', '29/02/1900', '00/01/20', '01/13/20', '1/1/200', '2019-08-09', '']) {
      expect(parseDate(bad), bad).toBeUndefined();
    }
  });

  it('normaliseTeamName trims, turns NBSP into a space and collapses whitespace', () => {
    expect(normaliseTeamName('\u00a0Man\u00a0 United  ')).toBe('Man United');
    expect(normaliseTeamName("Nott'm Forest")).toBe("Nott'm Forest");
  });

  it('KNOWN_DIVISIONS lists the main leagues', () => {
    expect(Object.keys(KNOWN_DIVISIONS)).toEqual('E0 E1 E2 E3 EC SC0 SC1 SC2 SC3 D1 D2 I1 I2 SP1 SP2 F1 F2 N1 B1 P1 T1 G1'.split(' '));
    expect(KNOWN_DIVISIONS.E0).toBe('English Premier League');
  });
});
describe('invariants over every fixture', () => {
  const files = [...SMALL, 'full/E0_2017-2018.csv', 'full/E0_2018-2019.csv', 'full/E0_2019-2020.csv'];
  it.each(files)('%s', async (name) => {
    const rows = await parseFixture(name, { seasonHint: seasonFromFileName(name) });
    expect(rows.length).toBeGreaterThan(0);
    // Collect violations and assert once: an expect() per price would dominate the run time on full seasons.
    const problems: string[] = [];
    for (const r of rows) {
      if (r.kind === 'bad') continue;
      const rec = r.record;
      const at = `line ${r.line}`;
      if (rec.homeTeam === rec.awayTeam || rec.homeTeam === '') problems.push(`${at}: teams ${rec.homeTeam} v ${rec.awayTeam}`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(rec.date) || new Date(`${rec.date}T00:00:00Z`).toISOString().slice(0, 10) !== rec.date) {
        problems.push(`${at}: date ${rec.date}`);
      }
      if (!/^\d{4}-\d{4}$/.test(rec.season)) problems.push(`${at}: season ${rec.season}`);
      const keys = new Set<string>();
      for (const q of rec.odds) {
        const prices = [q.home, q.draw, q.away, q.over, q.under].filter((p): p is number => p !== null);
        if (prices.length === 0) problems.push(`${at}: empty quote ${q.bookmaker} ${q.market}`);
        if (prices.some((p) => !(p >= 1.01))) problems.push(`${at}: price below 1.01 in ${q.bookmaker} ${q.market}`);
        const key = `${q.market}|${q.kind}|${q.bookmaker}|${q.line}`;
        if (keys.has(key)) problems.push(`${at}: duplicate quote ${key}`);
        keys.add(key);
      }
    }
    expect(problems).toEqual([]);
  });
});
