/** The `train` job: `oracx train` with the job's options, on a worker; a job stages at most one model version. */
import { train, type TrainOptions } from '../../pipelines/train.js';
import type { Store } from '../store/connect.js';
import { PermanentJobError } from './collect-job.js';
import type { TrainPayload } from './ml-payloads.js';

/** What a train job returns (the printable part of TrainResult); `alreadyTrained` when an earlier run of the job did it. */
export interface TrainJobResult {
  runId: number;
  modelVersionId: number | null;
  model: string;
  featureSet: string;
  params: Record<string, unknown>;
  seed: number;
  competitions: string[];
  nMatches: number;
  trainFrom: string;
  trainUntil: string;
  dataHash: string;
  artifactPath: string;
  trainMetrics: { rps: number; logLoss: number; brier: number; accuracy: number } | null;
  alreadyTrained: boolean;
}

/**
 * Runs one train job. Retried after its worker died, it finds the runs of its earlier attempts (train_jobs): a
 * completed one is returned as it is (no second model version), one left running is marked failed, then it fits again.
 */
export async function runTrainJob(store: Store, payload: TrainPayload, jobId: string, signal: AbortSignal): Promise<TrainJobResult> {
  if (payload.store !== store.location) {
    throw new PermanentJobError(
      `job is for store ${payload.store}, but this worker writes to ${store.location}: give each store its own --queue-prefix, then oracx jobs retry ID`,
    );
  }
  return trainOnce(store, jobId, { ...payload.options, signal });
}

/**
 * Trains for job `jobId` at most once: the training runs of its earlier attempts are found (train_jobs); a completed
 * one is returned as it is, one left running (its worker died mid-fit) is marked failed, then it fits again. Shared by
 * train jobs and the train stages of stage jobs (pipelines/pipeline-stages.ts).
 */
export async function trainOnce(store: Store, jobId: string, options: TrainOptions): Promise<TrainJobResult> {
  const earlier = await store.db
    .selectFrom('train_jobs as j')
    .innerJoin('training_runs as r', 'r.id', 'j.run_id')
    .leftJoin('model_versions as v', 'v.run_id', 'r.id')
    .select([
      'r.id',
      'r.status',
      'r.model',
      'r.feature_set',
      'r.params',
      'r.seed',
      'r.competitions',
      'r.n_matches',
      'r.train_from',
      'r.train_until',
      'r.data_hash',
      'r.artifact_path',
      'r.metrics',
      'v.id as version_id',
    ])
    .where('j.job_id', '=', jobId)
    .orderBy('r.id')
    .execute();
  const done = earlier.find((r) => r.status === 'completed');
  if (done) {
    return {
      runId: Number(done.id),
      modelVersionId: done.version_id === null ? null : Number(done.version_id),
      model: done.model,
      featureSet: done.feature_set,
      params: JSON.parse(done.params) as Record<string, unknown>,
      seed: done.seed,
      competitions: done.competitions.split(',').filter(Boolean),
      nMatches: done.n_matches,
      trainFrom: String(done.train_from),
      trainUntil: String(done.train_until),
      dataHash: done.data_hash ?? '',
      artifactPath: done.artifact_path ?? '',
      trainMetrics: done.metrics ? (JSON.parse(done.metrics) as TrainJobResult['trainMetrics']) : null,
      alreadyTrained: true,
    };
  }
  for (const r of earlier.filter((r) => r.status === 'running')) {
    await store.db
      .updateTable('training_runs')
      .set({ status: 'failed', error: `its worker stopped mid-fit; job ${jobId} was retried`, finished_at: new Date().toISOString() })
      .where('id', '=', r.id)
      .where('status', '=', 'running')
      .execute();
  }
  const result = await train(store, {
    ...options,
    onStart: async (start) => {
      await options.onStart?.(start);
      await store.db.insertInto('train_jobs').values({ job_id: jobId, run_id: start.runId }).execute();
    },
  });
  return {
    runId: result.runId,
    modelVersionId: result.modelVersionId,
    model: result.model,
    featureSet: result.featureSet,
    params: result.params,
    seed: result.seed,
    competitions: result.competitions,
    nMatches: result.nMatches,
    trainFrom: result.trainFrom,
    trainUntil: result.trainUntil,
    dataHash: result.dataHash,
    artifactPath: result.artifactPath,
    trainMetrics: result.trainMetrics,
    alreadyTrained: false,
  };
}
