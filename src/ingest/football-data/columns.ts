/** Header analysis for football-data.co.uk CSVs: which column holds what, by name only. */
import type { Market, MatchStats, OddsKind } from './types.js';

/*
 * Recognised bookmaker prefixes (any market): B365 BW IW PS WH VC LB GB SB SJ SO SY BS BF 1XB BFE CL Max Avg BbMx BbAv.
 * Over/under and Asian handicap also use `P` (Pinnacle), stored as 'PS' so it joins the 1x2 `PSH/PSD/PSA` quotes.
 * `P` is not a 1x2 prefix. BetBrain's `BbMx`/`BbAv` keep the spelling football-data writes (like every other
 * prefix), so a quote's bookmaker is always the literal column prefix except for that P → PS rename.
 * Any other prefix made of letters/digits is accepted too, as long as the header carries at least two prices of
 * its group (e.g. `XYH` + `XYA`): new bookmakers appear every few seasons and should not need a code change, while
 * a lone stray column ending in H/D/A should not be taken for odds.
 * A `C` after the prefix marks closing odds (`PSCH`, `B365C>2.5`, `PCAHH`) when what precedes it is a known prefix
 * or has pre-match columns of its own; so `VCH` is VC pre-match and `VCCH` VC closing.
 */
const KNOWN_PREFIXES = new Set([
  'B365',
  'BW',
  'IW',
  'PS',
  'WH',
  'VC',
  'LB',
  'GB',
  'SB',
  'SJ',
  'SO',
  'SY',
  'BS',
  'BF',
  '1XB',
  'BFE',
  'CL',
  'Max',
  'Avg',
  'BbMx',
  'BbAv',
]);
const PINNACLE_SHORT = 'P';

/** Scalar columns and the header names football-data has used for them. */
const INFO_ALIASES = {
  div: ['Div'],
  date: ['Date'],
  time: ['Time'],
  homeTeam: ['HomeTeam', 'Home', 'HT'],
  awayTeam: ['AwayTeam', 'Away', 'AT'],
  fthg: ['FTHG', 'HG'],
  ftag: ['FTAG', 'AG'],
  ftr: ['FTR', 'Res'],
  hthg: ['HTHG'],
  htag: ['HTAG'],
  htr: ['HTR'],
  referee: ['Referee'],
  attendance: ['Attendance'],
} as const;
export type InfoField = keyof typeof INFO_ALIASES;

/** Match statistics columns, keyed by the MatchStats field they fill. */
export const STAT_COLUMNS: Readonly<Record<keyof MatchStats, string>> = {
  homeShots: 'HS',
  awayShots: 'AS',
  homeShotsOnTarget: 'HST',
  awayShotsOnTarget: 'AST',
  homeWoodwork: 'HHW',
  awayWoodwork: 'AHW',
  homeCorners: 'HC',
  awayCorners: 'AC',
  homeFouls: 'HF',
  awayFouls: 'AF',
  homeFreeKicksConceded: 'HFKC',
  awayFreeKicksConceded: 'AFKC',
  homeOffsides: 'HO',
  awayOffsides: 'AO',
  homeYellow: 'HY',
  awayYellow: 'AY',
  homeRed: 'HR',
  awayRed: 'AR',
  homeBookingPoints: 'HBP',
  awayBookingPoints: 'ABP',
};

// Bookmaker counts behind the BetBrain averages: numbers, not prices.
const COUNT_COLUMNS = new Set(['Bb1X2', 'BbOU', 'BbAH']);
const PRE_LINE_COLUMNS = ['AHh', 'BbAHh'];
const CLOSING_LINE_COLUMN = 'AHCh';

/** Price slots of a quote; each is a column index or -1 when the header lacks it. */
export interface PriceSlots {
  home: number;
  draw: number;
  away: number;
  over: number;
  under: number;
}

/** One bookmaker × market × kind group of columns. */
export interface OddsGroup extends PriceSlots {
  bookmaker: string;
  market: Market;
  kind: OddsKind;
  /** Fixed line (0 for 1x2, 2.5 for o/u); NaN for AH, whose line is read from `lineColumn`. */
  line: number;
  /** AH only: index of the column holding the handicap line, -1 when the header has none. */
  lineColumn: number;
}

/** What a header means: indexes of scalar columns, odds groups, and the names we did not recognise. */
export interface ColumnPlan {
  /** Trimmed header names, in file order. */
  names: string[];
  info: Record<InfoField, number>;
  stats: Record<keyof MatchStats, number>;
  odds: OddsGroup[];
  /** Non-empty header names that are neither scalar, odds, line nor count columns. */
  unrecognised: string[];
}

type Slot = keyof PriceSlots;
interface Candidate {
  index: number;
  market: Market;
  prefix: string;
  slot: Slot;
}

const X12_RE = /^([A-Za-z0-9]+)([HDA])$/;
const OU_RE = /^([A-Za-z0-9]+)([<>])2\.5$/;
const AH_RE = /^([A-Za-z0-9]+)AH([HA])$/;
const X12_SLOT: Record<string, Slot> = { H: 'home', D: 'draw', A: 'away' };
const AH_SLOT: Record<string, Slot> = { H: 'home', A: 'away' };

function oddsCandidate(name: string, index: number): Candidate | undefined {
  let m = AH_RE.exec(name);
  if (m) return { index, market: 'ah', prefix: m[1]!, slot: AH_SLOT[m[2]!]! };
  m = OU_RE.exec(name);
  if (m) return { index, market: 'ou', prefix: m[1]!, slot: m[2] === '>' ? 'over' : 'under' };
  m = X12_RE.exec(name);
  if (m) return { index, market: '1x2', prefix: m[1]!, slot: X12_SLOT[m[2]!]! };
  return undefined;
}

function isKnown(prefix: string, market: Market): boolean {
  return KNOWN_PREFIXES.has(prefix) || (market !== '1x2' && prefix === PINNACLE_SHORT);
}

/** Builds the column plan for a header row; never throws, unknown columns land in `unrecognised`. */
export function planColumns(header: readonly string[]): ColumnPlan {
  const names = header.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim());
  const byName = new Map<string, number>();
  names.forEach((n, i) => {
    if (n !== '' && !byName.has(n)) byName.set(n, i);
  });
  const find = (aliases: readonly string[]): number => {
    for (const a of aliases) {
      const i = byName.get(a);
      if (i !== undefined) return i;
    }
    return -1;
  };

  const used = new Set<number>();
  const info = {} as Record<InfoField, number>;
  for (const key of Object.keys(INFO_ALIASES) as InfoField[]) {
    info[key] = find(INFO_ALIASES[key]);
    if (info[key] >= 0) used.add(info[key]);
  }
  const stats = {} as Record<keyof MatchStats, number>;
  for (const key of Object.keys(STAT_COLUMNS) as (keyof MatchStats)[]) {
    stats[key] = find([STAT_COLUMNS[key]]);
    if (stats[key] >= 0) used.add(stats[key]);
  }
  const preLine = find(PRE_LINE_COLUMNS);
  const closingLine = find([CLOSING_LINE_COLUMN]);
  for (const i of [preLine, closingLine]) if (i >= 0) used.add(i);

  // Older files give each bookmaker its own handicap (`LBAH` next to `LBAHH`); it wins over the shared line.
  const ownLines = new Map<string, number>();
  for (const name of byName.keys()) {
    const m = AH_RE.exec(name);
    const lineIndex = m ? byName.get(`${m[1]!}AH`) : undefined;
    if (m && lineIndex !== undefined && !COUNT_COLUMNS.has(`${m[1]!}AH`)) {
      ownLines.set(m[1]!, lineIndex);
      used.add(lineIndex);
    }
  }

  const candidates: Candidate[] = [];
  names.forEach((name, index) => {
    if (name === '' || used.has(index) || COUNT_COLUMNS.has(name) || byName.get(name) !== index) return;
    const c = oddsCandidate(name, index);
    if (c && c.market === '1x2' && c.prefix === PINNACLE_SHORT) return;
    if (c) candidates.push(c);
  });

  // Prefixes with pre-match columns of their own, per market: lets `XYZCH` be read as XYZ closing.
  const prePrefixes = new Set(candidates.map((c) => `${c.market}:${c.prefix}`));
  const groups = new Map<string, OddsGroup>();
  const members = new Map<string, number>();
  for (const c of candidates) {
    let prefix = c.prefix;
    let kind: OddsKind = 'pre';
    const stripped = prefix.slice(0, -1);
    if (prefix.endsWith('C') && stripped !== '' && (isKnown(stripped, c.market) || prePrefixes.has(`${c.market}:${stripped}`))) {
      prefix = stripped;
      kind = 'closing';
    }
    if (c.market === '1x2' && prefix === PINNACLE_SHORT) continue;
    const bookmaker = prefix === PINNACLE_SHORT ? 'PS' : prefix;
    const key = `${c.market}:${kind}:${bookmaker}`;
    let g = groups.get(key);
    if (!g) {
      const line = c.market === '1x2' ? 0 : c.market === 'ou' ? 2.5 : Number.NaN;
      const own = c.market === 'ah' ? (ownLines.get(c.prefix) ?? -1) : -1;
      const lineColumn = c.market !== 'ah' ? -1 : own >= 0 ? own : kind === 'pre' ? preLine : closingLine;
      g = { bookmaker, market: c.market, kind, line, lineColumn, home: -1, draw: -1, away: -1, over: -1, under: -1 };
      groups.set(key, g);
      members.set(key, 0);
    }
    if (g[c.slot] === -1) {
      g[c.slot] = c.index;
      members.set(key, members.get(key)! + 1);
      used.add(c.index);
    }
  }

  const odds: OddsGroup[] = [];
  for (const [key, g] of groups) {
    if (isKnown(g.bookmaker, g.market) || members.get(key)! >= 2) {
      odds.push(g);
    } else {
      for (const slot of ['home', 'draw', 'away', 'over', 'under'] as const) if (g[slot] >= 0) used.delete(g[slot]);
    }
  }
  const unrecognised = names.filter((n, i) => n !== '' && !used.has(i) && !COUNT_COLUMNS.has(n));
  return { names, info, stats, odds, unrecognised };
}
