/** Streaming parser for football-data.co.uk season CSVs: bytes in, validated match rows or quarantine rows out. */
import { UserError } from '../../errors.js';
import { readLines, splitCsvLine } from '../lines.js';
import { parseDate } from './cells.js';
import { planColumns, type ColumnPlan } from './columns.js';
import { buildRecord } from './record.js';
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

/** Options of parseFootballData. */
export interface ParseOptions {
  /** File path or URL, used in error messages. */
  label: string;
  /** Season every row is filed under, e.g. "2019-2020"; otherwise decided from the first dated row. */
  seasonHint?: string;
  /** Resume point: rows on lines <= this are read (to fix division and season) but not yielded. */
  startAfterLine?: number;
}

async function* guardBinary(
  source: AsyncIterable<Uint8Array>,
  label: string,
  seen: { bytes: number },
): AsyncGenerator<Uint8Array> {
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
    throw new UserError(
      `${label}: not a football-data.co.uk CSV: header lacks ${lacking.join(', ')} (found: ${shown || 'nothing'})`,
      { hint: HINT_FILE },
    );
  }
  return plan;
}

/** Parses a football-data.co.uk CSV stream row by row; file-level problems throw UserError, bad rows come back as `bad`. */
export async function* parseFootballData(
  source: AsyncIterable<Uint8Array>,
  options: ParseOptions,
): AsyncGenerator<ParsedRow> {
  const { label, seasonHint } = options;
  const startAfter = options.startAfterLine ?? 0;
  if (seasonHint !== undefined) {
    const m = SEASON_RE.exec(seasonHint);
    if (!m || Number(m[2]) !== Number(m[1]) + 1) throw new RangeError(`seasonHint "${seasonHint}" is not YYYY-YYYY+1`);
  }

  const seen = { bytes: 0 };
  let plan: ColumnPlan | undefined;
  let division: string | undefined;
  let season = seasonHint;

  for await (const { line, text } of readLines(guardBinary(source, label, seen))) {
    if (plan === undefined) {
      // Blank lines before the header carry nothing; the header is the first line with content.
      if (text.trim() === '') continue;
      plan = planHeader(text, label);
      continue;
    }
    if (BLANK_ROW_RE.test(text)) continue;
    const fields = splitCsvLine(text);

    if (division === undefined) {
      const div = (fields[plan.info.div] ?? '').trim();
      if (div !== '') {
        if (!Object.hasOwn(KNOWN_DIVISIONS, div)) {
          throw new UserError(
            `${label}:${line}: unknown division code "${div}" (known: ${Object.keys(KNOWN_DIVISIONS).join(' ')})`,
            { hint: 'only football-data.co.uk main-league files (one division per file) are supported' },
          );
        }
        division = div;
      }
    }
    if (season === undefined) {
      // Decided once, from the first dated row (skipped or not), so a resumed run files rows exactly as the first did.
      const date = parseDate((fields[plan.info.date] ?? '').trim());
      if (date !== undefined) season = seasonOfDate(date);
    }
    if (line <= startAfter) continue;

    // Still unknown only when this row lacks a Div or a valid date itself, so it is quarantined before they matter.
    const built = buildRecord(fields, plan, { division: division ?? '', season: season ?? '' });
    yield typeof built === 'string'
      ? { kind: 'bad', line, raw: text, reason: built }
      : { kind: 'match', line, raw: text, record: built };
  }

  if (plan === undefined) {
    throw new UserError(`${label}: empty file (${seen.bytes === 0 ? '0 bytes' : 'no header line'})`, {
      hint: 'download the file again, or remove it from the list of sources',
    });
  }
}
