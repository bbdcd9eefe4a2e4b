/**
 * The online side of the feature store: the forward pass of engine.ts kept alive in memory, so the vector of a coming
 * match is a lookup, and new results are folded in as they arrive instead of replaying history.
 *
 * The state has processed every date up to its frontier (the latest date with a played match it knows of): each such
 * date's matches were written, then its results applied, exactly as computeFeatures does. A match dated after the
 * frontier is read from that state without changing it (FeatureState.read), which is what the offline pass would
 * write for it: the dates between the frontier and the match hold no results, so they change nothing the match sees.
 * That equality is the train/serve contract, checked on real seasons by tests/integration/online-features.test.ts.
 */
import type { MatchFact } from '../types.js';
import type { FeatureSetDefinition } from './definition.js';
import { checkMatches, compareMatches, dayNumber, FeatureState, forEachDate } from './engine.js';
import { isPlayed } from './group.js';

/** A match at or before the frontier was asked for, or fed in: the state cannot serve it without a replay. */
export class BeforeFrontier extends RangeError {
  override readonly name = 'BeforeFrontier';
  constructor(
    readonly matchDate: string,
    readonly frontier: string,
    what: string,
  ) {
    super(`${what} is dated ${matchDate}, not after the latest result the feature state holds (${frontier})`);
  }
}

/** Counts of one advance. */
export interface AdvanceResult {
  /** Dates processed (written, then their results applied). */
  dates: number;
  /** Results applied. */
  results: number;
}

export class OnlineFeatures {
  readonly names: string[];
  private readonly state: FeatureState;
  private frontierDate: string | null = null;
  /** Known matches dated after the frontier, by id: the ones a lookup by id finds, and the ones advance processes. */
  private readonly upcoming = new Map<number, MatchFact>();
  /** pairingKey → id of an upcoming match, for requests that name a fixture by its teams and date. */
  private readonly fixtures = new Map<string, number>();
  private resultsApplied = 0;

  private constructor(readonly definition: FeatureSetDefinition) {
    this.state = new FeatureState(definition);
    this.names = this.state.names;
  }

  /**
   * Replays facts (every match the store holds, any order) once: every date up to the latest played one is processed;
   * later matches are kept as upcoming.
   */
  static replay(facts: readonly MatchFact[], def: FeatureSetDefinition): OnlineFeatures {
    const online = new OnlineFeatures(def);
    online.advance(facts);
    return online;
  }

  /** The latest date processed (null before any result): lookups must be dated after it. */
  get frontier(): string | null {
    return this.frontierDate;
  }

  /** How many results the state holds. */
  get results(): number {
    return this.resultsApplied;
  }

  /** The upcoming match with this id (dated after the frontier), if known. */
  match(id: number): MatchFact | undefined {
    return this.upcoming.get(id);
  }

  /** The upcoming match of this competition, date and pairing, if known. */
  fixture(competition: string, date: string, homeTeam: number, awayTeam: number): MatchFact | undefined {
    const id = this.fixtures.get(pairingKey(competition, date, homeTeam, awayTeam));
    return id === undefined ? undefined : this.upcoming.get(id);
  }

  /** Every known upcoming match, sorted by date, kickoff and id. */
  upcomingMatches(): MatchFact[] {
    return [...this.upcoming.values()].sort(compareMatches);
  }

  /**
   * Folds in new or changed matches dated after the frontier (a match seen before is replaced by its new version):
   * every date up to the latest played one among all upcoming matches is processed, moving the frontier there.
   * A match dated at or before the frontier throws BeforeFrontier and changes nothing: the caller replays instead.
   */
  advance(facts: readonly MatchFact[]): AdvanceResult {
    const days = checkMatches(facts, 'online features');
    if (this.frontierDate !== null) {
      for (const m of facts) if (m.date <= this.frontierDate) throw new BeforeFrontier(m.date, this.frontierDate, `match ${m.id}`);
    }
    for (const m of facts) {
      const old = this.upcoming.get(m.id);
      if (old) this.fixtures.delete(pairingKey(old.competition, old.date, old.homeTeam, old.awayTeam));
      this.upcoming.set(m.id, m);
      this.fixtures.set(pairingKey(m.competition, m.date, m.homeTeam, m.awayTeam), m.id);
    }
    let last: string | null = null;
    for (const m of this.upcoming.values()) if (isPlayed(m) && (last === null || m.date > last)) last = m.date;
    if (last === null) return { dates: 0, results: 0 };
    const due = [...this.upcoming.values()].filter((m) => m.date <= last).sort(compareMatches);
    let dates = 0;
    let results = 0;
    forEachDate(due, days, (same, day) => {
      this.state.step(same, day);
      dates++;
      for (const m of same) {
        this.upcoming.delete(m.id);
        this.fixtures.delete(pairingKey(m.competition, m.date, m.homeTeam, m.awayTeam));
        if (isPlayed(m)) results++;
      }
    });
    this.frontierDate = last;
    this.resultsApplied += results;
    return { dates, results };
  }

  /**
   * The vector of m as of its kick-off, from the state, without changing it. m's own result (if any) is never read;
   * m must be dated after the frontier (else BeforeFrontier: see asOf).
   */
  vector(m: MatchFact, out?: Float64Array): Float64Array {
    if (this.frontierDate !== null && m.date <= this.frontierDate) throw new BeforeFrontier(m.date, this.frontierDate, `match ${m.id}`);
    return this.state.read(m, dayNumber(m.date), out);
  }

  /**
   * A state as of `date` (every result dated before it, nothing later), replayed from facts: for a match the live
   * state has moved past. Costs a replay of history; callers cache or refuse it where that matters (the service).
   */
  static asOf(facts: readonly MatchFact[], def: FeatureSetDefinition, date: string): OnlineFeatures {
    dayNumber(date);
    const online = new OnlineFeatures(def);
    // Unplayed earlier matches go in too: the offline pass wrote them on their dates, which can fix a new season's
    // Elo reference earlier than its first result does.
    online.advance(facts.filter((m) => m.date < date));
    return online;
  }
}

function pairingKey(competition: string, date: string, homeTeam: number, awayTeam: number): string {
  return `${competition}|${date}|${homeTeam}|${awayTeam}`;
}
