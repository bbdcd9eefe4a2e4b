/**
 * KServe Open Inference Protocol v2, for tooling that speaks it: health, server and model metadata, and infer on raw
 * input tensors (the ONNX graph's inputs: `features` FP32 [N, F], and `home`/`away`/`competition` INT64 [N] for
 * models with team inputs). Errors are problem documents with the protocol's `error` member added.
 * Raw tensors carry no match, so v2 forecasts are not stored; /v1 is the API that records them.
 */
import type { FastifyInstance } from 'fastify';
import { Tensor } from 'onnxruntime-node';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Type } from 'typebox';
import type { LoadedModel } from '../../../predict/model.js';
import { HttpProblem } from '../../problem.js';
import type { ServingRuntime } from '../../runtime/serving.js';
import type { ModelSlot } from '../../runtime/slot.js';
import { errorResponses } from '../../schemas.js';

/** Rows one infer call may carry. */
export const MAX_INFER_ROWS = 10_000;

const DATATYPES = { float32: 'FP32', int64: 'INT64' } as const;

const TensorMeta = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMeta),
  outputs: Type.Array(TensorMeta),
});
const Scalar = Type.Union([Type.Number(), Type.Array(Type.Any())]);
const InferInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  shape: Type.Array(Type.Integer({ minimum: 0, maximum: MAX_INFER_ROWS * 1000 }), { minItems: 1, maxItems: 2 }),
  datatype: Type.Union([Type.Literal('FP32'), Type.Literal('INT64')]),
  parameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
  data: Type.Array(Scalar, { maxItems: MAX_INFER_ROWS * 200 }),
});
const InferBody = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 200 })),
  parameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
  inputs: Type.Array(InferInput, { minItems: 1, maxItems: 4 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String() }, { additionalProperties: true }), { maxItems: 1 })),
});
const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()), data: Type.Array(Type.Number()) })),
});
const ModelParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });
const VersionParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }), version: Type.String({ minLength: 1, maxLength: 32 }) });

/** The name a model answers to in v2: its registered name, else its variant. */
function v2Name(slot: ModelSlot): string {
  return slot.current.identity.name ?? slot.variant;
}

function v2Version(model: LoadedModel): string {
  return model.identity.version === null ? '1' : String(model.identity.version);
}

/** The served model a path names: by registered name or variant, and version when given. */
function find(runtime: ServingRuntime, name: string, version?: string): LoadedModel {
  const slots = runtime.slots().filter((s) => v2Name(s) === name || s.variant === name);
  if (slots.length === 0)
    throw new HttpProblem(404, 'model_not_found', `no served model "${name}"; served: ${runtime.slots().map(v2Name).join(', ')}`, {
      error: `model ${name} not found`,
    });
  if (version === undefined) return slots[0]!.current;
  const slot = slots.find((s) => v2Version(s.current) === version);
  if (!slot)
    throw new HttpProblem(
      404,
      'model_version_not_found',
      `model "${name}" is not served at version ${version}; served: ${slots.map((s) => v2Version(s.current)).join(', ')}`,
      { error: `model ${name} version ${version} not found` },
    );
  return slot.current;
}

function metadataOf(model: LoadedModel, name: string, versions: string[]) {
  const width = model.metadata.featureNames.length;
  return {
    name,
    versions,
    platform: 'onnxruntime_onnx',
    inputs: model.metadata.inputs.map((i) => ({
      name: i.name,
      datatype: DATATYPES[i.type],
      shape: i.shape.map((d) => (d === 'N' ? -1 : i.name === 'features' ? width : d)),
    })),
    outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }],
  };
}

const flat = (data: unknown[]): unknown[] => (data.some(Array.isArray) ? (data.flat(Infinity) as unknown[]) : data);

/** Feeds from the request's tensors, checked against the model's inputs; returns them with the row count. */
function feedsOf(
  model: LoadedModel,
  inputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }>,
): { rows: number; tensors: Map<string, { shape: number[]; data: Float32Array | BigInt64Array }> } {
  const specs = model.metadata.inputs;
  const byName = new Map(inputs.map((i) => [i.name, i]));
  for (const i of inputs)
    if (!specs.some((s) => s.name === i.name)) throw bad(`unknown input "${i.name}"; the model takes ${specs.map((s) => s.name).join(', ')}`);
  let rows = -1;
  const tensors = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
  for (const spec of specs) {
    const given = byName.get(spec.name);
    if (!given) throw bad(`input "${spec.name}" is missing`);
    if (given.datatype !== DATATYPES[spec.type]) throw bad(`input "${spec.name}" must be ${DATATYPES[spec.type]}, got ${given.datatype}`);
    const width = spec.name === 'features' ? model.metadata.featureNames.length : null;
    const shapeOk = width === null ? given.shape.length === 1 : given.shape.length === 2 && given.shape[1] === width;
    if (!shapeOk) throw bad(`input "${spec.name}" must have shape ${width === null ? '[N]' : `[N, ${width}]`}, got [${given.shape.join(', ')}]`);
    const n = given.shape[0]!;
    if (n > MAX_INFER_ROWS) throw bad(`at most ${MAX_INFER_ROWS} rows per request, got ${n}`, 413);
    if (rows !== -1 && n !== rows) throw bad(`inputs disagree on the number of rows (${rows} vs ${n})`);
    rows = n;
    const values = flat(given.data);
    const size = given.shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw bad(`input "${spec.name}" has ${values.length} values for shape [${given.shape.join(', ')}] (${size})`);
    if (spec.type === 'float32') {
      const data = new Float32Array(size);
      for (let k = 0; k < size; k++) {
        const v = values[k];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`input "${spec.name}" value ${k} is not a finite number`);
        data[k] = v;
        if (!Number.isFinite(data[k]!)) throw bad(`input "${spec.name}" value ${k} (${v}) is outside the FP32 range`);
      }
      tensors.set(spec.name, { shape: given.shape, data });
    } else {
      const data = new BigInt64Array(size);
      for (let k = 0; k < size; k++) {
        const v = values[k];
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`input "${spec.name}" value ${k} must be a non-negative integer index`);
        data[k] = BigInt(v);
      }
      tensors.set(spec.name, { shape: given.shape, data });
    }
  }
  return { rows, tensors };
}

function bad(detail: string, status = 400): HttpProblem {
  return new HttpProblem(status, 'invalid_tensor', detail, { error: detail });
}

export async function inferenceRoutes(
  app: FastifyInstance,
  { runtime, version, maxRows }: { runtime: ServingRuntime; version: string; maxRows: number },
): Promise<void> {
  const ready = async () => (await runtime.readiness()).ready;
  app.get(
    '/v2',
    {
      config: { access: 'public' },
      schema: {
        tags: ['v2'],
        summary: 'Server metadata',
        response: { 200: Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) }) },
      },
    },
    async () => ({ name: 'oracx', version, extensions: [] }),
  );
  app.get(
    '/v2/health/live',
    {
      config: { access: 'public' },
      schema: { tags: ['v2'], summary: 'Server live', response: { 200: Type.Object({ live: Type.Boolean() }) } },
    },
    async () => ({ live: true }),
  );
  app.get(
    '/v2/health/ready',
    {
      config: { access: 'public' },
      schema: { tags: ['v2'], summary: 'Server ready', response: { 200: Type.Object({ ready: Type.Boolean() }), 503: Type.Object({ ready: Type.Boolean() }) } },
    },
    async (_r, reply) => {
      const ok = await ready();
      return reply.code(ok ? 200 : 503).send({ ready: ok });
    },
  );

  for (const versioned of [false, true]) {
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    const params = versioned ? VersionParams : ModelParams;
    const pick = (p: { name: string; version?: string }) => find(runtime, p.name, p.version);
    app.get(
      base,
      {
        config: { access: 'viewer' },
        schema: { tags: ['v2'], summary: 'Model metadata', params, response: { 200: ModelMetadata, ...errorResponses({}, 404) } },
      },
      async (request) => {
        const p = request.params as { name: string; version?: string };
        // Every served version of the name (champion and challenger may be two versions of one model).
        const versions = [
          ...new Set(
            runtime
              .slots()
              .filter((s) => v2Name(s) === p.name || s.variant === p.name)
              .map((s) => v2Version(s.current)),
          ),
        ];
        return metadataOf(pick(p), p.name, versions);
      },
    );
    app.get(
      `${base}/ready`,
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['v2'],
          summary: 'Model ready',
          params,
          response: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }), ...errorResponses({}, 404) },
        },
      },
      async (request) => {
        const p = request.params as { name: string; version?: string };
        pick(p);
        return { name: p.name, ready: await ready() };
      },
    );
    app.post(
      `${base}/infer`,
      {
        config: { access: 'predictor' },
        schema: {
          tags: ['v2'],
          summary: 'Inference on raw input tensors',
          params,
          body: InferBody,
          response: { 200: InferResponse, ...errorResponses({}, 404, 413, 415) },
        },
      },
      async (request) => {
        const p = request.params as { name: string; version?: string };
        const body = request.body as {
          id?: string;
          inputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }>;
          outputs?: Array<{ name: string }>;
        };
        const model = pick(p);
        if (body.outputs?.some((o) => o.name !== 'probs')) throw bad(`the only output is "probs"`);
        const { rows, tensors } = feedsOf(model, body.inputs);
        const result = (data: number[]) => ({
          model_name: p.name,
          model_version: v2Version(model),
          ...(body.id !== undefined ? { id: body.id } : {}),
          outputs: [{ name: 'probs', datatype: 'FP32', shape: [rows, 3], data }],
        });
        if (rows === 0) return result([]);
        const out = new Float32Array(rows * 3);
        // Runs of at most maxRows, a turn of the event loop between them (ORT blocks while it computes).
        for (let from = 0; from < rows; from += maxRows) {
          if (from > 0) await nextTurn();
          const to = Math.min(rows, from + maxRows);
          const feeds: Record<string, Tensor> = {};
          for (const [name, t] of tensors) {
            const stride = t.shape.length === 2 ? t.shape[1]! : 1;
            const slice = t.data.subarray(from * stride, to * stride);
            feeds[name] =
              t.data instanceof Float32Array
                ? new Tensor('float32', slice as Float32Array, t.shape.length === 2 ? [to - from, stride] : [to - from])
                : new Tensor('int64', slice as BigInt64Array, [to - from]);
          }
          out.set(await model.scorer.score(feeds), from * 3);
        }
        // Finite inputs can still overflow inside the graph (huge features times weights): no probabilities to give.
        const nan = out.findIndex((x) => !Number.isFinite(x));
        if (nan >= 0) throw bad(`row ${Math.floor(nan / 3)}: the model's output is not a number for these inputs (values too large for FP32 arithmetic?)`);
        return result(Array.from(out));
      },
    );
  }
}
