/**
 * Payloads of the tune, predict and train queues (versioned like the collect payload, see payload.ts) and their job
 * ids: each id is a hash of what the job computes, so enqueueing the same work again finds the job already there.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Origin, PAYLOAD_VERSION } from './payload.js';

const sha = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);

const ParamValue = z.union([z.number(), z.string(), z.boolean()]);
const WalkForward = z.union([
  z.object({ kind: z.literal('season'), update: z.union([z.number(), z.literal('none')]).optional() }).strict(),
  z.object({ kind: z.literal('days'), days: z.number().int().min(1) }).strict(),
]);

/** The study a tune job adds a trial to: every setting openStudy compares, plus the sampler's. */
export const TuneSpec = z
  .object({
    study: z.string().min(1),
    model: z.string(),
    featureSet: z.string(),
    competitions: z.array(z.string()).min(1),
    seasons: z.array(z.string()),
    lastSeasons: z.number().int().min(1).optional(),
    walkForward: WalkForward,
    trainSeasons: z.number().int().min(1).optional(),
    sampler: z.enum(['tpe', 'random']),
    trials: z.number().int().min(1),
    seed: z.number().int(),
    fixed: z.record(z.string(), ParamValue),
    staleAfterMs: z.number().int().min(1),
  })
  .strict();
export type TuneSpec = z.infer<typeof TuneSpec>;

/** One trial of a shared study: the worker claims the study's next trial (or takes back the one this job left). */
export const TunePayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('tune'),
    store: z.string(),
    /** The study's key (openStudy): a study deleted and created again under the same name is another study. */
    studyKey: z.string(),
    /** This job's place among the study's trial jobs (0-based). */
    slot: z.number().int().min(0),
    spec: TuneSpec,
    origin: Origin,
  })
  .strict();
export type TunePayload = z.infer<typeof TunePayload>;

/** Job `slot` of a study: the same study (key) in the same store always gives the same ids. */
export function tuneJobId(store: string, studyKey: string, slot: number): string {
  return `tune-${sha(['tune', store, studyKey]).slice(0, 24)}-${slot}`;
}

/** What stored forecasts name their model by (ModelIdentity minus what the ONNX bytes tell). */
const ModelWho = z
  .object({ uri: z.string(), name: z.string().nullable(), version: z.number().int().nullable(), alias: z.string().nullable(), run: z.string().nullable() })
  .strict();

/** A batch of stored matches to forecast with one model, whose ONNX bytes travel in the job (workers need no registry). */
export const PredictPayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('predict'),
    store: z.string(),
    model: z.object({ who: ModelWho, sha256: z.string().regex(/^[0-9a-f]{64}$/), onnx: z.string() }).strict(),
    /** Match ids, in the order the command prints them. */
    matchIds: z.array(z.number().int().min(1)).min(1),
    /** The feature state the command saw (latest result date and count): new results make new jobs. */
    state: z.object({ frontier: z.string().nullable(), results: z.number().int() }).strict(),
    principal: z.string().nullable(),
    origin: Origin,
  })
  .strict();
export type PredictPayload = z.infer<typeof PredictPayload>;

/** A batch's id: the model (its bytes' digest and name), the matches, the feature state and the store. */
export function predictJobId(p: Pick<PredictPayload, 'store' | 'model' | 'matchIds' | 'state' | 'principal'>): string {
  return `predict-${sha(['predict', p.store, p.model.sha256, p.model.who, p.matchIds, p.state, p.principal])}`;
}

/** The options of one `oracx train`, run by a worker. */
export const TrainPayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('train'),
    store: z.string(),
    options: z
      .object({
        model: z.string(),
        featureSet: z.string(),
        competitions: z.array(z.string()),
        trainFrom: z.string().optional(),
        trainUntil: z.string().optional(),
        seed: z.number().int(),
        params: z.record(z.string(), ParamValue),
        /** Must be a folder the workers can write at this path (a shared volume): the model version points at it. */
        artifactsDir: z.string(),
      })
      .strict(),
    /** The training data's hash when enqueued (dataHash): the same options on other data make another job. */
    dataHash: z.string(),
    origin: Origin,
  })
  .strict();
export type TrainPayload = z.infer<typeof TrainPayload>;

/** A training's id: its options, the data they select and the store. */
export function trainJobId(p: Pick<TrainPayload, 'store' | 'options' | 'dataHash'>): string {
  return `train-${sha(['train', p.store, p.options, p.dataHash])}`;
}
