/**
 * Handlers of the tune, predict and train queues. Their modules (models, tfjs, onnxruntime) load inside `run`, so a
 * worker of other queues, and `oracx --help`, never load them. A UserError of a job (a bad model, an unknown study
 * setting) is the job's own: retrying cannot fix it, so it fails at once, kept for `oracx jobs show`.
 */
import { UserError } from '../errors.js';
import { PermanentJobError } from './collect-job.js';
import type { JobContext, JobHandler } from './handlers.js';
import { PredictPayload, TrainPayload, TunePayload } from './ml-payloads.js';
import type { PredictJobResult } from './predict-job.js';
import type { TrainJobResult } from './train-job.js';
import type { TuneJobResult } from './tune-job.js';

async function permanentUserErrors<R>(run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UserError) throw new PermanentJobError(error.hint ? `${error.message} — ${error.hint}` : error.message);
    throw error;
  }
}

const tune: JobHandler<TunePayload, TuneJobResult> = {
  schema: TunePayload,
  describe: (p) => `a trial of study ${p.spec.study} (${p.spec.model}, slot ${p.slot + 1}/${p.spec.trials})`,
  run: (p, c: JobContext) => permanentUserErrors(async () => (await import('./tune-job.js')).runTuneJob(c.store, p, c.jobId, c.signal)),
  summarize: (r) =>
    r.number === null ? 'the study needs no more trials' : `trial ${r.number} ${r.status}${r.value === null ? '' : ` (RPS ${r.value.toFixed(5)})`}`,
};

const predict: JobHandler<PredictPayload, PredictJobResult> = {
  schema: PredictPayload,
  describe: (p) => `forecasting ${p.matchIds.length} match(es) with ${p.model.who.uri}`,
  run: (p, c: JobContext) => permanentUserErrors(async () => (await import('./predict-job.js')).runPredictJob(c.store, p, c.jobId)),
  summarize: (r) => `${r.forecasts.length} forecast(s) ${r.written ? 'stored' : 'already stored by an earlier run of the job'}`,
};

const train: JobHandler<TrainPayload, TrainJobResult> = {
  schema: TrainPayload,
  describe: (p) => `training ${p.options.model} on ${p.options.featureSet}`,
  run: (p, c: JobContext) => permanentUserErrors(async () => (await import('./train-job.js')).runTrainJob(c.store, p, c.jobId, c.signal)),
  summarize: (r) => `run ${r.runId}${r.alreadyTrained ? ' (trained by an earlier run of the job)' : ''}, model version ${r.modelVersionId ?? '—'}`,
};

/** The machine-learning queues' handlers, spread into HANDLERS. */
export const ML_HANDLERS = {
  tune: tune as unknown as JobHandler<never, never>,
  predict: predict as unknown as JobHandler<never, never>,
  train: train as unknown as JobHandler<never, never>,
};
