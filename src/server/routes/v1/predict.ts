/** POST /v1/predict and /v1/predict/batch: forecasts for a stored match or a pairing; every one is stored. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { PredictRequest } from '../../../../pipelines/predict.js';
import type { Caller, ServingRuntime } from '../../runtime/serving.js';
import { BatchBody, errorResponses, ForecastSchema, MAX_BATCH, PredictBody } from '../../schemas.js';

/** Who is asking, for A/B stickiness and the stored row. */
export function callerOf(request: FastifyRequest): Caller {
  return { id: request.principal?.id ?? `ip:${request.ip}`, principal: request.principal?.id ?? null, requestId: request.id };
}

export async function predictRoutes(
  app: FastifyInstance,
  { runtime, bodyLimits }: { runtime: ServingRuntime; bodyLimits: { single: number; batch: number } },
): Promise<void> {
  app.post(
    '/v1/predict',
    {
      config: { access: 'predictor' },
      bodyLimit: bodyLimits.single,
      schema: {
        tags: ['predict'],
        summary: 'Forecast one match',
        description: 'A stored match by id, or a pairing by competition, teams and date (after the latest result in the store). The forecast is stored.',
        body: PredictBody,
        response: { 200: ForecastSchema, ...errorResponses({}, 404, 409, 413, 415, 422, 503) },
      },
    },
    async (request) => runtime.forecast(request.body as PredictRequest, callerOf(request)),
  );

  app.post(
    '/v1/predict/batch',
    {
      config: { access: 'predictor' },
      bodyLimit: bodyLimits.batch,
      schema: {
        tags: ['predict'],
        summary: `Forecast up to ${MAX_BATCH} matches`,
        description: 'All or nothing: when any request cannot be served, the answer is 422 with one error per bad request, and nothing is stored.',
        body: BatchBody,
        response: { 200: Type.Object({ forecasts: Type.Array(ForecastSchema) }), ...errorResponses({}, 404, 409, 413, 415, 422, 503) },
      },
    },
    async (request) => ({ forecasts: await runtime.forecastMany((request.body as { requests: PredictRequest[] }).requests, callerOf(request)) }),
  );
}
