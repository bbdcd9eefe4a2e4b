/** Building model datasets from the store: matches, their features, training windows and a data hash. */
import { createHash } from 'node:crypto';
import { UserError } from '../src/errors.js';
import type { Dataset } from '../src/ml/models/index.js';
import { outcomeOf, type MatchFact } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadMatchFacts } from '../src/store/match-facts.js';
import { featureMatrix } from './features.js';

export interface Universe {
  /** Every match in the store, sorted by date (feature state needs all of them). */
  facts: MatchFact[];
  featureSet: string;
  featureNames: string[];
  features: Map<number, Float64Array>;
}

/** Loads every match and brings the feature set's stored values up to date. */
export async function loadUniverse(store: Store, featureSet: string): Promise<Universe> {
  const facts = await loadMatchFacts(store);
  const { names, values } = await featureMatrix(store, featureSet, facts);
  return { facts, featureSet, featureNames: names, features: values };
}

export interface Window {
  competitions: readonly string[];
  /** Inclusive ISO dates. */
  from?: string;
  until?: string;
  /** Exclusive upper bound (walk-forward origins). */
  before?: string;
  finishedOnly: boolean;
}

/** The matches of a window, in date order. */
export function selectMatches(u: Universe, w: Window): MatchFact[] {
  const comps = new Set(w.competitions);
  return u.facts.filter(
    (m) =>
      (comps.size === 0 || comps.has(m.competition)) &&
      (w.from === undefined || m.date >= w.from) &&
      (w.until === undefined || m.date <= w.until) &&
      (w.before === undefined || m.date < w.before) &&
      (!w.finishedOnly || outcomeOf(m) !== null),
  );
}

/** A model Dataset over the given matches. */
export function toDataset(u: Universe, matches: MatchFact[]): Dataset {
  return {
    X: matches.map((m) => {
      const v = u.features.get(m.id);
      if (!v) throw new Error(`no ${u.featureSet} features for match ${m.id}`);
      return v;
    }),
    featureNames: u.featureNames,
    matches,
  };
}

/** The training matches of a window, or a UserError saying why there are none. */
export function trainingMatches(u: Universe, w: Window): MatchFact[] {
  const known = new Set(u.facts.map((m) => m.competition));
  const unknown = w.competitions.filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw new UserError(`no matches of ${unknown.join(', ')} in the store`, {
      hint: `collect them first; the store has ${[...known].sort().join(', ') || 'no matches'}`,
    });
  }
  const matches = selectMatches(u, { ...w, finishedOnly: true });
  if (matches.length === 0) {
    const span = [w.from && `from ${w.from}`, w.until && `until ${w.until}`, w.before && `before ${w.before}`].filter(Boolean).join(' ');
    throw new UserError(`empty training window: no finished matches of ${w.competitions.join(', ')}${span ? ` ${span}` : ''}`, {
      hint: 'widen --train-from/--train-until or collect more seasons',
    });
  }
  return matches;
}

/** sha256 over the training rows (ids, dates, teams, goals) and their feature vectors: identifies the data a model saw. */
export function dataHash(data: Dataset): string {
  const hash = createHash('sha256');
  data.matches.forEach((m, i) => {
    hash.update(`${m.id}|${m.date}|${m.homeTeam}|${m.awayTeam}|${m.homeGoals}|${m.awayGoals}\n`);
    const x = data.X[i];
    if (x) hash.update(Buffer.from(x.buffer, x.byteOffset, x.byteLength));
  });
  return hash.digest('hex');
}
