/** Rate flags such as `600/min`: parsed without loading the server (commands/serve.ts uses it at startup). */

/** At most `max` requests per `windowMs`. */
export interface Rate {
  max: number;
  windowMs: number;
  /** As the user wrote it, normalised (e.g. "600/min"), for messages and docs. */
  text: string;
}

const UNITS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

/** Parses `N/unit` or `N/<k><unit>` (600/min, 20/s, 100/10s, 5000/hour); `0` (or `off`) disables the limit: null. */
export function parseRate(value: string): Rate | null {
  const text = value.trim().toLowerCase();
  if (text === '0' || text === 'off') return null;
  const m = /^(\d{1,9})\s*\/\s*(\d{1,6})?\s*([a-z]+)$/.exec(text);
  const unit = m ? UNITS[m[3]!] : undefined;
  const count = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!m || unit === undefined || count < 1 || Number(m[1]) < 1) {
    throw new Error(`expected a rate like 600/min, 20/s, 100/10s or 5000/hour (0 disables), got "${value}"`);
  }
  const unitName = m[3]!.startsWith('h') ? 'hour' : m[3]!.startsWith('m') ? 'min' : 's';
  return { max: Number(m[1]), windowMs: count * unit, text: `${Number(m[1])}/${count === 1 ? '' : count}${unitName}` };
}
