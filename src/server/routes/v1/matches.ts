/** GET /v1/matches and /v1/matches/{id}: the store's matches, filtered, sorted and cursor-paged (stable order). */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { listMatches, type MatchQuery } from '../../../../pipelines/matches.js';
import type { Store } from '../../../store/connect.js';
import { HttpProblem, rangeProblem } from '../../problem.js';
import { errorResponses, FilterDate, MAX_ID } from '../../schemas.js';

const Match = Type.Object({
  id: Type.Integer(),
  competition: Type.String(),
  season: Type.String(),
  date: Type.String(),
  time: Type.Union([Type.String(), Type.Null()]),
  home: Type.String(),
  away: Type.String(),
  status: Type.String(),
  fthg: Type.Union([Type.Integer(), Type.Null()]),
  ftag: Type.Union([Type.Integer(), Type.Null()]),
  ftr: Type.Union([Type.String(), Type.Null()]),
  hthg: Type.Union([Type.Integer(), Type.Null()]),
  htag: Type.Union([Type.Integer(), Type.Null()]),
  referee: Type.Union([Type.String(), Type.Null()]),
});

const Query = Type.Object(
  {
    competition: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,8}(,[A-Za-z0-9]{1,8})*$', description: 'division codes, comma-separated' })),
    season: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{4}(,\\d{4}-\\d{4})*$', description: 'seasons like 2019-2020, comma-separated' })),
    // No control characters: PostgreSQL refuses a NUL in text (500 before this).
    team: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001F\\u007F]+$' })),
    from: Type.Optional(FilterDate),
    to: Type.Optional(FilterDate),
    status: Type.Optional(Type.Union([Type.Literal('scheduled'), Type.Literal('live'), Type.Literal('finished')])),
    sort: Type.Optional(Type.Union([Type.Literal('date'), Type.Literal('-date')], { default: 'date' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export async function matchRoutes(app: FastifyInstance, { store }: { store: Store }): Promise<void> {
  app.get(
    '/v1/matches',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['matches'],
        summary: 'List matches',
        description: 'Sorted by date then id, so pages never skip or repeat a match; follow nextCursor.',
        querystring: Query,
        response: {
          200: Type.Object({ items: Type.Array(Match), total: Type.Integer(), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const query: MatchQuery = {
        competition: typeof q.competition === 'string' ? q.competition.split(',').map((c) => c.toUpperCase()) : undefined,
        season: typeof q.season === 'string' ? q.season.split(',') : undefined,
        team: q.team as string | undefined,
        from: q.from as string | undefined,
        to: q.to as string | undefined,
        status: q.status as string | undefined,
        sort: (q.sort as MatchQuery['sort']) ?? 'date',
        limit: (q.limit as number | undefined) ?? 50,
        cursor: q.cursor as string | undefined,
      };
      // Both are existing yyyy-mm-dd dates (the schema checks format: date), so text order is date order.
      if (query.from && query.to && query.from > query.to) throw rangeProblem('from', query.from, 'to', query.to);
      if (query.cursor !== undefined && !isCursor(query.cursor)) {
        throw new HttpProblem(
          400,
          'invalid_cursor',
          `cursor ${JSON.stringify(query.cursor)} is not one this API gave: pass the nextCursor of the previous page (omit it for the first page)`,
        );
      }
      return listMatches(store, query);
    },
  );

  app.get(
    '/v1/matches/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['matches'],
        summary: 'One match',
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: MAX_ID }) }),
        response: { 200: Match, ...errorResponses({}, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const match = (await listMatches(store, { id, limit: 1 })).items[0];
      if (!match) throw new HttpProblem(404, 'match_not_found', `no match with id ${id}`);
      return match;
    },
  );
}

/** Whether text has the shape of the cursors listMatches gives (base64url of "yyyy-mm-dd|id"). */
function isCursor(text: string): boolean {
  const [date, id, extra] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  return extra === undefined && /^\d{4}-\d{2}-\d{2}$/.test(date ?? '') && /^\d{1,12}$/.test(id ?? '');
}
