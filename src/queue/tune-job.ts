/** The `tune` job: one trial of a study shared through the store, run by the same code as an in-process `oracx tune`. */
import { hostname } from 'node:os';
import { prepareStudy, runTrial, type PreparedStudy, type TuneOptions } from '../../pipelines/tune.js';
import { claimJobTrial, jobWorker, requeueDead } from '../../pipelines/tune-study.js';
import type { Store } from '../store/connect.js';
import { PermanentJobError } from './collect-job.js';
import type { TunePayload } from './ml-payloads.js';

/** What a tune job returns: the trial it ended (null: the study had no trial left to run). */
export interface TuneJobResult {
  study: string;
  number: number | null;
  status: 'complete' | 'pruned' | 'failed' | 'already ended' | 'nothing to run';
  value: number | null;
}

// Loading the data and planning the folds is the slow part of a trial's setup, the same for every trial of a study:
// a worker keeps the last study it prepared (as a promise, so concurrent jobs of one study share one load).
let prepared: { key: string; study: Promise<PreparedStudy> } | null = null;

/** The TuneOptions a job's spec stands for (no timeout or output file: the enqueuing command owns those). */
export function tuneOptionsOf(spec: TunePayload['spec'], signal?: AbortSignal): TuneOptions {
  return { ...spec, signal };
}

/** Runs one trial job; idempotent: a job is one trial however many times it runs (see claimJobTrial). */
export async function runTuneJob(store: Store, payload: TunePayload, jobId: string, signal: AbortSignal): Promise<TuneJobResult> {
  if (payload.store !== store.location) {
    throw new PermanentJobError(
      `job is for store ${payload.store}, but this worker writes to ${store.location}: give each store its own --queue-prefix, then oracx jobs retry ID`,
    );
  }
  // Checked before prepareStudy, which would create a study that is gone (and leave an empty one behind).
  const exists = await store.db.selectFrom('tune_studies').select('id').where('name', '=', payload.spec.study).executeTakeFirst();
  if (!exists)
    throw new PermanentJobError(
      `study "${payload.spec.study}" is not in ${store.location} (deleted since the job was enqueued): run oracx tune --distributed again`,
    );
  const options = tuneOptionsOf(payload.spec, signal);
  const cacheKey = `${store.location}\0${payload.studyKey}`;
  if (prepared?.key !== cacheKey) prepared = { key: cacheKey, study: prepareStudy(store, options) };
  let study: PreparedStudy;
  try {
    study = await prepared.study;
  } catch (error) {
    prepared = null;
    throw error;
  }
  if (study.start.key !== payload.studyKey) {
    throw new PermanentJobError(
      `study "${payload.spec.study}" in ${store.location} is not the one this job was enqueued for (it was deleted and created again): run oracx tune --distributed again`,
    );
  }
  const host = hostname();
  await requeueDead(store, study.studyId, options.staleAfterMs, host);
  const claim = await claimJobTrial(store, study.studyId, options, jobWorker(host, process.pid, jobId), jobId);
  const base = { study: payload.spec.study };
  if (claim === null) return { ...base, number: null, status: 'nothing to run', value: null };
  if (claim.kind === 'ended') return { ...base, number: claim.number, status: 'already ended', value: null };
  const event = await runTrial(store, study.studyId, claim.trial, study.universe, study.folds, options);
  // Only a stopping worker interrupts a trial; the trial is back in the study's queue and this job is retried.
  if (event === null) throw new Error(`trial ${claim.trial.number} interrupted; it is queued again in the study`);
  return { ...base, number: event.number, status: event.status, value: event.value };
}
