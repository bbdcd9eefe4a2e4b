#!/usr/bin/env node
/**
 * The load generator of the serve benchmarks, run as a process of its own so it never shares an event loop with a
 * server: `node bench/serve-load.mjs CONFIG.json` runs autocannon once and prints its result as one JSON line.
 *
 * CONFIG: { url, connections, pipelining, duration (s), overallRate? (req/s over all connections), headers, bodies }.
 * Each connection sends `bodies` (JSON strings) in turn, as prebuilt requests: a per-request setupRequest that picked
 * the next body from a shared counter cost the generator 15–40 % of its rate against bare Fastify (CPU it would take
 * from the server on 2 CPUs).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const bodies = config.bodies;
if (!Array.isArray(bodies) || bodies.length === 0) throw new Error('serve-load: config.bodies must be a non-empty array of strings');

const result = await autocannon({
  url: config.url,
  method: 'POST',
  connections: config.connections,
  pipelining: config.pipelining,
  duration: config.duration,
  ...(config.overallRate ? { overallRate: config.overallRate } : {}),
  headers: config.headers,
  requests: bodies.map((body) => ({ method: 'POST', body })),
});

const { latency, requests } = result;
process.stdout.write(
  `${JSON.stringify({
    duration: result.duration,
    start: result.start,
    finish: result.finish,
    connections: result.connections,
    pipelining: result.pipelining,
    // autocannon counts 2xx latencies only.
    latency: { p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max, mean: latency.average },
    reqPerSec: { mean: requests.average, p50: requests.p50, min: requests.min, stddev: requests.stddev },
    sent: requests.sent,
    completed: requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    statusCodes: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
  })}\n`,
);
