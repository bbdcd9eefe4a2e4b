/** Turns one split CSV row into a validated MatchRecord, or a short quarantine reason. */
import { z } from 'zod';
import { parseCount, parseDate, parseDecimal, parseSigned, parseTime, normaliseTeamName } from './cells.js';
import type { ColumnPlan, OddsGroup } from './columns.js';
import type { MatchRecord, MatchStats, OddsQuote, Result } from './types.js';

/** Lowest decimal price a bookmaker can offer; anything below is a data error, not a price. */
export const MIN_PRICE = 1.01;
/** More goals than this for one side is a typo, not a football score. */
export const MAX_GOALS = 30;

const count = z.number().int().nonnegative().nullable();
const result = z.enum(['H', 'D', 'A']).nullable();

function isPrice(p: number | null): boolean {
  return p === null || p >= MIN_PRICE;
}

function isQuote(q: OddsQuote): boolean {
  return (
    q.bookmaker !== '' &&
    Number.isFinite(q.line) &&
    isPrice(q.home) &&
    isPrice(q.draw) &&
    isPrice(q.away) &&
    isPrice(q.over) &&
    isPrice(q.under) &&
    (q.home !== null || q.draw !== null || q.away !== null || q.over !== null || q.under !== null)
  );
}

function isCount(n: number | null): boolean {
  return n === null || (Number.isInteger(n) && n >= 0);
}

// A row carries ~20 stats and up to ~40 quotes of 5 prices: whole-array guards keep zod's per-field cost
// (which tripled parse time) off the hot path, while the record's shape and invariants stay in one schema.
const oddsSchema = z.custom<OddsQuote[]>((v) => Array.isArray(v) && (v as OddsQuote[]).every(isQuote), {
  message: 'bad odds: invalid quote',
});
const statsSchema = z.custom<MatchStats>((v) => typeof v === 'object' && v !== null && Object.values(v as MatchStats).every(isCount), {
  message: 'invalid stat: not a count',
});

function outcome(home: number, away: number): Result {
  return home > away ? 'H' : home < away ? 'A' : 'D';
}

/**
 * The record-level rules: cells were checked while parsing (with precise column names in the reason); this holds
 * the cross-field invariants, and a message that starts with the stable category the data report groups by.
 */
export const matchRecordSchema = z
  .object({
    competition: z.string().min(1),
    season: z.string().regex(/^\d{4}-\d{4}$/),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    time: z
      .string()
      .regex(/^\d{2}:\d{2}$/)
      .nullable(),
    homeTeam: z.string().min(1, 'missing team'),
    awayTeam: z.string().min(1, 'missing team'),
    status: z.enum(['scheduled', 'live', 'finished']),
    fthg: count,
    ftag: count,
    ftr: result,
    hthg: count,
    htag: count,
    htr: result,
    referee: z.string().min(1).nullable(),
    attendance: count,
    stats: statsSchema,
    odds: oddsSchema,
  })
  .superRefine((r, ctx) => {
    const fail = (message: string): void => {
      ctx.addIssue({ code: 'custom', message });
    };
    if (r.homeTeam.toLowerCase() === r.awayTeam.toLowerCase()) fail(`same team: ${r.homeTeam} v ${r.awayTeam}`);
    if (r.fthg !== null && r.ftag !== null) {
      if (r.fthg > MAX_GOALS || r.ftag > MAX_GOALS) fail(`impossible score: ${r.fthg}-${r.ftag}`);
      const ft = outcome(r.fthg, r.ftag);
      if (r.ftr !== null && r.ftr !== ft) fail(`result mismatch: FTR=${r.ftr} but ${r.fthg}-${r.ftag}`);
      if (r.hthg !== null && r.htag !== null && (r.hthg > r.fthg || r.htag > r.ftag)) {
        fail(`half-time exceeds full-time: ${r.hthg}-${r.htag} at HT, ${r.fthg}-${r.ftag} at FT`);
      }
    } else if (r.ftr !== null) {
      fail(`result mismatch: FTR=${r.ftr} but no score`);
    }
    if (r.hthg !== null && r.htag !== null && r.htr !== null && r.htr !== outcome(r.hthg, r.htag)) {
      fail(`result mismatch: HTR=${r.htr} but ${r.hthg}-${r.htag}`);
    }
    if ((r.fthg === null) !== (r.status === 'scheduled')) fail('invalid status: finished without a score');
  });

/** A cell that makes its row unusable; caught per row and turned into a quarantine reason. */
class BadCell extends Error {}

function bad(reason: string): never {
  throw new BadCell(reason);
}

function cell(fields: readonly string[], index: number): string {
  // index -1 (column absent) and ragged short rows both read as an empty cell.
  const v = fields[index];
  if (v === undefined || v === '') return '';
  // Most cells have no padding: skipping trim() when both ends are visible ASCII saves a call per cell.
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  return first > 32 && first < 127 && last > 32 && last < 127 ? v : v.trim();
}

/** Reads the optional count in column `index`; quarantines the row when the cell holds something else. */
function countAt(fields: readonly string[], plan: ColumnPlan, index: number, category: string): number | null {
  const s = cell(fields, index);
  if (s === '') return null;
  const n = parseCount(s);
  return Number.isNaN(n) ? bad(`${category}: ${plan.names[index]}="${s}"`) : n;
}

function resultAt(fields: readonly string[], plan: ColumnPlan, index: number): Result | null {
  const s = cell(fields, index);
  if (s === '') return null;
  return s === 'H' || s === 'D' || s === 'A' ? s : bad(`invalid result: ${plan.names[index]}="${s}"`);
}

function priceAt(fields: readonly string[], plan: ColumnPlan, index: number): number | null {
  if (index < 0) return null;
  const s = cell(fields, index);
  if (s === '') return null;
  const n = parseDecimal(s);
  // football-data writes 0 for a price a bookmaker did not offer (E1 2012-13 and 2018-19): missing, not an error.
  if (n === 0) return null;
  if (Number.isNaN(n)) bad(`bad odds: ${plan.names[index]}="${s}" is not a decimal price`);
  if (n < MIN_PRICE) bad(`bad odds: ${plan.names[index]}="${s}" is below ${MIN_PRICE}`);
  return n;
}

function quoteOf(fields: readonly string[], plan: ColumnPlan, g: OddsGroup): OddsQuote | undefined {
  const home = priceAt(fields, plan, g.home);
  const draw = priceAt(fields, plan, g.draw);
  const away = priceAt(fields, plan, g.away);
  const over = priceAt(fields, plan, g.over);
  const under = priceAt(fields, plan, g.under);
  if (home === null && draw === null && away === null && over === null && under === null) return undefined;
  let line = g.line;
  if (g.market === 'ah') {
    const s = cell(fields, g.lineColumn);
    // Prices without a handicap cannot be placed on any line: drop the quote rather than guess.
    if (s === '') return undefined;
    line = parseSigned(s);
    if (Number.isNaN(line)) bad(`bad odds: ${plan.names[g.lineColumn]}="${s}" is not a handicap line`);
  }
  return { bookmaker: g.bookmaker, market: g.market, line, kind: g.kind, home, draw, away, over, under };
}

function statsOf(fields: readonly string[], plan: ColumnPlan): MatchStats {
  const at = (index: number): number | null => countAt(fields, plan, index, 'invalid stat');
  const s = plan.stats;
  // One literal keeps every stats object the same shape, which V8 handles far faster than keyed assignment.
  return {
    homeShots: at(s.homeShots),
    awayShots: at(s.awayShots),
    homeShotsOnTarget: at(s.homeShotsOnTarget),
    awayShotsOnTarget: at(s.awayShotsOnTarget),
    homeWoodwork: at(s.homeWoodwork),
    awayWoodwork: at(s.awayWoodwork),
    homeCorners: at(s.homeCorners),
    awayCorners: at(s.awayCorners),
    homeFouls: at(s.homeFouls),
    awayFouls: at(s.awayFouls),
    homeFreeKicksConceded: at(s.homeFreeKicksConceded),
    awayFreeKicksConceded: at(s.awayFreeKicksConceded),
    homeOffsides: at(s.homeOffsides),
    awayOffsides: at(s.awayOffsides),
    homeYellow: at(s.homeYellow),
    awayYellow: at(s.awayYellow),
    homeRed: at(s.homeRed),
    awayRed: at(s.awayRed),
    homeBookingPoints: at(s.homeBookingPoints),
    awayBookingPoints: at(s.awayBookingPoints),
  };
}

/** Where a row is filed: the division it must belong to and its season (fixed per season file, the row's own in a fixtures file). */
export interface FileContext {
  division: string;
  season: string;
}

/** Builds and validates the record for one data row; returns the quarantine reason instead when the row is unusable. */
export function buildRecord(fields: readonly string[], plan: ColumnPlan, file: FileContext): MatchRecord | string {
  try {
    return assemble(fields, plan, file);
  } catch (error) {
    if (error instanceof BadCell) return error.message;
    throw error;
  }
}

function assemble(fields: readonly string[], plan: ColumnPlan, file: FileContext): MatchRecord | string {
  const { info } = plan;
  const div = cell(fields, info.div);
  if (div === '') return 'missing division';
  if (div !== file.division) return `division mismatch: ${div} in a ${file.division} file`;

  const rawDate = cell(fields, info.date);
  const date = parseDate(rawDate);
  if (date === undefined) return rawDate === '' ? 'invalid date: missing' : `invalid date: "${rawDate}"`;
  const rawTime = cell(fields, info.time);
  const time = rawTime === '' ? null : (parseTime(rawTime) ?? bad(`invalid time: "${rawTime}"`));

  const homeTeam = normaliseTeamName(cell(fields, info.homeTeam));
  const awayTeam = normaliseTeamName(cell(fields, info.awayTeam));
  if (homeTeam === '' || awayTeam === '') {
    return `missing team: ${homeTeam === '' && awayTeam === '' ? 'home and away' : homeTeam === '' ? 'home' : 'away'}`;
  }

  const fthg = countAt(fields, plan, info.fthg, 'invalid goals');
  const ftag = countAt(fields, plan, info.ftag, 'invalid goals');
  const hthg = countAt(fields, plan, info.hthg, 'invalid goals');
  const htag = countAt(fields, plan, info.htag, 'invalid goals');
  if ((fthg === null) !== (ftag === null)) {
    return `invalid goals: ${plan.names[info.fthg] ?? 'FTHG'}="${cell(fields, info.fthg)}" with ${plan.names[info.ftag] ?? 'FTAG'}="${cell(fields, info.ftag)}"`;
  }
  const ftr = resultAt(fields, plan, info.ftr);
  const htr = resultAt(fields, plan, info.htr);

  const stats = statsOf(fields, plan);
  const attendance = countAt(fields, plan, info.attendance, 'invalid stat');
  const referee = normaliseTeamName(cell(fields, info.referee));

  const odds: OddsQuote[] = [];
  for (const g of plan.odds) {
    const q = quoteOf(fields, plan, g);
    if (q) odds.push(q);
  }

  const record: MatchRecord = {
    competition: div,
    season: file.season,
    date,
    time,
    homeTeam,
    awayTeam,
    status: fthg === null ? 'scheduled' : 'finished',
    fthg,
    ftag,
    // Files that omit FTR still determine it: the score is the source of truth.
    ftr: ftr ?? (fthg !== null && ftag !== null ? outcome(fthg, ftag) : null),
    hthg,
    htag,
    htr,
    referee: referee === '' ? null : referee,
    attendance,
    stats,
    odds,
  };
  const checked = matchRecordSchema.safeParse(record);
  if (checked.success) return record;
  const issue = checked.error.issues[0];
  if (issue === undefined) return 'invalid record';
  return issue.code === 'custom' ? issue.message : `invalid record: ${issue.path.join('.')}: ${issue.message}`;
}
