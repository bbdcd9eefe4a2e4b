// The stage job (oracx run --distributed): its payload refuses another version and unknown keys, its id is stable per
// (store, pipeline run, stage), and its handler, on a real store without Redis, returns outputs or a failed gate as
// results and tells permanent failures (another store, no such stage, a stage's own error) from retried ones.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { insertPipelineRun } from '../../pipelines/pipeline-records.js';
import { PermanentJobError } from '../../src/queue/collect-job.js';
import { HANDLERS } from '../../src/queue/handlers.js';
import { origin, PAYLOAD_VERSION, payloadProblem, QUEUE_NAMES } from '../../src/queue/payload.js';
import { subjectOf } from '../../src/queue/queues.js';
import { runStageJob, stageJobId, StagePayload } from '../../src/queue/stage-job.js';
import type { Store } from '../../src/store/connect.js';
import { FIXTURES } from '../helpers/cli.js';
import { jobContext } from '../helpers/jobs.js';
import { DIALECTS, freshStore, tempDir } from '../helpers/stores.js';

const SPEC = stringify({
  name: 'e0',
  stages: {
    collect: { inputs: [path.join(FIXTURES, 'E0_2019-2020.csv')] },
    train: { model: 'logreg', features: 'core@2', competitions: ['XX'], seed: 7, params: { l2: 0.1 } },
    fit: { kind: 'train', model: 'logreg', features: 'core@2', competitions: ['E0'], seed: 7, params: { l2: 0.1 } },
  },
});

const payload = (store: string, over: Partial<StagePayload> = {}) => ({
  v: PAYLOAD_VERSION,
  kind: 'stage' as const,
  store,
  pipeline: 'e0',
  file: '/somewhere/oracx.yaml',
  cwd: tempDir(),
  spec: SPEC,
  stage: 'collect',
  upstream: {},
  tags: { pipeline: 'e0', pipelineRunId: 12, stage: 'collect', parentRunId: null, inputHash: 'abc' },
  origin: origin('test'),
  ...over,
});
const context = (store: Store) => jobContext(store, 'stage-x');

describe('stage payload and job id', () => {
  it('is a queue with a handler; another version or an unknown key is refused', () => {
    expect(QUEUE_NAMES).toContain('stage');
    expect(HANDLERS.stage).toBeDefined();
    const good = payload('postgres://u@h/db');
    expect(payloadProblem(good, 'test', StagePayload)).toBeNull();
    expect(payloadProblem({ ...good, v: PAYLOAD_VERSION + 1 }, 'test', StagePayload)).toMatch(/enqueued by a newer oracx/);
    expect(payloadProblem({ ...good, v: 0 }, 'test', StagePayload)).toMatch(/another oracx version/);
    expect(payloadProblem({ ...good, extra: 1 }, 'test', StagePayload)).toMatch(/malformed at \(top level\).*extra/);
    expect(payloadProblem({ ...good, tags: { ...good.tags, more: 1 } }, 'test', StagePayload)).toMatch(/malformed at tags/);
    expect(payloadProblem({ ...good, upstream: { train: { kind: 'nope', outputs: {} } } }, 'test', StagePayload)).toMatch(/malformed at upstream\.train\.kind/);
    expect(subjectOf({ name: 'stage', data: good })).toBe('stage collect of pipeline e0');
  });

  it('has one id per (store, pipeline run, stage)', () => {
    const id = stageJobId('postgres://u@h/db', 12, 'train');
    expect(id).toMatch(/^stage-[0-9a-f]{16}-12-train$/);
    expect(stageJobId('postgres://u@h/db', 12, 'train')).toBe(id);
    expect(stageJobId('postgres://u@h/db', 13, 'train')).not.toBe(id);
    expect(stageJobId('postgres://u@h/db', 12, 'evaluate')).not.toBe(id);
    expect(stageJobId('postgres://u@h/other', 12, 'train')).not.toBe(id);
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`stage job on ${dialect.name}`, () => {
    it('runs the stage; permanent and transient failures are told apart', { timeout: 60_000 }, async () => {
      const store = await freshStore(dialect);
      // The pipeline run the stage belongs to, going on (its command waits for the job).
      const runId = await insertPipelineRun(store, { name: 'e0', file: 'oracx.yaml', stages: [] }, 'test');
      const tags = { pipeline: 'e0', pipelineRunId: runId, stage: 'collect', parentRunId: null, inputHash: 'abc' };
      const parse = (over: Partial<StagePayload> = {}) => StagePayload.parse(payload(store.location, { tags, ...over }));
      try {
        const done = await runStageJob(parse(), context(store));
        expect(done).toMatchObject({ status: 'succeeded', outputs: { files: 1 } });
        await expect(runStageJob(parse({ store: 'postgres://elsewhere/db' }), context(store))).rejects.toThrow(PermanentJobError);
        await expect(runStageJob(parse({ stage: 'evaluate' }), context(store))).rejects.toThrow(/has no stage "evaluate"/);
        await expect(runStageJob(parse({ pipeline: 'other' }), context(store))).rejects.toThrow(/declares pipeline "e0", not "other"/);
        // A stage's own error (no matches of competition XX) fails the job at once.
        const own = runStageJob(parse({ stage: 'train' }), context(store));
        await expect(own).rejects.toThrow(PermanentJobError);
        // A run that is over (its command stopped, or it was closed as abandoned), or that this store does not hold:
        // the stage is not run, and the job completes saying why (no retry).
        const other = await runStageJob(parse({ tags: { ...tags, pipelineRunId: runId + 1000 } }), context(store));
        expect(other).toEqual({ status: 'dropped', reason: `pipeline run ${runId + 1000} of e0 is not in this store` });
        await store.db.updateTable('pipeline_runs').set({ status: 'failed' }).where('id', '=', runId).execute();
        const before = await store.db
          .selectFrom('ingest_runs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(await runStageJob(parse(), context(store))).toEqual({ status: 'dropped', reason: `pipeline run ${runId} is over (failed)` });
        const after = await store.db
          .selectFrom('ingest_runs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(after.n)).toBe(Number(before.n));
      } finally {
        await store.close();
      }
      // The store gone (as when the database is unreachable): not permanent, BullMQ retries it with backoff.
      const error = await runStageJob(parse(), context(store)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PermanentJobError);
    });

    it('a train stage job run again (its worker died after the fit) returns its training run, fitting no second one', { timeout: 60_000 }, async () => {
      const store = await freshStore(dialect);
      try {
        const runId = await insertPipelineRun(store, { name: 'e0', file: 'oracx.yaml', stages: [] }, 'test');
        const tags = { pipeline: 'e0', pipelineRunId: runId, stage: 'collect', parentRunId: null, inputHash: 'abc' };
        const parse = (stage: string) => StagePayload.parse(payload(store.location, { stage, tags: { ...tags, stage } }));
        expect(await runStageJob(parse('collect'), context(store))).toMatchObject({ status: 'succeeded' });
        const runs = async () =>
          Number(
            (
              await store.db
                .selectFrom('training_runs')
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          );
        const first = await runStageJob(parse('fit'), jobContext(store, 'stage-fit'));
        expect(first).toMatchObject({ status: 'succeeded', outputs: { model: 'logreg', competitions: ['E0'] } });
        expect(await runs()).toBe(1);
        // The same job again (a retry): the same outputs, no second fit.
        expect(await runStageJob(parse('fit'), jobContext(store, 'stage-fit'))).toEqual(first);
        expect(await runs()).toBe(1);
        // Another job (another pipeline run) fits its own.
        const other = await runStageJob(parse('fit'), jobContext(store, 'stage-fit-2'));
        expect((other as { outputs: { runId: number } }).outputs.runId).not.toBe((first as { outputs: { runId: number } }).outputs.runId);
        expect(await runs()).toBe(2);
      } finally {
        await store.close();
      }
    });
  });
}
