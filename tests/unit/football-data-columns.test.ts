import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planColumns, type ColumnPlan, type OddsGroup } from '../../src/ingest/football-data/columns.js';

const headerOf = (name: string): string[] =>
  readFileSync(new URL(`../../fixtures/football-data/${name}`, import.meta.url), 'utf8')
    .split('\n')[0]!
    .replace(/\r$/, '')
    .split(',');

function group(plan: ColumnPlan, market: string, kind: string, bookmaker: string): OddsGroup | undefined {
  return plan.odds.find((g) => g.market === market && g.kind === kind && g.bookmaker === bookmaker);
}

/** Column names a group reads, for readable assertions. */
function columnsOf(plan: ColumnPlan, g: OddsGroup | undefined): string[] {
  if (!g) return [];
  const slots = [g.home, g.draw, g.away, g.over, g.under, g.lineColumn].filter((i) => i >= 0);
  return slots.map((i) => plan.names[i]!);
}

describe('planColumns', () => {
  it('finds the scalar columns, stripping a BOM from the first name', () => {
    const plan = planColumns(headerOf('E0_2024-2025.csv'));
    expect(plan.names[0]).toBe('Div');
    expect(plan.info.div).toBe(0);
    expect(plan.names[plan.info.time]).toBe('Time');
    expect(plan.names[plan.info.referee]).toBe('Referee');
    expect(plan.info.attendance).toBe(-1);
    expect(plan.names[plan.stats.homeShotsOnTarget]).toBe('HST');
    expect(plan.stats.homeWoodwork).toBe(-1);
    expect(plan.unrecognised).toEqual([]);
  });

  it('accepts the alternative names used by some files', () => {
    const plan = planColumns(['Div', 'Date', 'HT', 'AT', 'HG', 'AG', 'Res']);
    expect(plan.info).toMatchObject({ homeTeam: 2, awayTeam: 3, fthg: 4, ftag: 5, ftr: 6 });
    const plan2 = planColumns(['Div', 'Date', 'Home', 'Away']);
    expect(plan2.info).toMatchObject({ homeTeam: 2, awayTeam: 3 });
  });

  it('tells pre-match from closing odds by name (PSH vs PSCH, VCH vs VCCH)', () => {
    const plan = planColumns(headerOf('E0_2019-2020.csv'));
    expect(columnsOf(plan, group(plan, '1x2', 'pre', 'PS'))).toEqual(['PSH', 'PSD', 'PSA']);
    expect(columnsOf(plan, group(plan, '1x2', 'closing', 'PS'))).toEqual(['PSCH', 'PSCD', 'PSCA']);
    expect(columnsOf(plan, group(plan, '1x2', 'pre', 'VC'))).toEqual(['VCH', 'VCD', 'VCA']);
    expect(columnsOf(plan, group(plan, '1x2', 'closing', 'VC'))).toEqual(['VCCH', 'VCCD', 'VCCA']);
    expect(columnsOf(plan, group(plan, '1x2', 'closing', 'Avg'))).toEqual(['AvgCH', 'AvgCD', 'AvgCA']);
    expect(group(plan, '1x2', 'pre', 'PSC')).toBeUndefined();
    expect(group(plan, '1x2', 'pre', 'VCC')).toBeUndefined();
  });

  it('maps P (Pinnacle) to PS for over/under and Asian handicap, with the right line columns', () => {
    const plan = planColumns(headerOf('E0_2019-2020.csv'));
    expect(columnsOf(plan, group(plan, 'ou', 'pre', 'PS'))).toEqual(['P>2.5', 'P<2.5']);
    expect(columnsOf(plan, group(plan, 'ou', 'closing', 'PS'))).toEqual(['PC>2.5', 'PC<2.5']);
    expect(columnsOf(plan, group(plan, 'ah', 'pre', 'PS'))).toEqual(['PAHH', 'PAHA', 'AHh']);
    expect(columnsOf(plan, group(plan, 'ah', 'closing', 'PS'))).toEqual(['PCAHH', 'PCAHA', 'AHCh']);
    expect(columnsOf(plan, group(plan, 'ah', 'closing', 'B365'))).toEqual(['B365CAHH', 'B365CAHA', 'AHCh']);
    expect(group(plan, 'ou', 'pre', 'PS')!.line).toBe(2.5);
    expect(plan.odds.some((g) => g.bookmaker === 'P' || g.bookmaker === 'PC')).toBe(false);
  });

  it('reads the newest bookmakers (1XB, BF, BFE) including closing and totals', () => {
    const plan = planColumns(headerOf('E0_2024-2025.csv'));
    expect(columnsOf(plan, group(plan, '1x2', 'closing', '1XB'))).toEqual(['1XBCH', '1XBCD', '1XBCA']);
    expect(columnsOf(plan, group(plan, '1x2', 'closing', 'BF'))).toEqual(['BFCH', 'BFCD', 'BFCA']);
    expect(columnsOf(plan, group(plan, '1x2', 'pre', 'BFE'))).toEqual(['BFEH', 'BFED', 'BFEA']);
    expect(columnsOf(plan, group(plan, 'ou', 'closing', 'BFE'))).toEqual(['BFEC>2.5', 'BFEC<2.5']);
    expect(columnsOf(plan, group(plan, 'ah', 'closing', 'BFE'))).toEqual(['BFECAHH', 'BFECAHA', 'AHCh']);
    expect(plan.unrecognised).toEqual([]);
  });

  it('keeps BetBrain prefixes as written, uses BbAHh as the AH line and ignores the count columns', () => {
    const plan = planColumns(headerOf('E0_2005-2006.csv'));
    expect(columnsOf(plan, group(plan, '1x2', 'pre', 'BbMx'))).toEqual(['BbMxH', 'BbMxD', 'BbMxA']);
    expect(columnsOf(plan, group(plan, 'ou', 'pre', 'BbAv'))).toEqual(['BbAv>2.5', 'BbAv<2.5']);
    expect(columnsOf(plan, group(plan, 'ah', 'pre', 'BbMx'))).toEqual(['BbMxAHH', 'BbMxAHA', 'BbAHh']);
    expect(plan.unrecognised).toEqual([]);
    // 11 1x2 bookmakers + BetBrain max/avg for o/u and AH; no closing odds in 2005-06
    expect(plan.odds.map((g) => `${g.market}:${g.bookmaker}`).sort()).toEqual(
      [
        '1x2:B365',
        '1x2:BW',
        '1x2:BbAv',
        '1x2:BbMx',
        '1x2:GB',
        '1x2:IW',
        '1x2:LB',
        '1x2:SB',
        '1x2:SJ',
        '1x2:VC',
        '1x2:WH',
        'ah:BbAv',
        'ah:BbMx',
        'ou:BbAv',
        'ou:BbMx',
      ].sort(),
    );
  });

  it('does not take result or stat columns for odds', () => {
    const plan = planColumns(headerOf('E0_2005-2006.csv'));
    const oddsColumns = new Set(plan.odds.flatMap((g) => columnsOf(plan, g)));
    for (const name of ['HTHG', 'HTAG', 'HTR', 'FTR', 'HS', 'AS', 'HST', 'AST', 'HC', 'AC', 'HY', 'AY', 'HR', 'AR']) {
      expect(oddsColumns.has(name), name).toBe(false);
    }
  });

  it('ignores trailing empty header names', () => {
    const header = headerOf('D1_2010-2011.csv');
    expect(header.slice(-3)).toEqual(['', '', '']);
    const plan = planColumns(header);
    expect(plan.unrecognised).toEqual([]);
    expect(plan.info.referee).toBe(-1);
  });

  it('recognises unknown bookmakers generically but not lone stray columns', () => {
    const plan = planColumns(['Div', 'Date', 'HomeTeam', 'AwayTeam', 'XYH', 'XYD', 'XYA', 'XYCH', 'XYCA', 'ZZA', 'Foo']);
    expect(columnsOf(plan, group(plan, '1x2', 'pre', 'XY'))).toEqual(['XYH', 'XYD', 'XYA']);
    expect(columnsOf(plan, group(plan, '1x2', 'closing', 'XY'))).toEqual(['XYCH', 'XYCA']);
    expect(plan.unrecognised).toEqual(['ZZA', 'Foo']);
  });

  it('does not read P as a 1x2 prefix', () => {
    const plan = planColumns(['Div', 'Date', 'HomeTeam', 'AwayTeam', 'PH', 'PD', 'PA']);
    expect(plan.odds).toEqual([]);
    expect(plan.unrecognised).toEqual(['PH', 'PD', 'PA']);
  });

  it('prefers a per-bookmaker handicap line (old LBAH) to the shared one', () => {
    const plan = planColumns(['Div', 'BbAHh', 'LBAH', 'LBAHH', 'LBAHA', 'BbMxAHH', 'BbMxAHA', 'BbAH']);
    expect(columnsOf(plan, group(plan, 'ah', 'pre', 'LB'))).toEqual(['LBAHH', 'LBAHA', 'LBAH']);
    expect(columnsOf(plan, group(plan, 'ah', 'pre', 'BbMx'))).toEqual(['BbMxAHH', 'BbMxAHA', 'BbAHh']);
    expect(plan.unrecognised).toEqual([]);
  });

  it('keeps the first of duplicated column names', () => {
    const plan = planColumns(['Div', 'B365H', 'B365D', 'B365A', 'B365H']);
    expect(group(plan, '1x2', 'pre', 'B365')!.home).toBe(1);
    expect(plan.unrecognised).toEqual(['B365H']);
  });
});
