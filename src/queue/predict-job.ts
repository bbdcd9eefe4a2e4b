/** The `predict` job: one batch of stored matches scored with the model it carries, written to the predictions table once. */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { openPredictor, predictRun } from '../../pipelines/predict-run.js';
import type { Forecast } from '../../pipelines/predict.js';
import { openModelBytes } from '../predict/model.js';
import type { PredictionRow } from '../predict/predictions.js';
import { PREDICTION_COLUMNS } from '../predict/predictions.js';
import type { Store } from '../store/connect.js';
import { PermanentJobError } from './collect-job.js';
import type { PredictPayload } from './ml-payloads.js';

/** What a predict job returns: its forecasts (in its matches' order) and whether this run wrote them. */
export interface PredictJobResult {
  forecasts: Forecast[];
  /** False when an earlier run of the same job had already stored them (nothing written twice). */
  written: boolean;
}

/**
 * Writes a batch's rows unless rows of the same job are already stored, in one transaction. The advisory lock on the
 * job id makes two runs of one job (a stalled lock handed to another worker while the first still runs) take turns.
 */
export async function writeOnce(store: Store, jobId: string, rows: readonly PredictionRow[]): Promise<boolean> {
  return store.db.transaction().execute(async (tx) => {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`oracx:predict:${jobId}`}))`.execute(tx);
    const done = await tx.selectFrom('predictions').select('id').where('request_id', '=', jobId).limit(1).executeTakeFirst();
    if (done) return false;
    if (rows.length > 0) {
      const values = rows.map((row) => Object.fromEntries(PREDICTION_COLUMNS.map((c) => [c, row[c] ?? null])) as PredictionRow);
      for (let i = 0; i < values.length; i += 500)
        await tx
          .insertInto('predictions')
          .values(values.slice(i, i + 500))
          .execute();
    }
    return true;
  });
}

/** Scores one batch by the code path of an in-process `oracx predict` (predictRun) and stores it once. */
export async function runPredictJob(store: Store, payload: PredictPayload, jobId: string): Promise<PredictJobResult> {
  if (payload.store !== store.location) {
    throw new PermanentJobError(
      `job is for store ${payload.store}, but this worker writes to ${store.location}: give each store its own --queue-prefix, then oracx jobs retry ID`,
    );
  }
  const bytes = new Uint8Array(gunzipSync(Buffer.from(payload.model.onnx, 'base64')));
  if (createHash('sha256').update(bytes).digest('hex') !== payload.model.sha256)
    throw new PermanentJobError(`the model in job ${jobId} does not match its sha256: the job is corrupt`);
  const model = await openModelBytes(store, bytes, payload.model.who, {});
  try {
    const predictor = await openPredictor(store, model);
    let written = false;
    const { forecasts } = await predictRun(store, predictor, model, {
      requests: payload.matchIds.map((matchId) => ({ matchId })),
      principal: payload.principal,
      requestId: jobId,
      write: async (rows) => {
        written = await writeOnce(store, jobId, rows);
      },
    });
    return { forecasts, written };
  } finally {
    await model.release();
  }
}
