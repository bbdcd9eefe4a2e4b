// planChunk: which rows insert, update (in place or moving a rescheduled match) or change nothing; shared by both writers.
import { describe, expect, it } from 'vitest';
import type { MatchStatus } from '../../src/ingest/football-data/types.js';
import { planChunk, type PlanRow, type StoredMatch } from '../../src/store/ingest-plan.js';
import { record } from '../helpers/records.js';

const P = 'E0|2020-2021|1|2';

function row(date: string, status: MatchStatus, hash: string, extra: { pairing?: string; exactKeyOnly?: boolean } = {}): PlanRow {
  const played = status === 'finished';
  const r = record({ date, status, fthg: played ? 1 : null, ftag: played ? 0 : null, ftr: played ? 'H' : null });
  return { pairing: extra.pairing ?? P, write: { record: r, hash, exactKeyOnly: extra.exactKeyOnly } };
}
const stored = (...matches: (StoredMatch & { pairing?: string })[]) => {
  const map = new Map<string, StoredMatch[]>();
  for (const { pairing = P, ...m } of matches) map.set(pairing, [...(map.get(pairing) ?? []), m]);
  return map;
};
const m = (id: number, date: string, status: string, hash: string): StoredMatch => ({ id, date, status, hash });

describe('planChunk', () => {
  it('same natural key: unchanged on an equal hash, else an update of that match', () => {
    expect(planChunk([row('2020-09-12', 'finished', 'h1')], stored(m(7, '2020-09-12', 'finished', 'h1')))).toEqual({
      writes: [],
      inserted: 0,
      updated: 0,
      unchanged: 1,
    });
    expect(planChunk([row('2020-09-12', 'finished', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual({
      writes: [{ row: 0, id: 7, previousHash: 'h1' }],
      inserted: 0,
      updated: 1,
      unchanged: 0,
    });
  });

  it('never turns a finished match back into a scheduled one', () => {
    expect(planChunk([row('2020-09-12', 'scheduled', 'h2')], stored(m(7, '2020-09-12', 'finished', 'h1')))).toMatchObject({
      writes: [],
      unchanged: 1,
    });
  });

  it('moves the one unplayed match of the pairing to a new date (rescheduled), keeping its id', () => {
    const plan = planChunk([row('2020-10-03', 'finished', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h1')));
    expect(plan).toEqual({ writes: [{ row: 0, id: 7, previousHash: 'h1' }], inserted: 0, updated: 1, unchanged: 0 });
    // A fixture whose date changed moves too.
    expect(planChunk([row('2020-10-03', 'scheduled', 'h2')], stored(m(7, '2020-09-12', 'scheduled', 'h1'))).writes).toEqual([
      { row: 0, id: 7, previousHash: 'h1' },
    ]);
  });

  it('does not merge a row into a finished match, or into one of two unplayed ones, or into another pairing', () => {
    const insert = { writes: [{ row: 0, id: null }], inserted: 1, updated: 0, unchanged: 0 };
    expect(planChunk([row('2021-02-20', 'finished', 'h2')], stored(m(7, '2020-09-12', 'finished', 'h1')))).toEqual(insert);
    const two = stored(m(7, '2020-09-12', 'scheduled', 'h1'), m(8, '2021-02-20', 'scheduled', 'h3'));
    expect(planChunk([row('2020-10-03', 'finished', 'h2')], two)).toEqual(insert);
    const other = stored(
      { ...m(7, '2020-09-12', 'scheduled', 'h1'), pairing: 'E0|2020-2021|2|1' },
      { ...m(8, '2020-09-12', 'scheduled', 'h1'), pairing: 'E0|2019-2020|1|2' },
    );
    expect(planChunk([row('2020-10-03', 'finished', 'h2')], other)).toEqual(insert);
    expect(planChunk([row('2020-10-03', 'finished', 'h2', { exactKeyOnly: true })], stored(m(7, '2020-09-12', 'scheduled', 'h1')))).toEqual(insert);
  });

  it('writes nothing for a stale fixture: its pairing was played after its date', () => {
    expect(planChunk([row('2020-09-12', 'scheduled', 'h2')], stored(m(7, '2020-10-03', 'finished', 'h1')))).toMatchObject({ writes: [], unchanged: 1 });
    // Played before its date: a later meeting of the pairing (leagues that play it twice), so a new match.
    expect(planChunk([row('2021-02-20', 'scheduled', 'h2')], stored(m(7, '2020-10-03', 'finished', 'h1')))).toMatchObject({ inserted: 1 });
  });

  it('applies rows in order within a chunk: a fixture inserted, then its result on another date, is one match', () => {
    const plan = planChunk([row('2020-09-12', 'scheduled', 'h1'), row('2020-10-03', 'finished', 'h2')], new Map());
    expect(plan).toEqual({ writes: [{ row: 1, id: null }], inserted: 1, updated: 1, unchanged: 0 });
  });
});

// ---- properties, on an in-memory store that applies plans as the writers do ----

interface Match {
  id: number;
  pairing: string;
  date: string;
  status: string;
  hash: string;
}

function apply(store: Match[], rows: PlanRow[], nextId: { n: number }): { inserted: number; updated: number; unchanged: number } {
  const known = new Map<string, StoredMatch[]>();
  for (const x of store) known.set(x.pairing, [...(known.get(x.pairing) ?? []), { id: x.id, date: x.date, status: x.status, hash: x.hash }]);
  const plan = planChunk(rows, known);
  const finishedBefore = store.filter((x) => x.status === 'finished').map((x) => ({ ...x }));
  for (const w of plan.writes) {
    const r = rows[w.row]!;
    const content = { pairing: r.pairing, date: r.write.record.date, status: r.write.record.status, hash: r.write.hash };
    if (w.id === null) store.push({ id: nextId.n++, ...content });
    else Object.assign(store.find((x) => x.id === w.id)!, content);
  }
  const keys = store.map((x) => `${x.pairing}|${x.date}`);
  expect(new Set(keys).size, 'natural keys stay unique').toBe(keys.length);
  for (const f of finishedBefore) {
    expect(
      store.find((x) => x.id === f.id),
      'a finished match never moves or becomes unplayed',
    ).toMatchObject({ date: f.date, status: 'finished' });
  }
  return plan;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PAIRINGS = ['c|s|1|2', 'c|s|2|1', 'c|s|3|4'];
const DATES = ['2020-08-01', '2020-08-08', '2020-08-15', '2020-08-22', '2020-08-29', '2020-09-05'];

/**
 * A file of unique keys, with exactKeyOnly set as the collect pipeline sets it. `pairingsInDateOrder`: each pairing's
 * rows come in date order (rows of different pairings still interleave at random), as in football-data's files.
 */
function randomFile(next: () => number, pairingsInDateOrder: boolean): PlanRow[] {
  const keys = new Set<string>();
  const rows: PlanRow[] = [];
  const n = 1 + Math.floor(next() * 8);
  for (let i = 0; i < n; i++) {
    const pairing = PAIRINGS[Math.floor(next() * PAIRINGS.length)]!;
    const date = DATES[Math.floor(next() * DATES.length)]!;
    if (keys.has(`${pairing}|${date}`)) continue;
    keys.add(`${pairing}|${date}`);
    rows.push(row(date, next() < 0.5 ? 'scheduled' : 'finished', `v${Math.floor(next() * 3)}`, { pairing }));
  }
  if (pairingsInDateOrder) {
    const byPairing = new Map<string, PlanRow[]>();
    for (const r of rows) byPairing.set(r.pairing, [...(byPairing.get(r.pairing) ?? []), r]);
    for (const list of byPairing.values()) list.sort((a, b) => (a.write.record.date < b.write.record.date ? -1 : 1));
    const taken = new Map<string, number>();
    rows.forEach((r, i) => {
      const k = taken.get(r.pairing) ?? 0;
      rows[i] = byPairing.get(r.pairing)![k]!;
      taken.set(r.pairing, k + 1);
    });
  }
  const unplayed = new Set<string>();
  return rows.map((r) => {
    if (r.write.record.status !== 'scheduled') return r;
    const again = unplayed.has(r.pairing);
    unplayed.add(r.pairing);
    return { ...r, write: { ...r.write, exactKeyOnly: again } };
  });
}

function randomStore(next: () => number): Match[] {
  const store: Match[] = [];
  for (const pairing of PAIRINGS) {
    for (const date of DATES) {
      if (next() < 0.2) store.push({ id: store.length + 1, pairing, date, status: next() < 0.5 ? 'scheduled' : 'finished', hash: 'old' });
    }
  }
  return store;
}

describe('planChunk properties (seeded, 2,000 random files)', () => {
  it('the outcome does not depend on where chunks end (so a resumed collect ends as an uninterrupted one)', () => {
    const next = lcg(20200912);
    for (let t = 0; t < 2000; t++) {
      const initial = randomStore(next);
      const file = randomFile(next, next() < 0.5);
      const whole = initial.map((x) => ({ ...x }));
      const totals = apply(whole, file, { n: 1000 });
      const split = initial.map((x) => ({ ...x }));
      const id = { n: 1000 };
      const sum = { inserted: 0, updated: 0, unchanged: 0 };
      for (let start = 0; start < file.length; ) {
        const end = start + 1 + Math.floor(next() * file.length);
        const c = apply(split, file.slice(start, end), id);
        sum.inserted += c.inserted;
        sum.updated += c.updated;
        sum.unchanged += c.unchanged;
        start = end;
      }
      expect(split, `file ${t}`).toEqual(whole);
      expect(sum).toEqual({ inserted: totals.inserted, updated: totals.updated, unchanged: totals.unchanged });
    }
  });

  it("collecting a file again changes nothing, when each pairing's rows are in date order", () => {
    const next = lcg(7);
    for (let t = 0; t < 2000; t++) {
      const store = randomStore(next);
      const file = randomFile(next, true);
      apply(store, file, { n: 1000 });
      const after = store.map((x) => ({ ...x }));
      expect(apply(store, file, { n: 2000 }), `file ${t}`).toMatchObject({ inserted: 0, updated: 0, unchanged: file.length });
      expect(store).toEqual(after);
    }
  });
});
