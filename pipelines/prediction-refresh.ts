/**
 * Prediction refresh: when a match finishes (a `match_finished` outbox event), the stored predictions of coming
 * matches whose inputs that result moved are recomputed with the given model, appended to the predictions table
 * (source 'refresh'; older rows stay: the table is a history), and announced by one `prediction_updated` event per
 * refreshed match. Exactly once in effect across processes and crashes: a lease, a cursor and a receipt per event
 * (src/predict/event-consumer.ts), written in the one transaction that writes the predictions and events, plus a
 * unique dedupe key per (consumer, coming match, newest cause). Never prints: what happened is returned and told to
 * onProgress.
 *
 * Which coming matches depend on a result: those scheduled after it (not live, not played) in its competition or
 * involving either of its teams, whose feature vector, computed from the feature state once the result is folded in,
 * differs from the one their latest stored prediction was made from (same feature set). For the core sets that is
 * the two teams' next matches (Elo, pi-ratings, form, rest, head-to-head are per team), plus every coming match of the
 * competition when a set keeps competition-wide state that the result moved (core@2's shot ratings). A model that
 * reads no features (Dixon–Coles alone) refreshes nothing: its forecasts move only when it is refitted.
 */
import { randomUUID } from 'node:crypto';
import type { MatchFact } from '../src/ml/types.js';
import { commitReceipts, pendingEvents, releaseLease, takeLease, type OutboxEvent } from '../src/predict/event-consumer.js';
import type { LoadedModel } from '../src/predict/model.js';
import { PREDICTION_COLUMNS } from '../src/predict/predictions.js';
import type { Store } from '../src/store/connect.js';
import { predictionRows, type Forecast, type PreparedInput, type Predictor } from './predict.js';

/** The consumer name the service and `oracx predictions refresh` share by default: one of them handles each event. */
export const REFRESH_CONSUMER = 'prediction_refresh';

export interface RefreshOptions {
  /** The model that recomputes (the service's champion). */
  model: LoadedModel;
  /** The feature state and directory of the model's feature set; refreshed from the store first. */
  predictor: Predictor;
  consumer?: string;
  /** This process's lease token (default pid + random). */
  owner?: string;
  /** Lease length; a holder that dies frees it after this (default 60 s). */
  leaseMs?: number;
  /** Events handled per transaction (default 200). */
  batch?: number;
  onProgress?: (event: RefreshProgress) => void;
  /** Called inside the transaction once predictions, events and receipts are written (tests simulate a crash here). */
  beforeCommit?: () => void | Promise<void>;
}

export type RefreshProgress =
  | { type: 'skipped'; eventId: number; matchId: number | null; reason: string }
  | { type: 'refreshed'; eventId: number; matchId: number; coming: number[] }
  | { type: 'batch'; events: number; refreshed: number; ms: number };

/** What one pass did. */
export interface RefreshResult {
  consumer: string;
  /** false: another process held the lease, nothing was done. */
  leased: boolean;
  /** match_finished events handled (refreshed or skipped). */
  events: number;
  /** Prediction rows appended (= prediction_updated events emitted). */
  refreshed: number;
  skipped: Array<{ eventId: number; matchId: number | null; reason: string }>;
  ms: number;
}

interface Finished {
  event: OutboxEvent;
  matchId: number;
  competition: string;
  date: string;
  homeTeam: number;
  awayTeam: number;
  summary: Record<string, unknown>;
}

interface Latest {
  id: number;
  p: { home: number; draw: number; away: number };
  uri: string;
  featureSet: string;
  inputsHash: string;
  createdAt: string;
}

/** One pass: handles every pending match_finished event (in batches), or nothing when another process holds the lease. */
export async function refreshPredictions(store: Store, o: RefreshOptions): Promise<RefreshResult> {
  const started = Date.now();
  const consumer = o.consumer ?? REFRESH_CONSUMER;
  const owner = o.owner ?? `${process.pid}:${randomUUID()}`;
  const leaseMs = o.leaseMs ?? 60_000;
  const result: RefreshResult = { consumer, leased: false, events: 0, refreshed: 0, skipped: [], ms: 0 };
  if (!(await takeLease(store, consumer, owner, leaseMs))) return { ...result, ms: Date.now() - started };
  result.leased = true;
  try {
    for (;;) {
      const events = await pendingEvents(store, consumer, 'match_finished', o.batch ?? 200);
      if (events.length === 0) break;
      const batchStarted = Date.now();
      await o.predictor.features.refresh();
      const done = await handleBatch(store, o, consumer, owner, events);
      result.events += events.length;
      result.refreshed += done.refreshed;
      result.skipped.push(...done.skipped);
      o.onProgress?.({ type: 'batch', events: events.length, refreshed: done.refreshed, ms: Date.now() - batchStarted });
      if (!(await takeLease(store, consumer, owner, leaseMs))) break;
    }
  } finally {
    await releaseLease(store, consumer, owner).catch(() => undefined);
  }
  return { ...result, ms: Date.now() - started };
}

async function handleBatch(store: Store, o: RefreshOptions, consumer: string, owner: string, events: OutboxEvent[]) {
  const skipped: RefreshResult['skipped'] = [];
  const skip = (event: OutboxEvent, reason: string) => {
    skipped.push({ eventId: event.id, matchId: event.matchId, reason });
    o.onProgress?.({ type: 'skipped', eventId: event.id, matchId: event.matchId, reason });
  };
  const finished = await finishedMatches(store, events, skip);
  const { model, predictor } = o;
  const readsFeatures = model.metadata.inputs.some((i) => i.name === 'features');
  const scorable = (competition: string) => !model.metadata.competitions || model.metadata.competitions.includes(competition);

  // Coming matches each result may have moved, with the results that may have moved them.
  const causes = new Map<number, { match: MatchFact; by: Finished[] }>();
  for (const m of predictor.features.upcoming()) {
    if (m.homeGoals !== null || (m.status !== undefined && m.status !== 'scheduled')) continue;
    const teams = finished.filter((f) => f.date < m.date && [f.homeTeam, f.awayTeam].some((t) => t === m.homeTeam || t === m.awayTeam));
    const by = teams.length > 0 ? teams : finished.filter((f) => f.date < m.date && f.competition === m.competition);
    if (by.length > 0) causes.set(m.id, { match: m, by });
  }
  const latest = await latestPredictions(store, [...causes.keys()]);
  const inputs: PreparedInput[] = [];
  const why = new Map<number, string>();
  for (const [id, { match, by }] of causes) {
    const old = latest.get(id);
    if (!old) continue;
    if (!scorable(match.competition)) {
      for (const f of by)
        why.set(
          f.event.id,
          `${model.identity.uri} cannot score ${match.competition} (trained on ${model.metadata.competitions!.join(', ')}): match ${id} not refreshed`,
        );
      continue;
    }
    const input = predictor.prepareMatch(match);
    if (old.featureSet === predictor.features.ref && old.inputsHash === input.inputsHash) continue;
    inputs.push(input);
  }
  const forecasts: Forecast[] = readsFeatures ? await predictor.score(model, inputs) : [];

  const written = await store.db.transaction().execute(async (tx) => {
    const keyOf = (f: Forecast) => `prediction_updated:${consumer}:${f.matchId}:${Math.max(...causes.get(f.matchId!)!.by.map((c) => c.event.id))}`;
    // A key already present means this refresh was written before (the receipts guard against that too).
    const keys = forecasts.map(keyOf);
    const present = new Set(
      keys.length ? (await tx.selectFrom('events').select('dedupe_key').where('dedupe_key', 'in', keys).execute()).map((r) => r.dedupe_key) : [],
    );
    const fresh = forecasts.map((f, i) => ({ f, input: inputs[i]!, key: keys[i]! })).filter((x) => !present.has(x.key));
    const rows = predictionRows(
      fresh.map((x) => x.f),
      fresh.map((x) => x.input),
      { source: 'refresh' },
    );
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500).map((r) => Object.fromEntries(PREDICTION_COLUMNS.map((c) => [c, r[c] ?? null])) as typeof r);
      ids.push(...(await tx.insertInto('predictions').values(chunk).returning('id').execute()).map((r) => Number(r.id)));
    }
    const eventRows = fresh.map(({ f, key }, i) => {
      const old = latest.get(f.matchId!)!;
      const by = causes.get(f.matchId!)!.by;
      const payload = {
        matchId: f.matchId,
        competition: f.competition,
        season: f.season,
        date: f.date,
        homeTeam: f.home,
        awayTeam: f.away,
        old: { predictionId: old.id, probabilities: old.p, modelUri: old.uri, createdAt: old.createdAt },
        new: { predictionId: ids[i], probabilities: f.probabilities },
        model: { uri: f.model.uri, name: f.model.name, version: f.model.version, alias: f.model.alias },
        featureSet: f.featureSet,
        finishedMatchId: by[by.length - 1]!.matchId,
        causes: by.map((c) => ({ eventId: c.event.id, ...c.summary })),
      };
      return { type: 'prediction_updated' as const, match_id: f.matchId, dedupe_key: key, payload: JSON.stringify(payload) };
    });
    for (let i = 0; i < eventRows.length; i += 500)
      await tx
        .insertInto('events')
        .values(eventRows.slice(i, i + 500))
        .execute();
    const refreshedBy = new Map<number, number[]>();
    for (const { f } of fresh) for (const c of causes.get(f.matchId!)!.by) refreshedBy.set(c.event.id, [...(refreshedBy.get(c.event.id) ?? []), f.matchId!]);
    const receipts = events.map((e) => {
      const gone = skipped.find((s) => s.eventId === e.id);
      if (gone) return { eventId: e.id, outcome: 'skipped' as const, detail: gone.reason };
      const coming = refreshedBy.get(e.id);
      if (coming) return { eventId: e.id, outcome: 'refreshed' as const, detail: `refreshed match(es) ${coming.join(', ')}` };
      const reason =
        why.get(e.id) ??
        (readsFeatures
          ? 'no stored prediction of a coming match depends on it'
          : `${model.identity.uri} reads no features: results move its forecasts only when it is refitted`);
      return { eventId: e.id, outcome: 'skipped' as const, detail: reason };
    });
    await commitReceipts(tx, consumer, owner, receipts);
    await o.beforeCommit?.();
    return { refreshedBy, receipts, count: fresh.length };
  });
  for (const r of written.receipts) {
    const f = finished.find((x) => x.event.id === r.eventId);
    if (r.outcome === 'refreshed') o.onProgress?.({ type: 'refreshed', eventId: r.eventId, matchId: f!.matchId, coming: written.refreshedBy.get(r.eventId)! });
    else if (!skipped.some((s) => s.eventId === r.eventId)) skip(f?.event ?? events.find((e) => e.id === r.eventId)!, r.detail);
  }
  return { refreshed: written.count, skipped };
}

/** The finished matches the events name, as the store holds them now; an event whose match is gone is skipped. */
async function finishedMatches(store: Store, events: OutboxEvent[], skip: (e: OutboxEvent, reason: string) => void): Promise<Finished[]> {
  const ids = events.map((e) => e.matchId).filter((id): id is number => id !== null);
  const rows = ids.length
    ? await store.db
        .selectFrom('matches as m')
        .innerJoin('competitions as c', 'c.id', 'm.competition_id')
        .select(['m.id', 'c.code', 'm.date', 'm.home_team_id', 'm.away_team_id', 'm.fthg', 'm.ftag'])
        .where('m.id', 'in', ids)
        .execute()
    : [];
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const out: Finished[] = [];
  for (const e of events) {
    const row = e.matchId === null ? undefined : byId.get(e.matchId);
    if (!row) {
      skip(e, `match ${String(e.payload.matchId ?? e.matchId ?? '?')} of event ${e.id} is no longer in the store`);
      continue;
    }
    const p = e.payload;
    out.push({
      event: e,
      matchId: Number(row.id),
      competition: row.code,
      date: String(row.date).slice(0, 10),
      homeTeam: Number(row.home_team_id),
      awayTeam: Number(row.away_team_id),
      summary: {
        matchId: Number(row.id),
        date: String(row.date).slice(0, 10),
        homeTeam: p.homeTeam ?? null,
        awayTeam: p.awayTeam ?? null,
        homeGoals: row.fthg,
        awayGoals: row.ftag,
      },
    });
  }
  return out;
}

/** The newest stored prediction of each match. */
async function latestPredictions(store: Store, matchIds: number[]): Promise<Map<number, Latest>> {
  const out = new Map<number, Latest>();
  for (let i = 0; i < matchIds.length; i += 500) {
    const chunk = matchIds.slice(i, i + 500);
    const rows = await store.db
      .selectFrom('predictions')
      .select(['id', 'match_id', 'p_home', 'p_draw', 'p_away', 'model_uri', 'feature_set', 'inputs_hash', 'created_at'])
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('predictions')
          .select((e) => e.fn.max('id').as('id'))
          .where('match_id', 'in', chunk)
          .groupBy('match_id'),
      )
      .execute();
    for (const r of rows) {
      out.set(Number(r.match_id), {
        id: Number(r.id),
        p: { home: r.p_home, draw: r.p_draw, away: r.p_away },
        uri: r.model_uri,
        featureSet: r.feature_set,
        inputsHash: r.inputs_hash,
        createdAt: String(r.created_at),
      });
    }
  }
  return out;
}
