/** Flag value parsers shared by command specs; they throw messages commander shows as usage errors. */
import { isExistingDate, parseIsoInstant } from '../src/dates.js';
import { UsageError } from '../src/errors.js';

/** A whole number ≥ min. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`expected a whole number ≥ ${min}, got "${value}"`);
    return Number(value);
  };
}

/** An existing ISO date yyyy-mm-dd (2019-02-30 is refused, not rolled over). */
export function isoDate(value: string): string {
  if (!isExistingDate(value)) throw new Error(`expected an existing date as yyyy-mm-dd, got "${value}"`);
  return value;
}

/** An existing ISO date or date-time, as an ISO timestamp in UTC (a time without an offset is local time). */
export function isoInstant(value: string): string {
  const t = parseIsoInstant(value);
  if (Number.isNaN(t)) throw new Error(`expected an existing ISO date or date-time (2025-01-31, 2025-01-31T12:00:00Z), got "${value}"`);
  return new Date(t).toISOString();
}

/**
 * Usage error for a range whose start is after its end: it would select nothing, and silently printing an empty
 * table (or training on no matches) hides the typo. Bounds are yyyy-mm-dd, so text order is date order.
 */
export function requireOrdered(fromFlag: string, from: string | undefined, toFlag: string, to: string | undefined): void {
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`${fromFlag} ${from} is after ${toFlag} ${to}`);
}

/** A season label YYYY-YYYY (consecutive years). */
export function season(value: string): string {
  const m = /^(\d{4})-(\d{4})$/.exec(value);
  if (!m || Number(m[2]) !== Number(m[1]) + 1) throw new Error(`expected a season like 2019-2020, got "${value}"`);
  return value;
}

/**
 * Comma-separated list, e.g. E0,D1 (blanks around items and a trailing comma are forgiven). An empty list is refused
 * for every flag alike: "" often comes from an unset shell variable, and reading it as "all" or "none" would differ
 * from one command to the next.
 */
export function list(value: string): string[] {
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 0) throw new Error(`expected a non-empty comma-separated list, got "${value}"`);
  return items;
}

/** Comma-separated seasons. */
export function seasons(value: string): string[] {
  return list(value).map(season);
}

/** A duration like 30s, 500ms, 2m, or plain milliseconds. */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!m) throw new Error(`expected a duration like 30s, 500ms or 2m, got "${value}"`);
  const unit = m[2] ?? 'ms';
  return Math.round(Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}
