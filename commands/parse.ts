/** Flag value parsers shared by command specs; they throw messages commander shows as usage errors. */

/** A whole number ≥ min. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`expected a whole number ≥ ${min}, got "${value}"`);
    return Number(value);
  };
}

/** An ISO date yyyy-mm-dd. */
export function isoDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new Error(`expected a date as yyyy-mm-dd, got "${value}"`);
  }
  return value;
}

/** A season label YYYY-YYYY (consecutive years). */
export function season(value: string): string {
  const m = /^(\d{4})-(\d{4})$/.exec(value);
  if (!m || Number(m[2]) !== Number(m[1]) + 1) throw new Error(`expected a season like 2019-2020, got "${value}"`);
  return value;
}

/** Comma-separated list, e.g. E0,D1. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
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
