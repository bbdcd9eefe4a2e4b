/** Parsers for single football-data cells (dates, counts, prices, names); all return NaN/undefined instead of throwing. */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `dd/mm/yy` or `dd/mm/yyyy` (chosen per value by the year's length) → ISO `yyyy-mm-dd`, undefined unless a real calendar date. */
export function parseDate(value: string): string | undefined {
  const parts = value.split('/');
  if (parts.length !== 3) return undefined;
  const [d, m, y] = parts as [string, string, string];
  if (!isDigits(d) || !isDigits(m) || !isDigits(y) || d.length > 2 || m.length > 2) return undefined;
  if (y.length !== 2 && y.length !== 4) return undefined;
  const yy = Number(y);
  // football-data's two-digit years start in 1993; the pivot at 50 leaves room on both sides.
  const year = y.length === 4 ? yy : yy < 50 ? 2000 + yy : 1900 + yy;
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > max) return undefined;
  return `${year}-${pad2(month)}-${pad2(day)}`;
}

const TIME_RE = /^(\d{1,2}):(\d{2})$/;

/** `H:MM`/`HH:MM` → `HH:MM`, undefined when not a valid clock time. */
export function parseTime(value: string): string | undefined {
  const m = TIME_RE.exec(value);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return undefined;
  return `${pad2(h)}:${m[2]!}`;
}

/** Unsigned decimal such as `2`, `1.85` or `.5`; NaN for anything else (signs, exponents, hex, blanks). */
export function parseDecimal(s: string): number {
  // Hand-rolled because this runs for every odds cell; integer mantissa / power of ten is correctly rounded
  // (both exact below 2^53 and 1e22), so the result equals Number(s).
  const n = s.length;
  if (n === 0 || n > 15) return n === 0 ? Number.NaN : strictNumber(s);
  let mantissa = 0;
  let scale = 1;
  let dot = false;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (dot) scale *= 10;
    } else if (c === 46 && !dot) {
      dot = true;
    } else {
      return Number.NaN;
    }
  }
  if (digits === 0) return Number.NaN;
  return scale === 1 ? mantissa : mantissa / scale;
}

// Long cells are rare; check the characters, then let Number do the (slower, exact) conversion.
function strictNumber(s: string): number {
  return /^(?:\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : Number.NaN;
}

/** Signed decimal (handicap lines such as `-0.75`); NaN when not a plain number. */
export function parseSigned(s: string): number {
  const c = s.charCodeAt(0);
  if (c === 45 /* - */ || c === 43 /* + */) {
    const n = parseDecimal(s.slice(1));
    return c === 45 ? -n : n;
  }
  return parseDecimal(s);
}

/** Non-negative integer count (goals, shots, cards); `2.0` is accepted, `2.5`, `-1` and `x` give NaN. */
export function parseCount(s: string): number {
  const n = parseDecimal(s);
  return Number.isInteger(n) ? n : Number.NaN;
}

const SPACES_RE = /\s+/g;

/** Trims a team (or referee) name, turns NBSP into a space and collapses runs of whitespace. */
export function normaliseTeamName(name: string): string {
  // JS `\s` covers U+00A0, so one pass handles NBSP, tabs and doubled spaces alike.
  return name.replace(SPACES_RE, ' ').trim();
}
