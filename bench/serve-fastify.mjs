#!/usr/bin/env node
/**
 * The serve benchmark's framework ceiling: bare Fastify 5 answering POST /v1/predict with a constant forecast.
 * Body handling is oracx's: the same JSON parser settings and body limit as its /v1 scope, the same request schema
 * (PredictBody) and Ajv options, and the same response schema for serialisation; nothing else (no auth, no request
 * ids, no hooks). `node bench/serve-fastify.mjs PORT RESPONSE.json`; prints "listening" once it accepts connections.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, responseFile] = process.argv.slice(2);
const dist = new URL('../dist/', import.meta.url);
const { PredictBody, ForecastSchema } = await import(new URL('src/server/schemas.js', dist).href);
const { BODY_LIMITS } = await import(new URL('src/server/app.js', dist).href);
const constant = JSON.parse(readFileSync(responseFile, 'utf8'));

const app = Fastify({
  logger: false,
  bodyLimit: BODY_LIMITS.default,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
});
await app.register(async (v1) => {
  v1.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMITS.batch }, v1.getDefaultJsonParser('error', 'error'));
  v1.post('/v1/predict', { schema: { body: PredictBody, response: { 200: ForecastSchema } } }, async () => constant);
});
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.stdout.write('listening\n');
const stop = () => app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
