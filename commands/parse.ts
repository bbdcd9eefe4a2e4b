/** Flag value parsers shared by command specs; they throw messages commander shows as usage errors. */

/** A whole number ≥ min. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`expected a whole number ≥ ${min}, got "${value}"`);
    return Number(value);
  };
}

/** An existing ISO date yyyy-mm-dd (2019-02-30 is refused, not rolled over). */
export function isoDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !d || d.getUTCFullYear() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
    throw new Error(`expected an existing date as yyyy-mm-dd, got "${value}"`);
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
