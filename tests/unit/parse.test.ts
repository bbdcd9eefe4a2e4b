// Flag value parsers (commands/parse.ts) and the date rules under them (src/dates.ts): dates that do not exist are
// refused rather than rolled over, and an empty list is an error rather than "everything".
import { describe, expect, it } from 'vitest';
import { isoDate, isoInstant, list, requireOrdered, seasons } from '../../commands/parse.js';
import { isExistingDate, parseIsoInstant } from '../../src/dates.js';
import { UsageError } from '../../src/errors.js';

describe('isoDate', () => {
  it.each(['2020-02-29', '2000-02-29', '2019-02-28', '2019-12-31', '2019-01-01', '2019-04-30'])('accepts %s', (value) => {
    expect(isoDate(value)).toBe(value);
    expect(isExistingDate(value)).toBe(true);
  });

  it.each([
    '2019-02-29',
    '1900-02-29',
    '2019-02-30',
    '2019-04-31',
    '2019-06-31',
    '2019-13-01',
    '2019-00-10',
    '2019-01-00',
    '2019-01-32',
    '2019-1-1',
    '19-01-01',
    '2019-01-01T00:00',
    ' 2019-01-01',
    '',
  ])('refuses %j', (value) => {
    expect(() => isoDate(value)).toThrow(`expected an existing date as yyyy-mm-dd, got "${value}"`);
    expect(isExistingDate(value)).toBe(false);
  });
});

describe('isoInstant', () => {
  it.each([
    ['2020-02-29', '2020-02-29T00:00:00.000Z'],
    ['2020-02-29T23:59:59Z', '2020-02-29T23:59:59.000Z'],
    ['2020-02-29T23:59Z', '2020-02-29T23:59:00.000Z'],
    ['2020-02-29T23:59:59.5Z', '2020-02-29T23:59:59.500Z'],
    ['2020-02-29T12:00:00+02:00', '2020-02-29T10:00:00.000Z'],
    ['2020-03-01T01:00-01:30', '2020-03-01T02:30:00.000Z'],
  ])('accepts %s as %s', (value, iso) => {
    expect(isoInstant(value)).toBe(iso);
    expect(parseIsoInstant(value)).toBe(Date.parse(iso));
  });

  it('reads a time without an offset as local time, as Date.parse does', () => {
    expect(isoInstant('2020-02-29T12:00')).toBe(new Date(2020, 1, 29, 12, 0).toISOString());
  });

  it.each([
    '2019-02-29',
    '2019-02-30T10:00:00Z',
    '2019-04-31T00:00Z',
    '2019-01-01T24:00:00Z',
    '2019-01-01T25:00',
    '2019-01-01T12:60Z',
    '2019-01-01T12:00:60Z',
    '2019-01-01T12Z',
    '2019-01-01T12:00:00+24:00',
    '2019-01-01T12:00:00+01:60',
    '2019-01-01 12:00:00Z',
    '2019-01-01T12:00:00z',
    '20190101',
    'yesterday',
    '1577836800000',
    '',
  ])('refuses %j', (value) => {
    expect(() => isoInstant(value)).toThrow(`expected an existing ISO date or date-time (2025-01-31, 2025-01-31T12:00:00Z), got "${value}"`);
    expect(parseIsoInstant(value)).toBeNaN();
  });
});

describe('list and seasons', () => {
  it.each([
    ['E0', ['E0']],
    ['E0,D1', ['E0', 'D1']],
    [' E0 , D1 ', ['E0', 'D1']],
    ['E0,', ['E0']],
  ])('list(%j) is %j', (value, expected) => {
    expect(list(value)).toEqual(expected);
  });

  it.each(['', ',', ' ', ' , ', ',,'])('list(%j) is refused: an empty list is not "all"', (value) => {
    expect(() => list(value)).toThrow(`expected a non-empty comma-separated list, got "${value}"`);
    expect(() => seasons(value)).toThrow(`expected a non-empty comma-separated list, got "${value}"`);
  });

  it('seasons checks each item', () => {
    expect(seasons('2018-2019,2019-2020')).toEqual(['2018-2019', '2019-2020']);
    expect(() => seasons('2018-2019,2019-2021')).toThrow('expected a season like 2019-2020, got "2019-2021"');
  });
});

describe('requireOrdered', () => {
  it('accepts a range of one day, an open range and an ordered one', () => {
    expect(() => requireOrdered('--from', '2020-02-29', '--to', '2020-02-29')).not.toThrow();
    expect(() => requireOrdered('--from', '2020-02-29', '--to', undefined)).not.toThrow();
    expect(() => requireOrdered('--from', undefined, '--to', '2020-02-29')).not.toThrow();
    expect(() => requireOrdered('--from', '2019-12-31', '--to', '2020-01-01')).not.toThrow();
  });

  it('refuses a reversed range with a usage error naming both flags', () => {
    const attempt = () => requireOrdered('--train-from', '2020-01-01', '--train-until', '2019-01-01');
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow('--train-from 2020-01-01 is after --train-until 2019-01-01');
  });
});
