/** Liveness and readiness, for load balancers and orchestrators; the detailed view is for admins. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { ServingRuntime } from '../runtime/serving.js';
import { errorResponses } from '../schemas.js';

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), latencyMs: Type.Union([Type.Number(), Type.Null()]), detail: Type.String() });
const Status = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Array(Check)) });

export async function healthRoutes(app: FastifyInstance, { runtime, version }: { runtime: ServingRuntime; version: string }): Promise<void> {
  app.get(
    '/health/live',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'The process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'Store reachable, model loaded, feature state warm', response: { 200: Status, 503: Status } },
    },
    async (_request, reply) => {
      const { ready, checks } = await runtime.readiness();
      // Public: the names of failing checks only, not their details (paths, URLs).
      const shown = checks.map((c) => ({ name: c.name, ok: c.ok, latencyMs: c.latencyMs, detail: c.ok ? 'ok' : 'failing' }));
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: shown });
    },
  );

  app.get(
    '/health/detailed',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['health'],
        summary: 'Each dependency with its latency, the served models, uptime',
        response: {
          200: Type.Object({
            status: Type.String(),
            version: Type.String(),
            uptimeSeconds: Type.Number(),
            pid: Type.Integer(),
            checks: Type.Array(Check),
            models: Type.Array(
              Type.Object({
                variant: Type.String(),
                uri: Type.String(),
                kind: Type.String(),
                featureSet: Type.String(),
                loadedAt: Type.String(),
                lastReloadError: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
            features: Type.Array(
              Type.Object({
                featureSet: Type.String(),
                ageSeconds: Type.Number(),
                frontier: Type.Union([Type.String(), Type.Null()]),
                results: Type.Integer(),
              }),
            ),
            predictionsQueued: Type.Integer(),
            predictionsWritten: Type.Integer(),
            cache: Type.Object({ shared: Type.Boolean() }),
          }),
          ...errorResponses(),
        },
      },
    },
    async () => {
      const { ready, checks } = await runtime.readiness();
      return {
        status: ready ? 'ready' : 'not ready',
        version,
        uptimeSeconds: (Date.now() - runtime.startedAt) / 1000,
        pid: process.pid,
        checks,
        models: runtime.slots().map((s) => ({
          variant: s.variant,
          uri: s.current.identity.uri,
          kind: s.current.identity.kind,
          featureSet: s.current.identity.featureSet,
          loadedAt: new Date(s.loadedAt).toISOString(),
          lastReloadError: s.lastError,
        })),
        features: runtime.featureAges(),
        predictionsQueued: runtime.sink.pending,
        predictionsWritten: runtime.sink.written,
        cache: { shared: runtime.cache.shared },
      };
    },
  );
}
