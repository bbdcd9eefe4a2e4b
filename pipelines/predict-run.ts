/**
 * `oracx predict` as a library function: forecasts for the store's scheduled matches (filtered) or for given
 * requests, every one stored in the predictions table in one transaction. Unlike the service, the CLI also serves a
 * match or pairing dated at or before the latest result, from a replay of history as of its date (slower, logged).
 */
import { RequestError } from '../src/errors.js';
import { BeforeFrontier, type OnlineFeatures } from '../src/ml/features/online.js';
import type { MatchFact } from '../src/ml/types.js';
import { TeamDirectory } from '../src/predict/directory.js';
import type { LoadedModel } from '../src/predict/model.js';
import { insertPredictions, type PredictionRow } from '../src/predict/predictions.js';
import type { Store } from '../src/store/connect.js';
import { loadMatchFacts } from '../src/store/match-facts.js';
import { OnlineFeatureStore } from './online-features.js';
import { MissedMatch, predictionRows, Predictor, type Forecast, type PredictRequest, type PreparedInput } from './predict.js';

/** Which scheduled matches of the store to forecast. */
export interface ScheduledFilter {
  competitions?: readonly string[];
  /** Inclusive yyyy-mm-dd bounds. */
  from?: string;
  to?: string;
}

export interface PredictRunOptions {
  /** Explicit requests (match ids, pairings); when empty, the scheduled matches selected by `scheduled`. */
  requests: readonly PredictRequest[];
  scheduled?: ScheduledFilter;
  /** Who asked, for the stored rows. */
  principal: string | null;
  /** Told when a replay as of a date is needed (it costs a pass over history). */
  onReplay?: (date: string, matches: number) => void;
  /** Stored with every row (a queued batch's job id). */
  requestId?: string | null;
  /** Writes the rows (default: insertPredictions; a queued batch writes them at most once). */
  write?: (rows: PredictionRow[]) => Promise<void>;
}

export interface PredictRunResult {
  forecasts: Forecast[];
  /** Dates served from a replay of history rather than the live state. */
  replayedDates: string[];
}

/** A predictor for model's feature set: the online state replayed from the store and the team directory. */
export async function openPredictor(store: Store, model: LoadedModel): Promise<Predictor> {
  const [features, directory] = await Promise.all([OnlineFeatureStore.open(store, model.definition), TeamDirectory.load(store)]);
  return new Predictor(features, directory);
}

/** Rows per onnxruntime run. */
const SCORE_BATCH = 16_384;

/** The inputs of a run, prepared (vectors from the live state or a replay as of their date), in the order forecasts are printed. */
export async function prepareRun(
  store: Store,
  predictor: Predictor,
  options: PredictRunOptions,
): Promise<{ inputs: PreparedInput[]; replayedDates: string[] }> {
  const live: MatchFact[] = [];
  const past: MatchFact[] = [];
  if (options.requests.length > 0) {
    for (const request of options.requests) await place(store, predictor, request, live, past);
  } else {
    await scheduledMatches(store, predictor, options.scheduled ?? {}, live, past);
  }

  const prepared = new Map<MatchFact, PreparedInput>();
  for (const m of live) prepared.set(m, predictor.prepareMatch(m));
  const byDate = new Map<string, MatchFact[]>();
  for (const m of past) byDate.set(m.date, [...(byDate.get(m.date) ?? []), m]);
  for (const [date, matches] of [...byDate].sort(([a], [b]) => a.localeCompare(b))) {
    options.onReplay?.(date, matches.length);
    const state: OnlineFeatures = await predictor.features.asOf(date);
    for (const m of matches) prepared.set(m, predictor.prepareMatch(m, state));
  }
  // Requests keep their order; scheduled matches come sorted by date.
  const order =
    options.requests.length > 0
      ? [...prepared.keys()]
      : [...prepared.keys()].sort((a, b) => (a.date === b.date ? (a.kickoff ?? '').localeCompare(b.kickoff ?? '') || a.id - b.id : a.date < b.date ? -1 : 1));
  return { inputs: order.map((m) => prepared.get(m)!), replayedDates: [...byDate.keys()].sort() };
}

/** Forecasts and stores them; nothing is stored unless every request could be served. */
export async function predictRun(store: Store, predictor: Predictor, model: LoadedModel, options: PredictRunOptions): Promise<PredictRunResult> {
  const { inputs, replayedDates } = await prepareRun(store, predictor, options);
  const forecasts: Forecast[] = [];
  for (let i = 0; i < inputs.length; i += SCORE_BATCH) forecasts.push(...(await predictor.score(model, inputs.slice(i, i + SCORE_BATCH))));
  const rows = predictionRows(forecasts, inputs, { source: 'cli', principal: options.principal, requestId: options.requestId });
  await (options.write ?? ((r) => insertPredictions(store, r)))(rows);
  return { forecasts, replayedDates };
}

/** Puts one request's match in the live or the replay list, or throws why it cannot be forecast. */
async function place(store: Store, predictor: Predictor, request: PredictRequest, live: MatchFact[], past: MatchFact[]): Promise<void> {
  try {
    const m = predictor.resolve(request);
    live.push(m);
    return;
  } catch (error) {
    if (error instanceof BeforeFrontier) {
      past.push(predictor.resolve(request, { past: true }));
      return;
    }
    if (!(error instanceof MissedMatch)) throw error;
  }
  const id = (request as { matchId: number }).matchId;
  const [stored] = await loadMatchFacts(store, { ids: [id] });
  if (!stored || stored.homeGoals !== null) throw await predictor.explainMatch(store, id);
  past.push(stored);
}

async function scheduledMatches(store: Store, predictor: Predictor, filter: ScheduledFilter, live: MatchFact[], past: MatchFact[]): Promise<void> {
  const competitions = filter.competitions?.map((c) => predictor.directory.competition(c).code);
  if (filter.from && filter.to && filter.from > filter.to) {
    throw new RequestError(`--from ${filter.from} is after --to ${filter.to}`, 422, 'invalid_range');
  }
  const keep = (m: MatchFact) =>
    (!competitions || competitions.includes(m.competition)) && (!filter.from || m.date >= filter.from) && (!filter.to || m.date <= filter.to);
  live.push(...predictor.features.upcoming().filter(keep));
  const frontier = predictor.features.frontier;
  if (frontier === null || (filter.from !== undefined && filter.from > frontier)) return;
  // Scheduled matches dated at or before the latest result: postponed, or a file of fixtures collected late.
  const older = await loadMatchFacts(store, { until: frontier, competitions, unplayed: true });
  past.push(...older.filter(keep));
}
