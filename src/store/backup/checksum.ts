/**
 * Row counts and per-table checksums that do not depend on row order nor on the dialect the rows were read from:
 * each row is reduced to a canonical JSON text, hashed, and the hashes summed modulo 2^128 (a multiset hash, so a
 * duplicated row does not cancel out as it would with XOR).
 */
import { createHash } from 'node:crypto';

/** A value as read from either dialect by the backup readers (see readers.ts). */
export type RawValue = null | number | string | Buffer;

const MOD = 1n << 128n;
// ISO-8601 timestamps as SQLite text (JS toISOString, strftime) or PostgreSQL timestamptz.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * A timestamp in one spelling: UTC, microseconds, `T` and `Z` (`2025-01-31T12:00:00.120000Z`), so SQLite's
 * millisecond text and PostgreSQL's microsecond timestamptz of the same instant compare equal. Null when `text` is
 * not a timestamp.
 */
export function canonicalTimestamp(text: string): string | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [, day, time, fraction = '', zone] = m;
  const micros = `${fraction}000000`.slice(0, 6);
  if (zone === 'Z' || /^[+-]00(:?00)?$/.test(zone!)) return `${day}T${time}.${micros}Z`;
  const ms = Date.parse(`${day}T${time}${zone!.length === 3 ? `${zone}:00` : zone}`);
  if (Number.isNaN(ms)) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}

function canonicalValue(value: RawValue): unknown {
  if (value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { n: String(value) };
  if (typeof value === 'string') return canonicalTimestamp(value) ?? value;
  return { b: value.toString('base64') };
}

/** Accumulates one table's row count and checksum. */
export class TableChecksum {
  rows = 0;
  private sum = 0n;

  /** Adds one row (values in column order). */
  add(row: readonly RawValue[]): void {
    const digest = createHash('sha256')
      .update(JSON.stringify(row.map(canonicalValue)))
      .digest();
    this.sum = (this.sum + BigInt(`0x${digest.subarray(0, 16).toString('hex')}`)) % MOD;
    this.rows++;
  }

  /** The checksum as 32 hex digits. */
  digest(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}

/** One table's row count and checksum, as the manifest and the verify report hold them. */
export interface TableSummary {
  name: string;
  rows: number;
  checksum: string;
}

/** A difference found by verification. */
export interface TableMismatch {
  name: string;
  expected: { rows: number; checksum: string } | null;
  actual: { rows: number; checksum: string } | null;
}

/** Compares expected (a manifest) with actual (a store or payload) table by table. */
export function compareSummaries(expected: readonly TableSummary[], actual: readonly TableSummary[]): TableMismatch[] {
  const byName = new Map(actual.map((t) => [t.name, t]));
  const mismatches: TableMismatch[] = [];
  for (const e of expected) {
    const a = byName.get(e.name);
    byName.delete(e.name);
    if (!a || a.rows !== e.rows || a.checksum !== e.checksum) {
      mismatches.push({ name: e.name, expected: { rows: e.rows, checksum: e.checksum }, actual: a ? { rows: a.rows, checksum: a.checksum } : null });
    }
  }
  // A table the backup does not know is a difference only when it holds rows (a newer migration's empty table is not).
  for (const a of byName.values()) if (a.rows > 0) mismatches.push({ name: a.name, expected: null, actual: { rows: a.rows, checksum: a.checksum } });
  return mismatches;
}
