/**
 * The `stage` job: one stage of an `oracx run --distributed`, executed by a worker. The command keeps the control
 * (lease, input hashes, skips, stage_runs, the MLflow parent run); the job only executes the stage (runStage) on the
 * worker's store, with the oracx.yaml text, the outputs of the stages it depends on and the pipeline tags it carries.
 *
 * Outcomes: outputs, or a failed gate, are completed jobs (a gate that says "not better" is an answer: no retry; the
 * command turns it back into StageGateFailed); a stage's own error (UserError) fails the job at once; anything else
 * (the store or MLflow unreachable) is retried with backoff. A job whose pipeline run is over (its command stopped or
 * died) completes as dropped without running the stage.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { JobContext, JobHandler } from './handlers.js';
import { PermanentJobError } from './collect-job.js';
import { Origin, PAYLOAD_VERSION } from './payload.js';
import { jobPipeline } from './pipeline-job.js';

const StageKind = z.enum(['collect', 'features', 'train', 'evaluate', 'register', 'promote']);
const Outputs = z.record(z.string(), z.unknown());

export const StagePayload = z
  .object({
    v: z.literal(PAYLOAD_VERSION),
    kind: z.literal('stage'),
    /** The store's printable location (password redacted): workers run only stages of the store they were started on. */
    store: z.string(),
    /** The pipeline's name (oracx.yaml `name:`), checked against the text. */
    pipeline: z.string(),
    /** Where the file was on the enqueuing machine, for messages. */
    file: z.string(),
    /** The folder relative paths (collect inputs, artifacts) resolve against. */
    cwd: z.string(),
    /** The oracx.yaml text the command runs. */
    spec: z.string(),
    /** The stage to execute. */
    stage: z.string(),
    /** The outputs (and kinds) of the stages it depends on, by name: only its deps. */
    upstream: z.record(z.string(), z.object({ kind: StageKind, outputs: Outputs }).strict()),
    /** The MLflow tags its runs get (PipelineTags): they nest under the command's pipeline run. */
    tags: z
      .object({
        pipeline: z.string(),
        pipelineRunId: z.number().int(),
        stage: z.string(),
        parentRunId: z.string().nullable(),
        inputHash: z.string(),
      })
      .strict(),
    origin: Origin,
  })
  .strict();
export type StagePayload = z.infer<typeof StagePayload>;

/**
 * What a stage job returns: the stage's outputs, its failed gate (with the outputs it measured), or why it was not
 * run (its pipeline run was over by the time a worker took it).
 */
export type StageJobResult =
  | { status: 'succeeded'; outputs: Record<string, unknown> }
  | { status: 'gate_failed'; message: string; outputs: Record<string, unknown> }
  | { status: 'dropped'; reason: string };

/**
 * Stage `stage` of pipeline run `pipelineRunId` in store `store`: enqueueing it again finds the same job; a new
 * pipeline run is a new job. Stage names are [\w.-]+, which job ids may hold.
 */
export function stageJobId(store: string, pipelineRunId: number, stage: string): string {
  const where = createHash('sha256').update(`stage\0${store}`).digest('hex').slice(0, 16);
  return `stage-${where}-${pipelineRunId}-${stage}`;
}

/** Runs one stage job on the worker's store. */
export async function runStageJob(payload: StagePayload, context: JobContext): Promise<StageJobResult> {
  const { store, logger } = context;
  const spec = await jobPipeline(payload, store, 'stages');
  const { runStage, StageGateFailed } = await import('../../pipelines/pipeline-stages.js');
  const stage = spec.stages.find((s) => s.name === payload.stage);
  if (!stage) throw new PermanentJobError(`${payload.file} has no stage "${payload.stage}"`);
  // The stage of a pipeline run that is over (its command was stopped, or killed and the next run closed the run as
  // abandoned) is not run: its outcome would be recorded nowhere, and it would run beside the stages of a later run.
  const runId = payload.tags.pipelineRunId;
  const run = await store.db.selectFrom('pipeline_runs').select('status').where('id', '=', runId).where('pipeline', '=', payload.pipeline).executeTakeFirst();
  if (run?.status !== 'running') {
    const reason = run ? `pipeline run ${runId} is over (${run.status})` : `pipeline run ${runId} of ${payload.pipeline} is not in this store`;
    logger.warn(`job ${context.jobId}: stage ${payload.stage} not run: ${reason}`);
    return { status: 'dropped', reason };
  }
  const upstream = Object.entries(payload.upstream);
  const up = { outputs: new Map(upstream.map(([name, u]) => [name, u.outputs])), kinds: new Map(upstream.map(([name, u]) => [name, u.kind])) };
  try {
    // The job's id: a retried job finds what its earlier attempts did (a train stage's training run).
    const env = { store, cwd: payload.cwd, env: process.env, logger, signal: context.signal, jobId: context.jobId };
    const outputs = await runStage(stage, env, up, payload.tags);
    return { status: 'succeeded', outputs };
  } catch (error) {
    if (error instanceof StageGateFailed) return { status: 'gate_failed', message: error.message, outputs: error.outputs };
    if (error instanceof UserError) throw new PermanentJobError(error.hint ? `${error.message} — ${error.hint}` : error.message);
    throw error;
  }
}

/** The worker's handler of the stage queue (src/queue/handlers.ts). */
export const stageHandler: JobHandler<StagePayload, StageJobResult> = {
  schema: StagePayload,
  describe: (p) => `stage ${p.stage} of pipeline ${p.pipeline} (pipeline run ${p.tags.pipelineRunId})`,
  run: runStageJob,
  summarize: (r) => (r.status === 'succeeded' ? 'stage succeeded' : r.status === 'dropped' ? `stage not run: ${r.reason}` : `stage ${r.message}`),
};
