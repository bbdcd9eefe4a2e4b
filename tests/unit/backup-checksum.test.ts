// The pieces of db backup that need no database: canonical values and checksums (order- and dialect-independent),
// table ordering, PostgreSQL text values, and keeping passwords off pg_dump's command line.
import { describe, expect, it } from 'vitest';
import { canonicalTimestamp, compareSummaries, TableChecksum } from '../../src/store/backup/checksum.js';
import { parentsFirst, pgValue } from '../../src/store/backup/readers.js';
import { connectionArgs } from '../../src/store/backup/pg-tools.js';

const digest = (rows: (null | number | string | Buffer)[][]) => {
  const sum = new TableChecksum();
  for (const row of rows) sum.add(row);
  return { rows: sum.rows, checksum: sum.digest() };
};

describe('table checksums', () => {
  it('do not depend on row order, and count duplicates', () => {
    const rows = [
      [1, 'Arsenal', null],
      [2, 'Chelsea', 1.5],
      [3, 'Everton', 2],
    ];
    const a = digest(rows);
    expect(digest([...rows].reverse())).toEqual(a);
    expect(a.checksum).toMatch(/^[0-9a-f]{32}$/);
    const twice = digest([...rows, rows[0]!, rows[0]!]);
    expect(twice.checksum).not.toBe(a.checksum);
    expect(digest([...rows, rows[0]!]).checksum).not.toBe(twice.checksum);
  });

  it('change with any value, null versus empty, and column order', () => {
    const base = digest([[1, 'a', null]]).checksum;
    expect(digest([[1, 'a', '']]).checksum).not.toBe(base);
    expect(digest([[1, 'b', null]]).checksum).not.toBe(base);
    expect(digest([['a', 1, null]]).checksum).not.toBe(base);
    expect(digest([[1.0000001, 'a', null]]).checksum).not.toBe(base);
  });

  it('see SQLite millisecond text and PostgreSQL microsecond timestamps of one instant as equal', () => {
    expect(canonicalTimestamp('2025-01-31T12:00:00.120Z')).toBe('2025-01-31T12:00:00.120000Z');
    expect(canonicalTimestamp('2025-01-31 12:00:00.12+00')).toBe('2025-01-31T12:00:00.120000Z');
    expect(canonicalTimestamp('2025-01-31T13:00:00.5+01:00')).toBe('2025-01-31T12:00:00.500000Z');
    expect(canonicalTimestamp('2025-01-31T12:00:00Z')).toBe('2025-01-31T12:00:00.000000Z');
    expect(canonicalTimestamp('2025-01-31')).toBeNull();
    expect(canonicalTimestamp('kick-off 2025-01-31T12:00:00Z')).toBeNull();
    expect(digest([[1, '2025-01-31T12:00:00.123Z']])).toEqual(digest([[1, '2025-01-31T12:00:00.123000Z']]));
    expect(digest([[1, '2025-01-31T12:00:00.123Z']])).not.toEqual(digest([[1, '2025-01-31T12:00:00.124Z']]));
  });

  it('compare table by table, naming what is missing, extra or different', () => {
    const expected = [
      { name: 'teams', rows: 2, checksum: 'a'.repeat(32) },
      { name: 'matches', rows: 5, checksum: 'b'.repeat(32) },
    ];
    expect(compareSummaries(expected, expected)).toEqual([]);
    const found = compareSummaries(expected, [
      { name: 'teams', rows: 2, checksum: 'c'.repeat(32) },
      { name: 'jobs', rows: 0, checksum: '0'.repeat(32) },
      { name: 'hooks', rows: 1, checksum: 'd'.repeat(32) },
    ]);
    expect(found.map((m) => m.name)).toEqual(['teams', 'matches', 'hooks']);
    expect(found[1]!.actual).toBeNull();
    expect(found[2]!.expected).toBeNull();
  });
});

describe('backup helpers', () => {
  it('order tables parents first, whatever order they are listed in', () => {
    const parents = new Map([
      ['odds', ['matches']],
      ['matches', ['teams', 'competitions']],
      ['ingest_runs', ['ingest_runs']],
    ]);
    const order = parentsFirst(['odds', 'matches', 'ingest_runs', 'teams', 'competitions'], parents);
    expect(order.indexOf('teams')).toBeLessThan(order.indexOf('matches'));
    expect(order.indexOf('competitions')).toBeLessThan(order.indexOf('matches'));
    expect(order.indexOf('matches')).toBeLessThan(order.indexOf('odds'));
    expect(order).toHaveLength(5);
  });

  it('read PostgreSQL text values into the neutral form', () => {
    expect(pgValue('9007199254740991', 'int8')).toBe(9007199254740991);
    expect(pgValue('0.1', 'float8')).toBe(0.1);
    expect(pgValue('NaN', 'float8')).toBeNaN();
    expect(pgValue('t', 'bool')).toBe(1);
    expect(pgValue('2025-01-31 12:00:00.123456+00', 'timestamptz')).toBe('2025-01-31T12:00:00.123456Z');
    expect(pgValue('2025-01-31', 'date')).toBe('2025-01-31');
    expect(pgValue('\\x00ff', 'bytea')).toEqual(Buffer.from([0, 255]));
    expect(pgValue(null, 'text')).toBeNull();
    expect(pgValue('{"a": 1, "b": [1, 2]}', 'jsonb')).toBe('{"a":1,"b":[1,2]}');
  });

  it('pass a PostgreSQL password to pg_dump through the environment, not the command line', () => {
    const { args, env } = connectionArgs('postgres://ana:s%40cret@db:5432/prod?sslmode=require');
    expect(args.join(' ')).not.toMatch(/cret/);
    expect(args).toEqual(['--dbname=postgres://ana@db:5432/prod?sslmode=require']);
    expect(env).toEqual({ PGPASSWORD: 's@cret' });
    expect(connectionArgs('postgres://ana@db/prod').env).toEqual({});
  });
});
