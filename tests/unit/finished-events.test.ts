// finishingWrites: which planned writes of a football-data chunk emit match_finished (both writers use it).
import { describe, expect, it } from 'vitest';
import type { MatchStatus } from '../../src/ingest/football-data/types.js';
import { finishedPayload, finishingWrites } from '../../src/store/finished-events.js';
import { planChunk, type PlanRow, type StoredMatch } from '../../src/store/ingest-plan.js';
import { record } from '../helpers/records.js';

const P = 'E0|2020-2021|1|2';

function row(date: string, status: MatchStatus, hash: string, pairing = P): PlanRow {
  const played = status === 'finished';
  const r = record({ date, status, fthg: played ? 2 : null, ftag: played ? 1 : null, ftr: played ? 'H' : null });
  return { pairing, write: { record: r, hash } };
}
const stored = (...matches: StoredMatch[]) => new Map([[P, matches]]);
const m = (id: number, date: string, status: string, hash: string): StoredMatch => ({ id, date, status, hash });
const finishing = (rows: PlanRow[], before: Map<string, StoredMatch[]>) =>
  finishingWrites(
    planChunk(rows, before),
    before,
    rows.map((r) => r.write),
  );

describe('finishingWrites', () => {
  it('a stored fixture (or a match a feed left live) given a result: one event', () => {
    expect(finishing([row('2020-09-12', 'finished', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual([{ row: 0, id: 7 }]);
    expect(finishing([row('2020-09-12', 'finished', 'h2')], stored(m(7, '2020-09-12', 'live', 'feed:x')))).toEqual([{ row: 0, id: 7 }]);
  });

  it('a rescheduled fixture played on another date keeps its id: one event', () => {
    expect(finishing([row('2020-09-15', 'finished', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual([{ row: 0, id: 7 }]);
  });

  it('nothing for a match inserted played, a corrected score, a fixture updated as a fixture, or an unchanged row', () => {
    expect(finishing([row('2020-09-12', 'finished', 'h2')], new Map())).toEqual([]);
    expect(finishing([row('2020-09-12', 'finished', 'h3')], stored(m(7, '2020-09-12', 'finished', 'h2')))).toEqual([]);
    expect(finishing([row('2020-09-12', 'scheduled', 'h3')], stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual([]);
    expect(finishing([row('2020-09-12', 'finished', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h2')))).toEqual([]);
  });

  it('a fixture and its result in one chunk: the result row, once', () => {
    const rows = [row('2020-09-12', 'scheduled', 'h2'), row('2020-09-12', 'finished', 'h3')];
    expect(finishing(rows, stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual([{ row: 1, id: 7 }]);
  });
});

describe('finishedPayload', () => {
  it("has the feed payload's keys, the file's result and its source", () => {
    const p = JSON.parse(finishedPayload(7, row('2020-09-12', 'finished', 'h').write, 'Fulham', 'Arsenal', '/data/E0.csv')) as Record<string, unknown>;
    expect(p).toMatchObject({ matchId: 7, date: '2020-09-12', homeTeam: 'Fulham', awayTeam: 'Arsenal', homeGoals: 2, awayGoals: 1, provider: null });
    expect(p.source).toEqual({ kind: 'football-data', file: '/data/E0.csv' });
  });
});
