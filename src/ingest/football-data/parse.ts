/** Streaming parser for football-data.co.uk season CSVs: bytes in, validated match rows or quarantine rows out. */
import { UserError } from '../../errors.js';
import { readLines, splitCsvLine } from '../lines.js';
import { parseDate } from './cells.js';
import { planColumns, type ColumnPlan } from './columns.js';
import { buildRecord, type FileContext } from './record.js';
import type { ParsedRow } from './types.js';

export { normaliseTeamName } from './cells.js';

/** Division codes football-data.co.uk publishes in its main results files, with the league each one is. */
export const KNOWN_DIVISIONS: Readonly<Record<string, string>> = Object.freeze({
  E0: 'English Premier League',
  E1: 'English Championship',
  E2: 'English League One',
  E3: 'English League Two',
  EC: 'English National League',
  SC0: 'Scottish Premiership',
  SC1: 'Scottish Championship',
  SC2: 'Scottish League One',
  SC3: 'Scottish League Two',
  D1: 'German Bundesliga',
  D2: 'German 2. Bundesliga',
  I1: 'Italian Serie A',
  I2: 'Italian Serie B',
  SP1: 'Spanish La Liga',
  SP2: 'Spanish Segunda División',
  F1: 'French Ligue 1',
  F2: 'French Ligue 2',
  N1: 'Dutch Eredivisie',
  B1: 'Belgian First Division A',
  P1: 'Portuguese Primeira Liga',
  T1: 'Turkish Süper Lig',
  G1: 'Greek Super League',
});

const REQUIRED = [
  ['div', 'Div'],
  ['date', 'Date'],
  ['homeTeam', 'HomeTeam'],
  ['awayTeam', 'AwayTeam'],
] as const;

const BINARY_PROBE_BYTES = 4096;
const SEASON_RE = /^(\d{4})-(\d{4})$/;
const FILE_NAME_RE = /^[A-Za-z]+\d*_(\d{4})-(\d{4})(?:\.[A-Za-z0-9]+)?$/;
// Rows of nothing but commas (and whitespace) are spreadsheet padding, not data.
const BLANK_ROW_RE = /^[\s,]*$/;
// C0 controls other than tab/CR/LF never occur in a text header; seeing one means we are reading a binary file.
// biome-ignore lint/suspicious/noControlCharactersInRegex: this regex exists to find control characters in the file
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;
const HINT_FILE = 'pass a results CSV downloaded from https://www.football-data.co.uk/data.php';

/** `E0_2019-2020.csv` (or a path/URL ending in it) → `2019-2020`; undefined when the name has no season. */
export function seasonFromFileName(name: string): string | undefined {
  const base = name.split(/[?#]/)[0]!.split(/[/\\]/).pop() ?? '';
  const m = FILE_NAME_RE.exec(base);
  if (!m || Number(m[2]) !== Number(m[1]) + 1) return undefined;
  return `${m[1]!}-${m[2]!}`;
}

/** The season an ISO date falls in: July onwards starts a new season (`2019-08-10` → `2019-2020`). */
export function seasonOfDate(isoDate: string): string {
  const year = Number(isoDate.slice(0, 4));
  const month = Number(isoDate.slice(5, 7));
  return month >= 7 ? `${year}-${year + 1}` : `${year - 1}-${year}`;
}

/** Whether a division code is one of KNOWN_DIVISIONS. */
export function isKnownDivision(code: string): boolean {
  return Object.hasOwn(KNOWN_DIVISIONS, code);
}

/**
 * How a file's rows are filed. A *season file* (football-data's `E0.csv`, one division's season) files every row
 * under its first row's division and one season; a row of another division is quarantined. A *fixtures file*
 * (football-data's `fixtures.csv`: coming matches of many divisions) files each row under its own division and the
 * season of its own date.
 */
export type FileKind = 'season' | 'fixtures';

/** Rows held back while a file's kind is still open; a file whose first this-many rows do not show it is a season file. */
export const MAX_UNDECIDED_ROWS = 10_000;

/**
 * The kind one row reveals, given the first Div of the file (undefined: nothing revealed yet). A score means a
 * season file: they list played matches, and fixtures files none. A Div other than the first, on a row without a
 * score, means a fixtures file, provided one of the two codes is known (two unknown codes: a season file, which the
 * unknown first division then rejects as a whole).
 */
export function kindRevealedBy(firstDiv: string | undefined, div: string, played: boolean): FileKind | undefined {
  if (played) return 'season';
  if (firstDiv === undefined || div === '' || div === firstDiv) return undefined;
  return isKnownDivision(firstDiv) || isKnownDivision(div) ? 'fixtures' : 'season';
}

/** Options of parseFootballData. */
export interface ParseOptions {
  /** File path or URL, used in error messages. */
  label: string;
  /**
   * Season every row is filed under, e.g. "2019-2020"; otherwise a season file's rows take the season of its first
   * dated row, and a fixtures file's rows the season of their own date.
   */
  seasonHint?: string;
  /** Resume point: rows on lines <= this are read (to decide the file's kind, division and season) but not yielded. */
  startAfterLine?: number;
}

async function* guardBinary(source: AsyncIterable<Uint8Array>, label: string, seen: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (seen.bytes < BINARY_PROBE_BYTES && chunk.subarray(0, BINARY_PROBE_BYTES - seen.bytes).includes(0)) {
      throw binaryFile(label, 'NUL byte in the first 4 KB');
    }
    seen.bytes += chunk.byteLength;
    yield chunk;
  }
}

function binaryFile(label: string, why: string): UserError {
  return new UserError(`${label}: binary content, not a CSV text file (${why})`, { hint: HINT_FILE });
}

function planHeader(text: string, label: string): ColumnPlan {
  if (CONTROL_RE.test(text)) throw binaryFile(label, 'header is not readable text');
  const plan = planColumns(splitCsvLine(text));
  const lacking = REQUIRED.filter(([key]) => plan.info[key] < 0).map(([, name]) => name);
  if (lacking.length > 0) {
    const found = plan.names.filter((n) => n !== '');
    const shown = found.slice(0, 8).join(', ') + (found.length > 8 ? ' …' : '');
    throw new UserError(`${label}: not a football-data.co.uk CSV: header lacks ${lacking.join(', ')} (found: ${shown || 'nothing'})`, { hint: HINT_FILE });
  }
  return plan;
}

function unknownDivision(label: string, line: number, div: string): UserError {
  return new UserError(`${label}:${line}: unknown division code "${div}" (known: ${Object.keys(KNOWN_DIVISIONS).join(' ')})`, {
    hint: 'only football-data.co.uk main-league files (one division per season file, or fixtures.csv) are supported',
  });
}

const cellAt = (fields: readonly string[], index: number): string => (fields[index] ?? '').trim();

/**
 * Parses a football-data.co.uk CSV stream row by row; file-level problems throw UserError, bad rows come back as `bad`.
 *
 * A file's kind (see FileKind) is decided by the first row that reveals it (kindRevealedBy); rows before it are held
 * back (at most MAX_UNDECIDED_ROWS) and then filed like the rest. Every decision depends only on the rows before it
 * and the row itself, so a run resumed with `startAfterLine` files each row exactly as an uninterrupted run did.
 */
export async function* parseFootballData(source: AsyncIterable<Uint8Array>, options: ParseOptions): AsyncGenerator<ParsedRow> {
  const { label, seasonHint } = options;
  const startAfter = options.startAfterLine ?? 0;
  if (seasonHint !== undefined) {
    const m = SEASON_RE.exec(seasonHint);
    if (!m || Number(m[2]) !== Number(m[1]) + 1) throw new RangeError(`seasonHint "${seasonHint}" is not YYYY-YYYY+1`);
  }

  const seen = { bytes: 0 };
  let plan: ColumnPlan | undefined;
  let kind: FileKind | undefined;
  let firstDiv: string | undefined;
  let firstDivLine = 0;
  // A season file's season: the hint, else the first dated row's (skipped or not), so a resumed run files rows
  // exactly as the first did.
  let fileSeason = seasonHint;
  let held: { line: number; text: string }[] = [];

  const contextOf = (fields: readonly string[], p: ColumnPlan): FileContext | string => {
    if (kind === 'season') {
      if (firstDiv !== undefined && !isKnownDivision(firstDiv)) throw unknownDivision(label, firstDivLine, firstDiv);
      // Still unknown only when this row lacks a Div or a valid date itself, so it is quarantined before they matter.
      return { division: firstDiv ?? '', season: fileSeason ?? '' };
    }
    const div = cellAt(fields, p.info.div);
    if (div !== '' && !isKnownDivision(div)) {
      return `unknown division: "${div}" (known: ${Object.keys(KNOWN_DIVISIONS).join(' ')})`;
    }
    const date = parseDate(cellAt(fields, p.info.date));
    return { division: div, season: seasonHint ?? (date === undefined ? '' : seasonOfDate(date)) };
  };
  const fileRow = (line: number, text: string, fields: readonly string[], p: ColumnPlan): ParsedRow | undefined => {
    const context = contextOf(fields, p);
    if (line <= startAfter) return undefined;
    const built = typeof context === 'string' ? context : buildRecord(fields, p, context);
    return typeof built === 'string' ? { kind: 'bad', line, raw: text, reason: built } : { kind: 'match', line, raw: text, record: built };
  };

  for await (const { line, text } of readLines(guardBinary(source, label, seen))) {
    if (plan === undefined) {
      // Blank lines before the header carry nothing; the header is the first line with content.
      if (text.trim() === '') continue;
      plan = planHeader(text, label);
      continue;
    }
    if (BLANK_ROW_RE.test(text)) continue;
    const fields = splitCsvLine(text);

    const div = cellAt(fields, plan.info.div);
    if (firstDiv === undefined && div !== '') {
      firstDiv = div;
      firstDivLine = line;
    }
    if (fileSeason === undefined) {
      const date = parseDate(cellAt(fields, plan.info.date));
      if (date !== undefined) fileSeason = seasonOfDate(date);
    }
    if (kind === undefined) {
      const played = cellAt(fields, plan.info.fthg) !== '' || cellAt(fields, plan.info.ftag) !== '';
      kind = held.length >= MAX_UNDECIDED_ROWS ? 'season' : kindRevealedBy(firstDiv, div, played);
      if (kind === undefined) {
        held.push({ line, text });
        continue;
      }
      for (const h of held) {
        const row = fileRow(h.line, h.text, splitCsvLine(h.text), plan);
        if (row) yield row;
      }
      held = [];
    }
    const row = fileRow(line, text, fields, plan);
    if (row) yield row;
  }

  if (plan === undefined) {
    throw new UserError(`${label}: empty file (${seen.bytes === 0 ? '0 bytes' : 'no header line'})`, {
      hint: 'download the file again, or remove it from the list of sources',
    });
  }
  // One division's rows and no score up to the end: a season file (of fixtures).
  kind ??= 'season';
  for (const h of held) {
    const row = fileRow(h.line, h.text, splitCsvLine(h.text), plan);
    if (row) yield row;
  }
}
