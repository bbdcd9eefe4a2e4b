/**
 * Calendar dates and instants as users type them, checked field by field: Date.parse and Date.UTC roll 2019-02-30
 * over into March and read 24:00 as the next day, so a mistyped date would quietly select other days.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// RFC 3339 / the ECMAScript date-time format: a date, optionally T and hh:mm[:ss[.fraction]] with an optional offset.
const INSTANT = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))?)?$/;

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Whether text is yyyy-mm-dd naming a day that exists (2020-02-29 does, 2019-02-29 and 2019-04-31 do not). */
export function isExistingDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

/**
 * Epoch milliseconds of an ISO date or date-time whose date, clock and offset fields all exist, NaN for anything
 * else. Read as Date.parse reads them: a date alone is midnight UTC, a time without an offset is local time.
 */
export function parseIsoInstant(text: string): number {
  const m = INSTANT.exec(text);
  if (!m || !isExistingDate(m[1]!)) return NaN;
  const [hh, mm, ss, oh, om] = [m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? 0 : Number(v))) as [number, number, number, number, number];
  if (hh > 23 || mm > 59 || ss > 59 || oh > 23 || om > 59) return NaN;
  return Date.parse(text);
}
