// The pipeline job's handler on a real store (SQLite and PostgreSQL), without Redis: which failures are permanent (no
// retry: another store's job, a bad file, a stage's own error) and which are retried (the store unreachable).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PermanentJobError } from '../../src/queue/collect-job.js';
import { origin, PAYLOAD_VERSION } from '../../src/queue/payload.js';
import { PipelinePayload, runPipelineJob } from '../../src/queue/pipeline-job.js';
import type { Store } from '../../src/store/connect.js';
import { FIXTURES } from '../helpers/cli.js';
import { jobContext } from '../helpers/jobs.js';
import { DIALECTS, freshStore, tempDir } from '../helpers/stores.js';

const payload = (store: Store, spec: unknown, over: Partial<PipelinePayload> = {}): PipelinePayload =>
  PipelinePayload.parse({
    v: PAYLOAD_VERSION,
    kind: 'pipeline',
    store: store.location,
    pipeline: 'job',
    file: '/somewhere/oracx.yaml',
    cwd: tempDir(),
    spec: typeof spec === 'string' ? spec : stringify(spec),
    force: [],
    schedule: null,
    leaseMs: 60_000,
    origin: origin('test'),
    ...over,
  });
const context = (store: Store) => jobContext(store, '7');

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`pipeline job on ${dialect.name}`, () => {
    it('runs the pipeline and returns its report; permanent and transient failures are told apart', { timeout: 60_000 }, async () => {
      const store = await freshStore(dialect);
      const good = { name: 'job', stages: { collect: { inputs: [path.join(FIXTURES, 'E0_2019-2020.csv')] } } };
      try {
        const report = await runPipelineJob(payload(store, good), context(store));
        expect(report).toMatchObject({ pipeline: 'job', status: 'succeeded', stages: [{ stage: 'collect', status: 'ran' }] });

        const other = runPipelineJob(payload(store, good, { store: 'postgres://elsewhere/db' }), context(store));
        await expect(other).rejects.toThrow(PermanentJobError);
        await expect(runPipelineJob(payload(store, 'name: job\nstages:\n  colect: {}\n'), context(store))).rejects.toThrow(
          /\/somewhere\/oracx\.yaml:3: stage "colect" has unknown kind "colect" — did you mean "collect"\?/,
        );
        await expect(runPipelineJob(payload(store, { ...good, name: 'other' }), context(store))).rejects.toThrow(/declares pipeline "other", not "job"/);
        const missing = runPipelineJob(payload(store, { name: 'job', stages: { collect: { inputs: ['missing.csv'] } } }), context(store));
        await expect(missing).rejects.toThrow(PermanentJobError);
        await expect(missing).rejects.toThrow(/collect input missing\.csv does not exist \(pipeline run \d+\)/);
      } finally {
        await store.close();
      }
      // The store gone (closed, as when the database is unreachable): not permanent, BullMQ retries it with backoff.
      const error = await runPipelineJob(payload(store, good), context(store)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(PermanentJobError);
    });
  });
}
