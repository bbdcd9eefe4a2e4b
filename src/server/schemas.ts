/** Schemas shared by the routes: one TypeBox schema per shape gives validation, types and the OpenAPI document. */
import { Type, type Static } from 'typebox';

/** A date in a request body: an existing calendar date, so 2021-02-30 is a malformed request (400) like 12/09/2021. */
export const IsoDate = Type.String({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a date as yyyy-mm-dd', examples: ['2020-09-12'] });
/** Years a date filter may name: PostgreSQL has no year 0, and nothing oracx stores is older than football-data. */
export const YEAR_1800_2999 = '^(1[89]|2\\d)\\d{2}';
/** A date filter: an existing calendar date (2021-02-30 is refused). */
export const FilterDate = Type.String({
  format: 'date',
  pattern: `${YEAR_1800_2999}-\\d{2}-\\d{2}$`,
  description: 'a date as yyyy-mm-dd',
  examples: ['2020-09-12'],
});
const Kickoff = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'kick-off as HH:MM' });
const Name = (description: string, example: string) => Type.String({ minLength: 1, maxLength: 100, description, examples: [example] });

export const Odds = Type.Object(
  {
    home: Type.Number({ exclusiveMinimum: 1, maximum: 1000 }),
    draw: Type.Number({ exclusiveMinimum: 1, maximum: 1000 }),
    away: Type.Number({ exclusiveMinimum: 1, maximum: 1000 }),
  },
  { additionalProperties: false, description: 'decimal 1X2 prices, read by feature sets with market features' },
);

/** The largest id a store holds (PostgreSQL integer): a larger one in a query would be a database error. */
export const MAX_ID = 2 ** 31 - 1;

export const ByMatch = Type.Object(
  { matchId: Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'a scheduled match in the store (GET /v1/matches)' }) },
  { additionalProperties: false, title: 'ByMatch' },
);
export const ByPairing = Type.Object(
  {
    competition: Name('division code', 'E0'),
    home: Name('home team, any spelling the store knows', 'Arsenal'),
    away: Name('away team', 'Chelsea'),
    date: IsoDate,
    kickoff: Type.Optional(Type.Union([Kickoff, Type.Null()])),
    odds: Type.Optional(Type.Union([Odds, Type.Null()])),
  },
  { additionalProperties: false, title: 'ByPairing' },
);
export const PredictBody = Type.Union([ByMatch, ByPairing], { description: 'a stored match by id, or a pairing by competition, teams and date' });
export type PredictBody = Static<typeof PredictBody>;

export const MAX_BATCH = 1000;
export const BatchBody = Type.Object({ requests: Type.Array(PredictBody, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false });

const Probabilities = Type.Object(
  { home: Type.Number(), draw: Type.Number(), away: Type.Number() },
  { description: 'P(home win), P(draw), P(away win); they sum to 1' },
);
export const ModelRef = Type.Object({
  uri: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.Integer(), Type.Null()]),
  alias: Type.Union([Type.String(), Type.Null()]),
  run: Type.Union([Type.String(), Type.Null()]),
  kind: Type.String(),
});
export const ForecastSchema = Type.Object({
  matchId: Type.Union([Type.Integer(), Type.Null()]),
  competition: Type.String(),
  season: Type.String(),
  date: Type.String(),
  kickoff: Type.Union([Type.String(), Type.Null()]),
  home: Type.String(),
  away: Type.String(),
  status: Type.String({ description: 'scheduled or live for a stored match, pairing otherwise' }),
  probabilities: Probabilities,
  model: ModelRef,
  featureSet: Type.String(),
  inputsHash: Type.String(),
  variant: Type.String({ description: 'champion, or challenger for callers in the A/B share' }),
  cached: Type.Boolean(),
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    code: Type.String(),
    requestId: Type.String(),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** A problem response, documented (and serialised) as application/problem+json. */
export const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

/**
 * The error responses a route may give, for the OpenAPI document: 401/403/429 unless it is public, and 503 then too
 * (checking an API key reads the store, which may not be answering).
 */
export function errorResponses(options: { public?: boolean } = {}, ...statuses: number[]): Record<number, ReturnType<typeof problemResponse>> {
  const base = options.public ? [400, 500] : [400, 401, 403, 429, 500, 503];
  return Object.fromEntries([...base, ...statuses].map((s) => [s, problemResponse(STATUS_TEXT[s] ?? 'error')]));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'malformed request or invalid parameters',
  401: 'missing or invalid credentials',
  403: "the caller's role may not do this",
  404: 'not found',
  409: 'the match is not a coming one',
  413: 'body too large',
  415: 'unsupported content type',
  422: 'well-formed but cannot be served (unknown team, date out of range…)',
  429: 'rate limit exceeded (see Retry-After)',
  500: 'internal error',
  503: 'not ready, or the store is not answering',
};
