// Hand-built records for store tests that must not depend on the parser.
import type { MatchRecord, MatchStats, OddsQuote } from '../../src/ingest/football-data/types.js';

const NO_STATS: MatchStats = {
  homeShots: null,
  awayShots: null,
  homeShotsOnTarget: null,
  awayShotsOnTarget: null,
  homeWoodwork: null,
  awayWoodwork: null,
  homeCorners: null,
  awayCorners: null,
  homeFouls: null,
  awayFouls: null,
  homeFreeKicksConceded: null,
  awayFreeKicksConceded: null,
  homeOffsides: null,
  awayOffsides: null,
  homeYellow: null,
  awayYellow: null,
  homeRed: null,
  awayRed: null,
  homeBookingPoints: null,
  awayBookingPoints: null,
};

export function quote(overrides: Partial<OddsQuote> = {}): OddsQuote {
  return { bookmaker: 'B365', market: '1x2', line: 0, kind: 'pre', home: 2.1, draw: 3.4, away: 3.6, over: null, under: null, ...overrides };
}

export function record(overrides: Partial<MatchRecord> = {}): MatchRecord {
  return {
    competition: 'E0',
    season: '2019-2020',
    date: '2019-08-09',
    time: '20:00',
    homeTeam: 'Liverpool',
    awayTeam: 'Norwich',
    status: 'finished',
    fthg: 4,
    ftag: 1,
    ftr: 'H',
    hthg: 4,
    htag: 0,
    htr: 'H',
    referee: 'M Oliver',
    attendance: null,
    stats: { ...NO_STATS, homeShots: 15, awayShots: 12 },
    odds: [quote(), quote({ bookmaker: 'PS', kind: 'closing', home: 1.14, draw: 10.5, away: 19 })],
    ...overrides,
  };
}
