/**
 * The online feature store: a feature set's state (src/ml/features/online.ts) replayed from the store once, kept in
 * memory, and brought up to date from the store when results arrive. Change detection compares each match's row
 * hash with the one last seen, over the rows updated recently (a lookback, since a transaction that committed late
 * can carry an older updated_at): new results after the frontier are folded in; a change at or before it (a
 * corrected score, a late result of an already processed date) replays everything, which is exact and takes about
 * a second per 25,000 matches.
 */
import type { FeatureSetDefinition } from '../src/ml/features/definition.js';
import { OnlineFeatures } from '../src/ml/features/online.js';
import type { MatchFact } from '../src/ml/types.js';
import type { Store } from '../src/store/connect.js';
import { loadMatchFacts } from '../src/store/match-facts.js';
import { resolveFeatureSet } from './features.js';

/** How far back the change poll looks, so a transaction that committed after a later one is still seen. */
const LOOKBACK_MS = 10 * 60_000;

/** What one refresh did. */
export interface RefreshResult {
  mode: 'unchanged' | 'advanced' | 'replayed';
  /** Matches found changed (new, rescored, re-dated, new odds). */
  changed: number;
  /** Results in the state afterwards. */
  results: number;
  frontier: string | null;
  ms: number;
}

export class OnlineFeatureStore {
  private online: OnlineFeatures;
  /** match id → row_hash last folded in: what the change poll compares with. */
  private hashes: Map<number, string>;
  private polledFrom: number;
  /** When the state last matched the store (ms since epoch). */
  private syncedAt: number;
  /** A refresh in flight, so concurrent callers share it. */
  private running: Promise<RefreshResult> | null = null;

  private constructor(
    private readonly store: Store,
    readonly definition: FeatureSetDefinition,
    built: { online: OnlineFeatures; hashes: Map<number, string>; startedAt: number },
  ) {
    this.online = built.online;
    this.hashes = built.hashes;
    this.polledFrom = built.startedAt;
    this.syncedAt = built.startedAt;
  }

  /** Replays the store's matches for feature set ref ("core@1"). */
  static async open(store: Store, ref: string | FeatureSetDefinition): Promise<OnlineFeatureStore> {
    const def = typeof ref === 'string' ? resolveFeatureSet(ref) : ref;
    return new OnlineFeatureStore(store, def, await build(store, def));
  }

  /** "core@1". */
  get ref(): string {
    return `${this.definition.name}@${this.definition.version}`;
  }

  /** Feature names, in vector order. */
  get names(): readonly string[] {
    return this.online.names;
  }

  /** The latest date of a result in the state: vectors are served for later dates only. */
  get frontier(): string | null {
    return this.online.frontier;
  }

  /** Results in the state. */
  get results(): number {
    return this.online.results;
  }

  /** When the state was last known to match the store (ms since epoch). */
  get lastSynced(): number {
    return this.syncedAt;
  }

  /** A coming match (dated after the frontier) by id, as the store held it at the last refresh. */
  match(id: number): MatchFact | undefined {
    return this.online.match(id);
  }

  /** The coming match of this competition, date and pairing, if the store holds it. */
  fixture(competition: string, date: string, homeTeam: number, awayTeam: number): MatchFact | undefined {
    return this.online.fixture(competition, date, homeTeam, awayTeam);
  }

  /** Coming matches, sorted by date, kick-off and id. */
  upcoming(): MatchFact[] {
    return this.online.upcomingMatches();
  }

  /** The vector of a match dated after the frontier (see OnlineFeatures.vector). */
  vector(m: MatchFact, out?: Float64Array): Float64Array {
    return this.online.vector(m, out);
  }

  /** A state as of `date`, replayed from the store (for a match the live state has moved past). */
  async asOf(date: string): Promise<OnlineFeatures> {
    return OnlineFeatures.asOf(await loadMatchFacts(this.store, { until: date }), this.definition, date);
  }

  /** Brings the state up to date with the store; concurrent calls share one refresh. */
  refresh(): Promise<RefreshResult> {
    this.running ??= this.doRefresh().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doRefresh(): Promise<RefreshResult> {
    const started = Date.now();
    const since = new Date(this.polledFrom - LOOKBACK_MS).toISOString();
    const rows = await this.store.db.selectFrom('matches').select(['id', 'row_hash', 'date']).where('updated_at', '>=', since).execute();
    const changed = rows.filter((r) => this.hashes.get(Number(r.id)) !== r.row_hash);
    const result = (mode: RefreshResult['mode']): RefreshResult => {
      this.polledFrom = started;
      this.syncedAt = started;
      return { mode, changed: changed.length, results: this.online.results, frontier: this.online.frontier, ms: Date.now() - started };
    };
    if (changed.length === 0) return result('unchanged');
    const frontier = this.online.frontier;
    if (frontier === null || changed.every((r) => r.date > frontier)) {
      const facts = await loadMatchFacts(this.store, frontier === null ? {} : { after: frontier });
      // Everything after the frontier goes in (advance replaces by id), so an earlier-missed match cannot linger.
      this.online.advance(facts);
      for (const r of changed) this.hashes.set(Number(r.id), r.row_hash);
      return result('advanced');
    }
    const rebuilt = await build(this.store, this.definition);
    this.online = rebuilt.online;
    this.hashes = rebuilt.hashes;
    return result('replayed');
  }
}

/** Replays every match of the store; the hashes are read first, so a change made during the replay is seen next time. */
async function build(store: Store, def: FeatureSetDefinition): Promise<{ online: OnlineFeatures; hashes: Map<number, string>; startedAt: number }> {
  const startedAt = Date.now();
  const hashes = new Map<number, string>();
  for (const r of await store.db.selectFrom('matches').select(['id', 'row_hash']).execute()) hashes.set(Number(r.id), r.row_hash);
  const online = OnlineFeatures.replay(await loadMatchFacts(store), def);
  return { online, hashes, startedAt };
}
