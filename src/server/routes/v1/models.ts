/** GET /v1/models: the models this server serves (champion, challenger), what they are and since when. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServingRuntime } from '../../runtime/serving.js';
import { describe } from '../../runtime/slot.js';
import { errorResponses, ModelRef } from '../../schemas.js';

const Served = Type.Object({
  variant: Type.String(),
  source: Type.String({ description: 'what the server follows: NAME@ALIAS, NAME/VERSION, a run or a file' }),
  ...ModelRef.properties,
  featureSet: Type.String(),
  digest: Type.String(),
  loadedAt: Type.String(),
  share: Type.Number({ description: 'share of callers it serves' }),
});

export async function modelRoutes(app: FastifyInstance, { runtime }: { runtime: ServingRuntime }): Promise<void> {
  app.get(
    '/v1/models',
    {
      config: { access: 'viewer' },
      schema: { tags: ['models'], summary: 'Served models', response: { 200: Type.Object({ models: Type.Array(Served) }), ...errorResponses() } },
    },
    async () => {
      const split = runtime.o.challenger?.split ?? 0;
      return {
        models: runtime.slots().map((slot) => ({
          variant: slot.variant,
          source: describe(slot.o.source),
          ...slot.current.identity,
          loadedAt: new Date(slot.loadedAt).toISOString(),
          share: slot.variant === 'challenger' ? split : runtime.challenger ? 1 - split : 1,
        })),
      };
    },
  );
}
