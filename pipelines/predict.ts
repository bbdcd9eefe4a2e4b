/**
 * Forecasts for coming matches, shared by `oracx predict` and the service: a request (a stored match, or a pairing by
 * names and date) becomes a MatchFact and its point-in-time feature vector from the online feature store (prepare,
 * synchronous: a lookup), batches of prepared inputs go through one onnxruntime run (score), and forecasts become
 * rows of the predictions table (predictionRows).
 */
import { hash } from 'node:crypto';
import { RequestError, UserError } from '../src/errors.js';
import { dayNumber } from '../src/ml/features/engine.js';
import { BeforeFrontier, type OnlineFeatures } from '../src/ml/features/online.js';
import type { MatchFact, Prices } from '../src/ml/types.js';
import { seasonOfDate } from '../src/ingest/football-data/parse.js';
import type { TeamDirectory } from '../src/predict/directory.js';
import type { LoadedModel, ModelIdentity } from '../src/predict/model.js';
import type { PredictionRow } from '../src/predict/predictions.js';
import type { PredictionSource } from '../src/store/schema.js';
import type { Store } from '../src/store/connect.js';
import type { OnlineFeatureStore } from './online-features.js';

/** A forecast asked for by match id, or by pairing (competition, teams, date; odds for feature sets that read them). */
export type PredictRequest =
  | { matchId: number }
  | { competition: string; home: string; away: string; date: string; kickoff?: string | null; odds?: { home: number; draw: number; away: number } | null };

/** A request resolved to a match and its feature vector: everything scoring needs. */
export interface PreparedInput {
  match: MatchFact;
  /** The stored match, or null for a pairing the store does not hold. */
  matchId: number | null;
  /** scheduled or live for stored matches; "pairing" otherwise. */
  status: string;
  home: string;
  away: string;
  vector: Float64Array;
  /** sha256 (hex) of what the model reads: feature set, vector, teams and competition. */
  inputsHash: string;
}

/** One forecast. */
export interface Forecast {
  matchId: number | null;
  competition: string;
  season: string;
  date: string;
  kickoff: string | null;
  home: string;
  away: string;
  status: string;
  probabilities: { home: number; draw: number; away: number };
  model: Pick<ModelIdentity, 'uri' | 'name' | 'version' | 'alias' | 'run' | 'kind'>;
  featureSet: string;
  inputsHash: string;
}

/** How far after the latest result a pairing may be dated: beyond it, the features would describe last season. */
export const MAX_DAYS_AHEAD = 400;

/** Ids of pairings not in the store: negative, so they never clash with a stored match in a Dataset. */
let pairingIds = 0;

const pricesOf = (odds: { home: number; draw: number; away: number } | null | undefined): Prices | null => (odds ? [odds.home, odds.draw, odds.away] : null);

/** Resolves requests against the online feature store and the team directory; scores them with a model. */
export class Predictor {
  constructor(
    readonly features: OnlineFeatureStore,
    readonly directory: TeamDirectory,
  ) {}

  /**
   * A request as a match with its vector, from the live state (a lookup). Throws RequestError for bad input (unknown
   * names, impossible dates), MissedMatch for a stored id that is not a coming match (explainMatch says why) and
   * BeforeFrontier for a pairing dated at or before the latest result (prepareMatch with an asOf state serves it).
   */
  prepare(request: PredictRequest): PreparedInput {
    return this.prepareMatch(this.resolve(request));
  }

  /** The match a request names: a coming stored match, the stored fixture of a pairing, or a new pairing. */
  resolve(request: PredictRequest, options: { past?: boolean } = {}): MatchFact {
    return 'matchId' in request ? this.storedMatch(request.matchId) : this.pairing(request, options.past === true);
  }

  /** m with its vector, from the live state or from `state` (a replay as of m's date). */
  prepareMatch(match: MatchFact, state?: OnlineFeatures): PreparedInput {
    const vector = state ? state.vector(match) : this.features.vector(match);
    return {
      match,
      matchId: match.id > 0 ? match.id : null,
      status: match.id > 0 ? (match.status ?? 'scheduled') : 'pairing',
      home: this.directory.teamName(match.homeTeam),
      away: this.directory.teamName(match.awayTeam),
      vector,
      inputsHash: inputsHash(this.features.ref, vector, match),
    };
  }

  /** Scores prepared inputs in one onnxruntime run. */
  async score(model: LoadedModel, inputs: readonly PreparedInput[]): Promise<Forecast[]> {
    if (inputs.length === 0) return [];
    if (model.identity.featureSet !== this.features.ref) {
      throw new UserError(`${model.identity.uri} was trained on ${model.identity.featureSet}, but the feature state serves ${this.features.ref}`);
    }
    const probs = await model.scorer.scoreDataset(
      { X: inputs.map((i) => i.vector), featureNames: this.features.names as string[], matches: inputs.map((i) => i.match) },
      { batchSize: Math.max(1, inputs.length) },
    );
    return inputs.map((input, i) => forecastOf(input, model, this.features.ref, { home: probs[i * 3]!, draw: probs[i * 3 + 1]!, away: probs[i * 3 + 2]! }));
  }

  /** The reason a stored match id is not served from the live state, as a RequestError (unknown, finished, past). */
  async explainMatch(store: Store, matchId: number): Promise<RequestError> {
    const row = await store.db.selectFrom('matches').select(['id', 'date', 'status', 'fthg', 'ftag']).where('id', '=', matchId).executeTakeFirst();
    if (!row) return new RequestError(`no match with id ${matchId}`, 404, 'match_not_found', { hint: 'see GET /v1/matches or oracx matches list' });
    if (row.fthg !== null) {
      return new RequestError(`match ${matchId} was played on ${row.date} (${row.fthg}–${row.ftag}): forecasts are for coming matches`, 409, 'match_finished', {
        hint: 'score past matches with oracx evaluate',
      });
    }
    const frontier = this.features.frontier ?? '';
    return new RequestError(
      `match ${matchId} is still ${row.status} but dated ${row.date}, not after the latest result in the store (${frontier}); it was probably postponed`,
      409,
      'match_not_upcoming',
      { hint: 'collect its new date, or predict it as of its date with oracx predict --match' },
    );
  }

  private storedMatch(id: number): MatchFact {
    const m = this.features.match(id);
    if (!m) throw new MissedMatch(id);
    return m;
  }

  private pairing(r: Exclude<PredictRequest, { matchId: number }>, past: boolean): MatchFact {
    const competition = this.directory.competition(r.competition).code;
    const homeTeam = this.directory.team(r.home, competition);
    const awayTeam = this.directory.team(r.away, competition);
    if (homeTeam === awayTeam) throw new RequestError(`"${r.home}" and "${r.away}" are the same team`, 422, 'same_team');
    checkDate(r.date, past ? null : this.features.frontier);
    if (r.odds) {
      for (const [k, v] of Object.entries(r.odds)) {
        if (!(Number.isFinite(v) && v > 1)) throw new RequestError(`odds.${k} must be a decimal price above 1, got ${v}`, 422, 'invalid_odds');
      }
    }
    // The stored fixture of the same pairing and date, if any: its id and prices are the store's.
    const stored = this.features.fixture(competition, r.date, homeTeam, awayTeam);
    if (stored) return r.odds ? { ...stored, preOdds: pricesOf(r.odds), closingOdds: null } : stored;
    return {
      id: -++pairingIds,
      competition,
      season: seasonOfDate(r.date),
      date: r.date,
      kickoff: r.kickoff ?? null,
      homeTeam,
      awayTeam,
      homeGoals: null,
      awayGoals: null,
      homeShots: null,
      awayShots: null,
      homeShotsOnTarget: null,
      awayShotsOnTarget: null,
      preOdds: pricesOf(r.odds),
      closingOdds: null,
    };
  }
}

/** The forecast for a prepared input: its match, the model that scored it and the probabilities. */
export function forecastOf(input: PreparedInput, model: LoadedModel, featureSet: string, probabilities: Forecast['probabilities']): Forecast {
  const m = input.match;
  const { uri, name, version, alias, run, kind } = model.identity;
  return {
    matchId: input.matchId,
    competition: m.competition,
    season: m.season,
    date: m.date,
    kickoff: m.kickoff,
    home: input.home,
    away: input.away,
    status: input.status,
    probabilities,
    model: { uri, name, version, alias, run, kind },
    featureSet,
    inputsHash: input.inputsHash,
  };
}

/** A match id the live state does not hold as coming; Predictor.explainMatch says why. */
export class MissedMatch extends Error {
  override readonly name = 'MissedMatch';
  constructor(readonly matchId: number) {
    super(`match ${matchId} is not a coming match in the feature state`);
  }
}

/** The day number of the latest result, parsed once per frontier (every pairing is checked against it). */
let frontierMemo: { date: string; day: number } | null = null;
function frontierDay(frontier: string): number {
  if (frontierMemo?.date !== frontier) frontierMemo = { date: frontier, day: dayNumber(frontier) };
  return frontierMemo.day;
}

/** Rejects impossible dates and dates too far from the data (pairings before the latest result are BeforeFrontier). */
export function checkDate(date: string, frontier: string | null): void {
  let day: number;
  try {
    day = dayNumber(date);
  } catch {
    throw new RequestError(`invalid date "${date}": expected an existing yyyy-mm-dd date`, 422, 'invalid_date');
  }
  if (frontier === null) return;
  const ahead = day - frontierDay(frontier);
  if (ahead > MAX_DAYS_AHEAD) {
    throw new RequestError(
      `date ${date} is ${ahead} days after the latest result in the store (${frontier}); at most ${MAX_DAYS_AHEAD} are allowed`,
      422,
      'date_out_of_range',
      {
        hint: 'collect recent results first: features this far ahead would describe an old season',
      },
    );
  }
  if (ahead <= 0) throw new BeforeFrontier(date, frontier, `the pairing`);
}

/** Scratch for inputsHash: the text prefix and the vector's bytes, hashed in one call (no Hash object per forecast). */
let scratch = Buffer.alloc(4096);

/** sha256 of the inputs a model reads for m: equal hashes, equal forecasts from one model version. */
export function inputsHash(featureSet: string, vector: Float64Array, m: Pick<MatchFact, 'competition' | 'homeTeam' | 'awayTeam'>): string {
  const prefix = `${featureSet}|${m.competition}|${m.homeTeam}|${m.awayTeam}|`;
  const size = Buffer.byteLength(prefix) + vector.byteLength;
  if (size > scratch.length) scratch = Buffer.alloc(2 * size);
  const n = scratch.write(prefix, 0, 'utf8');
  scratch.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), n);
  return hash('sha256', scratch.subarray(0, size), 'hex');
}

/** Rows of the predictions table for forecasts. */
export function predictionRows(
  forecasts: readonly Forecast[],
  inputs: readonly PreparedInput[],
  meta: { source: PredictionSource; variant?: string | null; principal?: string | null; requestId?: string | null },
): PredictionRow[] {
  return forecasts.map((f, i) => {
    const m = inputs[i]!.match;
    return {
      match_id: f.matchId,
      competition: f.competition,
      season: f.season,
      date: f.date,
      home_team_id: m.homeTeam,
      away_team_id: m.awayTeam,
      model_name: f.model.name,
      model_version: f.model.version,
      model_alias: f.model.alias,
      model_run: f.model.run,
      model_uri: f.model.uri,
      variant: meta.variant ?? null,
      feature_set: f.featureSet,
      inputs_hash: f.inputsHash,
      p_home: f.probabilities.home,
      p_draw: f.probabilities.draw,
      p_away: f.probabilities.away,
      source: meta.source,
      principal: meta.principal ?? null,
      request_id: meta.requestId ?? null,
    };
  });
}
