import { describe, expect, it } from 'vitest';
import { SeenKeys } from '../../src/ingest/seen-keys.js';
import { record } from '../helpers/records.js';

describe('duplicate match keys within a file', () => {
  it('returns the first line of a repeated date + home + away, case-insensitively', () => {
    const seen = new SeenKeys();
    expect(seen.firstLine(record(), 2)).toBeUndefined();
    expect(seen.firstLine(record({ date: '2019-08-10' }), 3)).toBeUndefined();
    expect(seen.firstLine(record({ homeTeam: 'Norwich', awayTeam: 'Liverpool' }), 4)).toBeUndefined();
    expect(seen.firstLine(record({ homeTeam: 'LIVERPOOL' }), 9)).toBe(2);
    expect(seen.firstLine(record(), 10)).toBe(2);
  });

  it('keys by competition and season too: a fixtures file holds several', () => {
    const seen = new SeenKeys();
    expect(seen.firstLine(record(), 2)).toBeUndefined();
    expect(seen.firstLine(record({ competition: 'E1' }), 3)).toBeUndefined();
    expect(seen.firstLine(record({ season: '2020-2021' }), 4)).toBeUndefined();
    expect(seen.firstLine(record({ competition: 'E1' }), 5)).toBe(3);
    expect(seen.firstLine(record(), 6)).toBe(2);
  });

  it('returns the first unplayed row of a pairing (competition, season, home, away), whatever the date', () => {
    const seen = new SeenKeys();
    const fixture = (overrides: Parameters<typeof record>[0]) => record({ status: 'scheduled', fthg: null, ftag: null, ...overrides });
    expect(seen.firstUnplayedLine(fixture({ date: '2019-08-09' }), 2)).toBeUndefined();
    expect(seen.firstUnplayedLine(fixture({ homeTeam: 'Norwich', awayTeam: 'Liverpool' }), 3)).toBeUndefined();
    expect(seen.firstUnplayedLine(fixture({ competition: 'E1' }), 4)).toBeUndefined();
    expect(seen.firstUnplayedLine(fixture({ date: '2020-01-02', homeTeam: 'LIVERPOOL' }), 5)).toBe(2);
    expect(seen.firstUnplayedLine(fixture({ date: '2020-03-02', competition: 'E1' }), 6)).toBe(4);
  });

  it('keeps working past the packed-number range of team names', () => {
    const seen = new SeenKeys();
    for (let i = 0; i < 70_000; i++) seen.firstLine(record({ homeTeam: `T${i}`, awayTeam: `U${i}` }), i + 2);
    expect(seen.firstLine(record({ homeTeam: 'T69999', awayTeam: 'U69999' }), 99_999)).toBe(70_001);
    expect(seen.firstLine(record({ homeTeam: 'T1', awayTeam: 'U1' }), 99_999)).toBe(3);
  });
});
