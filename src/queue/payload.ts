/**
 * What a job carries, versioned: a worker handles only the payload version it was built for and refuses any other
 * (the job fails with a message naming both versions) rather than misreading a job from an older or newer oracx.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

/** Bump when a payload's meaning changes; workers of another version refuse the job. */
export const PAYLOAD_VERSION = 1;

/** Every queue name `oracx worker --queues` accepts (src/queue/handlers.ts says which ones this version runs). */
export const QUEUE_NAMES = ['collect', 'predict', 'train', 'tune', 'pipeline', 'stage'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Who enqueued a job: every payload carries it. */
export const Origin = z.object({ host: z.string(), pid: z.number().int(), oracx: z.string() });

/** One football-data file to collect: its bytes travel in the job, so workers need no shared filesystem. */
export const CollectPayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('collect'),
    /** The store's printable location (password redacted): workers write only to the store they were started on. */
    store: z.string(),
    /** The file's identity on the enqueuing machine (absolute path): quarantine rows and checkpoints use it. */
    source: z.string(),
    /** Its file name (the season is guessed from it). */
    name: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    season: z.string().nullable(),
    chunkSize: z.number().int().min(1),
    /** The file, gzipped, base64. */
    content: z.string(),
    origin: Origin,
  })
  .strict();
export type CollectPayload = z.infer<typeof CollectPayload>;

/** Stable job id: the same file (content), store, kind (and season override) always gives the same id. */
export function collectJobId(store: string, sha256: string, season: string | null): string {
  const digest = createHash('sha256')
    .update(`collect\0${store}\0${sha256}\0${season ?? ''}`)
    .digest('hex');
  return `collect-${digest.slice(0, 40)}`;
}

/** Who enqueued a job (shown by `jobs show`). */
export function origin(version: string): z.infer<typeof Origin> {
  return { host: hostname(), pid: process.pid, oracx: version };
}

/** Why a payload cannot be handled by this worker (checked against `schema`, the queue's payload), or null when it can. */
export function payloadProblem(data: unknown, version: string, schema: z.ZodType = CollectPayload): string | null {
  const v = typeof data === 'object' && data !== null ? (data as { v?: unknown }).v : undefined;
  if (v !== PAYLOAD_VERSION) {
    const newer = typeof v === 'number' && v > PAYLOAD_VERSION;
    return (
      `job payload version ${JSON.stringify(v ?? null)} is not the version this worker reads (${PAYLOAD_VERSION}, oracx ${version}): ` +
      (newer
        ? 'it was enqueued by a newer oracx; upgrade this worker, then `oracx jobs retry ID`'
        : 'it was enqueued by another oracx version; enqueue it again with this one')
    );
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `job payload is malformed at ${issue.path.join('.') || '(top level)'}: ${issue.message}`;
  }
  return null;
}
