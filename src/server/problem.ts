/**
 * Errors as RFC 9457 problem documents (application/problem+json): every error the service returns, validation and
 * not-found included, has type, title, status, detail and the request id; internal errors never leak their message.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RequestError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';

export const PROBLEM_TYPE = 'application/problem+json';
/** Problem types are documented under this base (docs/serve.md#errors). */
const TYPE_BASE = 'https://oracx.dev/problems/';

/** The members of a problem document oracx sends. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  requestId: string;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error a route throws to answer with a given status and code. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/** Builds the document for status/code/detail. */
export function problem(request: FastifyRequest, status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: `${TYPE_BASE}${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    instance: request.url.split('?')[0],
    code,
    requestId: request.id,
    ...extra,
  };
}

/** Sends a problem document. */
export function sendProblem(reply: FastifyReply, doc: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(doc.status).headers(headers).type(PROBLEM_TYPE).send(doc);
}

/** Maps what a handler or Fastify threw to its problem document. */
export function toProblem(request: FastifyRequest, error: unknown, logger: Logger): { doc: Problem; headers: Record<string, string> } {
  if (error instanceof HttpProblem) return { doc: problem(request, error.status, error.code, error.message, error.extra), headers: error.headers };
  if (error instanceof RequestError) {
    const detail = error.hint ? `${error.message} (${error.hint})` : error.message;
    return { doc: problem(request, error.status, error.code, detail, error.details ?? {}), headers: {} };
  }
  if (error instanceof UserError) {
    return { doc: problem(request, 422, 'unprocessable', error.hint ? `${error.message} (${error.hint})` : error.message), headers: {} };
  }
  const fe = error as FastifyError & { validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>; validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    const where = fe.validationContext ?? 'body';
    const errors = fe.validation.map((v) => ({ in: where, path: v.instancePath || '/', message: v.message ?? 'invalid', ...(v.params ? { params: v.params } : {}) }));
    const first = errors[0]!;
    return { doc: problem(request, 400, 'validation_failed', `${where}${first.path === '/' ? '' : first.path} ${first.message}`, { errors }), headers: {} };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, body too large, wrong content type): safe to repeat.
    const code = fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
      : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
      : fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'empty_body'
      : fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? 'invalid_content_length'
      : status === 400 ? 'malformed_request' : `http_${status}`;
    return { doc: problem(request, status, code, fe.message), headers: {} };
  }
  logger.error(`internal error on ${request.method} ${request.url.split("?")[0]}: ${(error as Error)?.stack ?? String(error)}`, { requestId: request.id });
  return { doc: problem(request, 500, 'internal', 'internal error; the request id identifies it in the server logs'), headers: {} };
}

/** Error and not-found handlers that answer with problem documents. */
export const problemPlugin = fp<{ logger: Logger }>(async (app: FastifyInstance, { logger }) => {
  app.setErrorHandler((error, request, reply) => {
    const { doc, headers } = toProblem(request, error, logger);
    return sendProblem(reply, doc, headers);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem(request, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));
}, { name: 'oracx-problem' });
