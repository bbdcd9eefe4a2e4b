// OpenTelemetry traces from a real `oracx serve` process to a local OTLP/HTTP receiver (a tiny server in this test):
// a SERVER span per request continuing the caller's W3C traceparent, with the route, status and request id, and
// child spans for the feature lookup and the onnxruntime run; OTEL_* variables honoured (protocol, headers,
// resource, service name, sampler through the parent's sampled flag); the last spans exported on SIGTERM.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PAIRING, servableStore, spawnServe, type ServableStore, type ServeProcess } from '../helpers/obs-fixture.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface JsonValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  arrayValue?: unknown;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: JsonValue }>;
  status?: { code?: number };
}
interface JsonExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: JsonValue }> };
    scopeSpans: Array<{ scope: { name: string }; spans: JsonSpan[] }>;
  }>;
}

/** An OTLP/HTTP receiver on 127.0.0.1: keeps every POST /v1/traces. */
async function receiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(req.url === '/v1/traces' ? 200 : 404, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const attr = (list: Array<{ key: string; value: JsonValue }>, key: string) => {
  const v = list.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue);
};
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('tracing over OTLP', () => {
  let fx: ServableStore;
  let otlp: Awaited<ReturnType<typeof receiver>>;
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    fx = await servableStore();
    otlp = await receiver();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await otlp.close();
  });

  const spans = () =>
    otlp.received
      .filter((r) => r.path === '/v1/traces' && String(r.headers['content-type']).includes('json'))
      .flatMap((r) =>
        (JSON.parse(r.body.toString('utf8')) as JsonExport).resourceSpans.map((rs) => ({
          resource: rs.resource,
          spans: rs.scopeSpans.flatMap((s) => s.spans),
        })),
      );
  const allSpans = () => spans().flatMap((r) => r.spans);
  const until = async (what: string, check: () => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; spans: ${allSpans()
            .map((s) => s.name)
            .join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('exports a server span per request under the caller’s trace, with the route, status, request id and child spans', async () => {
    const s = await spawnServe(fx, [], {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-otlp-token=otelsecret',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    servers.push(s);
    await s.waitForLog((l) => l.message === `tracing: exporting spans over OTLP to ${otlp.url}`);
    const traceId = hex(16);
    const parentId = hex(8);
    const r = await call(`${s.url}/v1/predict`, fx.keys.predictor, {
      method: 'POST',
      body: JSON.stringify(PAIRING),
      headers: { traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': 'trace-test-1' },
    });
    expect(r.status).toBe(200);
    // Not sampled by the caller: parent-based sampling drops it.
    const unsampled = hex(16);
    expect((await call(`${s.url}/v1/models`, fx.keys.predictor, { headers: { traceparent: `00-${unsampled}-${hex(8)}-00` } })).status).toBe(200);
    // No traceparent: a trace of its own. Probes: not traced.
    expect((await call(`${s.url}/v1/matches/3`, fx.keys.predictor)).status).toBe(200);
    expect((await call(`${s.url}/health/live`, null)).status).toBe(200);

    await until('the request spans', () =>
      ['POST /v1/predict', 'oracx.features.lookup', 'oracx.onnx.run', 'GET /v1/matches/:id', 'oracx.predictions.write'].every((n) =>
        allSpans().some((sp) => sp.name === n),
      ),
    );
    const mine = allSpans().filter((sp) => sp.traceId === traceId);
    const server = mine.find((sp) => sp.name === 'POST /v1/predict')!;
    expect(server).toBeDefined();
    expect(server.kind).toBe(2); // SERVER
    expect(server.parentSpanId).toBe(parentId);
    expect(attr(server.attributes, 'http.route')).toBe('/v1/predict');
    expect(attr(server.attributes, 'http.request.method')).toBe('POST');
    expect(attr(server.attributes, 'http.response.status_code')).toBe(200);
    expect(attr(server.attributes, 'oracx.request_id')).toBe('trace-test-1');
    expect(attr(server.attributes, 'url.path')).toBe('/v1/predict');
    expect(attr(server.attributes, 'oracx.principal')).toMatch(/^key:\d+$/);
    expect(server.status?.code ?? 0).not.toBe(2);
    for (const name of ['oracx.features.lookup', 'oracx.onnx.run']) {
      const child = mine.find((sp) => sp.name === name);
      expect(child, name).toBeDefined();
      expect(child!.parentSpanId).toBe(server.spanId);
    }
    expect(attr(mine.find((sp) => sp.name === 'oracx.onnx.run')!.attributes, 'oracx.batch.rows')).toBe(1);
    // The batched write is a trace of its own.
    const write = allSpans().find((sp) => sp.name === 'oracx.predictions.write')!;
    expect(write.traceId).not.toBe(traceId);
    expect(write.parentSpanId ?? '').toBe('');
    expect(attr(write.attributes, 'oracx.predictions.rows')).toBe(1);

    const other = allSpans().find((sp) => sp.name === 'GET /v1/matches/:id')!;
    expect(other.traceId).not.toBe(traceId);
    expect(other.parentSpanId ?? '').toBe('');
    expect(attr(other.attributes, 'http.route')).toBe('/v1/matches/:id');
    expect(attr(other.attributes, 'url.path')).toBe('/v1/matches/3');
    expect(allSpans().some((sp) => sp.traceId === unsampled)).toBe(false);
    expect(allSpans().some((sp) => sp.name.includes('/health'))).toBe(false);

    const resource = spans()[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toBe('oracx');
    expect(attr(resource, 'service.version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(attr(resource, 'deployment.environment')).toBe('test');
    // The command line (which may carry a store URL with its password) is not exported.
    expect(attr(resource, 'process.command_args')).toBeUndefined();
    expect(otlp.received[0]!.headers['x-otlp-token']).toBe('otelsecret');
    expect(s.output()).not.toContain('otelsecret');
  });

  it('speaks OTLP/protobuf by default, honours OTEL_SERVICE_NAME, and exports the last spans when stopped', async () => {
    const before = otlp.received.length;
    // A long export delay: only the shutdown flush can deliver the span.
    const s = await spawnServe(fx, [], { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: 'oracx-edge', OTEL_BSP_SCHEDULE_DELAY: '60000' });
    const traceId = hex(16);
    expect((await call(`${s.url}/v1/models`, fx.keys.predictor, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } })).status).toBe(200);
    const stopped = await s.stop();
    expect(stopped.code).toBe(0);
    const posts = otlp.received.slice(before).filter((r) => r.path === '/v1/traces');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts[0]!.headers['content-type']).toBe('application/x-protobuf');
    const body = Buffer.concat(posts.map((p) => p.body));
    expect(body.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    expect(body.includes(Buffer.from('GET /v1/models'))).toBe(true);
    expect(body.includes(Buffer.from('oracx-edge'))).toBe(true);
  });
});
