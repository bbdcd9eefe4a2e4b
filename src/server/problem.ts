/**
 * Errors as RFC 9457 problem documents (application/problem+json): every error the service returns, validation and
 * not-found included, has type, title, status, detail and the request id; internal errors never leak their message.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RequestError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { storeError } from '../store/errors.js';

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

/**
 * 400 invalid_range for filters whose lower bound is after their upper bound: a malformed query (the answer would be
 * empty whatever the store holds), worded like the CLI's "--from X is after --to Y".
 */
export function rangeProblem(fromName: string, from: string, toName: string, to: string): HttpProblem {
  return new HttpProblem(400, 'invalid_range', `${fromName} ${from} is after ${toName} ${to}`);
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
    const retry = error.details?.retryAfter;
    return {
      doc: problem(request, error.status, error.code, detail, error.details ?? {}),
      headers: typeof retry === 'number' ? { 'retry-after': String(retry) } : {},
    };
  }
  if (error instanceof UserError) {
    return { doc: problem(request, 422, 'unprocessable', error.hint ? `${error.message} (${error.hint})` : error.message), headers: {} };
  }
  if (storeUnavailable(error)) {
    // Once per outage-ish, not once per request.
    if (Date.now() - lastStoreWarning > 10_000)
      logger.warn(`store unavailable (${request.method} ${request.url}): ${(error as Error).message}; answering 503`, { requestId: request.id });
    lastStoreWarning = Date.now();
    return {
      doc: problem(request, 503, 'store_unavailable', 'the store is not answering; try again shortly', { retryAfter: 5 }),
      headers: { 'retry-after': '5' },
    };
  }
  const fe = error as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    const where = fe.validationContext ?? 'body';
    const errors = fe.validation.map((v) => ({ in: where, path: v.instancePath || '/', message: messageOf(v), ...(v.params ? { params: v.params } : {}) }));
    const best = errors[mostTelling(fe.validation, validated(request, where))]!;
    return { doc: problem(request, 400, 'validation_failed', `${where}${best.path === '/' ? '' : best.path} ${best.message}`, { errors }), headers: {} };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's own client errors (bad JSON, body too large, wrong content type): safe to repeat.
    const code =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'body_too_large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported_media_type'
          : fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? 'empty_body'
            : fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH'
              ? 'invalid_content_length'
              : status === 400
                ? 'malformed_request'
                : `http_${status}`;
    const detail =
      code === 'unsupported_media_type'
        ? `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here: send application/json`
        : fe.message;
    return { doc: problem(request, status, code, detail), headers: {} };
  }
  logger.error(`internal error on ${request.method} ${request.url.split('?')[0]}: ${(error as Error)?.stack ?? String(error)}`, { requestId: request.id });
  return { doc: problem(request, 500, 'internal', 'internal error; the request id identifies it in the server logs'), headers: {} };
}

let lastStoreWarning = 0;

/** Whether a driver error means the store cannot be reached now (connection refused or lost, pool timeout, lock). */
function storeUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof UserError) return false;
  if (storeError(error, '') !== error) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connection error|Client was closed|ECONNREFUSED|ECONNRESET/.test(error.message);
}

/** One schema violation as Ajv reports it. */
interface ValidationIssue {
  instancePath?: string;
  schemaPath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Ajv's message, with the offending property named where Ajv leaves it out. */
function messageOf(v: ValidationIssue): string {
  const message = v.message ?? 'invalid';
  if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') return `${message} ("${v.params.additionalProperty}")`;
  return message;
}

/** The schema and data a validation context checked. */
function validated(request: FastifyRequest, where: string): { schema: unknown; data: unknown } {
  const schemas = request.routeOptions.schema as Record<string, unknown> | undefined;
  const data = where === 'body' ? request.body : where === 'querystring' ? request.query : where === 'params' ? request.params : request.headers;
  return { schema: schemas?.[where], data };
}

function at(value: unknown, pointer: string): unknown {
  let node = value;
  for (const raw of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

/**
 * The index of the error that says most about what is wrong. A body that matches no branch of a union (a match id
 * or a pairing) gets one error per branch, the first of which is often "required" from the branch the caller did
 * not mean: an unexpected property or a wrong value says more, and among missing properties the one from the
 * branch that has most in common with what was sent.
 */
function mostTelling(issues: readonly ValidationIssue[], { schema, data }: { schema: unknown; data: unknown }): number {
  const score = (v: ValidationIssue): number => {
    if (v.keyword === 'anyOf' || v.keyword === 'oneOf') return -1;
    if (v.keyword === 'additionalProperties') return 1000;
    if (v.keyword !== 'required') return 500;
    const branch = at(schema, (v.schemaPath ?? '').replace(/^#/, '').replace(/\/required$/, '')) as { properties?: Record<string, unknown> } | undefined;
    const sent = at(data, v.instancePath ?? '');
    if (!branch?.properties || sent === null || typeof sent !== 'object') return 0;
    return Object.keys(branch.properties).filter((p) => p in (sent as object)).length;
  };
  let best = 0;
  for (let i = 1; i < issues.length; i++) if (score(issues[i]!) > score(issues[best]!)) best = i;
  return best;
}

/** Error and not-found handlers that answer with problem documents. */
export const problemPlugin = fp<{ logger: Logger }>(
  async (app: FastifyInstance, { logger }) => {
    app.setErrorHandler((error, request, reply) => {
      // A request no route matches can fail before the not-found handler (a QUERY without Content-Type): it is
      // still a 404 or 405.
      if (request.is404) return notFound(request, reply);
      const { doc, headers } = toProblem(request, error, logger);
      return sendProblem(reply, doc, headers);
    });
    // Every route's path pattern and methods, so a known path asked with another method answers 405 with Allow.
    const routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
    app.addHook('onRoute', (route) => {
      const pattern = patternOf(route.url ?? route.path);
      let entry = routes.find((r) => r.pattern.source === pattern.source);
      if (!entry) {
        entry = { pattern, methods: new Set() };
        routes.push(entry);
      }
      for (const m of [route.method].flat()) entry.methods.add(String(m).toUpperCase());
    });
    const notFound = (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0]!;
      const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]))].sort();
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        return sendProblem(reply, problem(request, 405, 'method_not_allowed', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`), {
          allow: allowed.join(', '),
        });
      }
      return sendProblem(reply, problem(request, 404, 'not_found', `no route ${request.method} ${path}`));
    };
    app.setNotFoundHandler(notFound);
  },
  { name: 'oracx-problem' },
);

/** A route path ("/v1/matches/:id", "/docs/*") as a regular expression over request paths. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Fastify's answer to what its router rejects before any hook runs (a malformed percent-escape, a path parameter
 * longer than the router keeps): a problem document too, with the request id.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.header('x-request-id', request.id);
  const path = request.url.split('?')[0];
  const detail =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `a path parameter of ${path} is too long` : `${path} is not a valid URL (a malformed percent-escape?)`;
  return sendProblem(reply, problem(request, 400, error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'path_parameter_too_long' : 'bad_url', detail));
}
