/** GET /v1/predictions: the stored forecasts, newest first, with filters and keyset paging. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listPredictions } from '../../../predict/predictions.js';
import type { Store } from '../../../store/connect.js';
import { parseIsoInstant } from '../../../dates.js';
import { HttpProblem, rangeProblem } from '../../problem.js';
import { errorResponses, MAX_ID, YEAR_1800_2999 } from '../../schemas.js';

const Stored = Type.Object({
  id: Type.Integer(),
  matchId: Type.Union([Type.Integer(), Type.Null()]),
  competition: Type.String(),
  season: Type.String(),
  date: Type.String(),
  home: Type.String(),
  away: Type.String(),
  model: Type.Object({
    uri: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    version: Type.Union([Type.Integer(), Type.Null()]),
    alias: Type.Union([Type.String(), Type.Null()]),
    run: Type.Union([Type.String(), Type.Null()]),
    variant: Type.Union([Type.String(), Type.Null()]),
  }),
  featureSet: Type.String(),
  inputsHash: Type.String(),
  probabilities: Type.Object({ home: Type.Number(), draw: Type.Number(), away: Type.Number() }),
  source: Type.String(),
  principal: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});

const Timestamp = Type.String({
  pattern: `${YEAR_1800_2999}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,6})?)?Z?)?$`,
  description: 'yyyy-mm-dd or an ISO timestamp (UTC)',
});

const Query = Type.Object(
  {
    match: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ID })),
    competition: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,8}$' })),
    model: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$' })),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ID })),
    source: Type.Optional(Type.Union([Type.Literal('cli'), Type.Literal('api'), Type.Literal('refresh')])),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^\\d{1,12}$', description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export async function predictionRoutes(app: FastifyInstance, { store }: { store: Store }): Promise<void> {
  app.get(
    '/v1/predictions',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['predictions'],
        summary: 'Stored predictions, newest first',
        description: 'Who asked (principal, request id) is shown to admins only.',
        querystring: Query,
        response: { 200: Type.Object({ items: Type.Array(Stored), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const at: Partial<Record<'since' | 'until', number>> = {};
      for (const bound of ['since', 'until'] as const) {
        const value = q[bound];
        if (typeof value !== 'string') continue;
        at[bound] = instantOf(value);
        if (Number.isNaN(at[bound])) throw new HttpProblem(400, 'validation_failed', `querystring/${bound} ${value} is not an existing date`);
      }
      if (at.since !== undefined && at.until !== undefined && at.since > at.until) throw rangeProblem('since', String(q.since), 'until', String(q.until));
      const page = await listPredictions(store, {
        matchId: q.match as number | undefined,
        competition: typeof q.competition === 'string' ? q.competition.toUpperCase() : undefined,
        modelName: q.model as string | undefined,
        modelVersion: q.version as number | undefined,
        source: q.source as 'cli' | 'api' | 'refresh' | undefined,
        since: q.since as string | undefined,
        until: q.until as string | undefined,
        limit: (q.limit as number | undefined) ?? 50,
        beforeId: typeof q.cursor === 'string' ? Number(q.cursor) : undefined,
      });
      const admin = request.principal?.role === 'admin';
      return {
        items: admin ? page.items : page.items.map((p) => ({ ...p, principal: null, requestId: null })),
        nextCursor: page.nextBeforeId === null ? null : String(page.nextBeforeId),
      };
    },
  );
}

/**
 * Epoch ms of a since/until value (the pattern above has checked its shape), NaN for a day that does not exist. The
 * API documents these as UTC, so a time without Z is read as UTC, not as the server's local time.
 */
function instantOf(value: string): number {
  return parseIsoInstant(value.length > 10 && !value.endsWith('Z') ? `${value}Z` : value);
}
