// `oracx run` over the bundled E0 fixtures, in-process, on SQLite and PostgreSQL: every stage runs, a second run skips
// all, a changed param reruns that stage and its dependants only, --dry explains, a failed gate exits 3 and stops.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineReport, StageReport } from '../../pipelines/pipeline-run.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { e0Pipeline, type Stages } from '../helpers/pipelines.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';

/** A small, fast pipeline: logreg with a fixed l2, one competition, one evaluation season, local registry. */
const pipeline = (edit?: (stages: Stages) => void) => e0Pipeline(edit, { registry: true });

const statuses = (r: PipelineReport) => Object.fromEntries(r.stages.map((s) => [s.stage, s.status]));
const stageOf = (r: PipelineReport, name: string) => r.stages.find((s) => s.stage === name) as StageReport;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`oracx run on ${dialect.name}`, () => {
    let dir = '';
    let store = '';
    const write = (text: string) => writeFileSync(path.join(dir, 'oracx.yaml'), text);
    const run = async (args: string[] = []) => runCli(['--store', store, 'run', ...args], { cwd: dir });
    const report = async (args: string[] = [], code = 0) => {
      const r = await run([...args, '--json']);
      expect(r.code, r.stderr).toBe(code);
      return r.json<PipelineReport>();
    };
    const count = async (table: 'training_runs' | 'pipeline_runs' | 'registry_versions') => {
      const s = await openStore(store);
      try {
        const row = await s.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        return Number(row.n);
      } finally {
        await s.close();
      }
    };

    beforeAll(() => {
      dir = tempDir();
      store = dialect.newLocation();
      write(pipeline());
    });

    it('runs every stage in dependency order and records them', async () => {
      const r = await report();
      expect(r.status).toBe('succeeded');
      expect(r.stages.map((s) => s.stage)).toEqual(['collect', 'features', 'train', 'evaluate', 'register', 'promote']);
      expect(r.stages.every((s) => s.status === 'ran' && s.reason === 'never run')).toBe(true);
      const train = stageOf(r, 'train').outputs!;
      expect(train).toMatchObject({ model: 'logreg', nMatches: 760 });
      expect(stageOf(r, 'evaluate').outputs).toMatchObject({ trainRun: train.runId, gates: [{ gate: 'rps<=0.25', passed: true }] });
      expect(stageOf(r, 'register').outputs).toMatchObject({ name: 'oracx-e0', version: 1, trainRun: train.runId });
      expect(stageOf(r, 'promote').outputs).toMatchObject({ alias: 'champion', from: null, to: 1 });

      const s = await openStore(store);
      try {
        const rows = await s.db.selectFrom('stage_runs').selectAll().where('pipeline_run_id', '=', r.pipelineRunId!).orderBy('id').execute();
        expect(rows.map((x) => [x.stage, x.status])).toEqual(r.stages.map((x) => [x.stage, 'succeeded']));
        expect(rows.every((x) => x.input_hash.length === 64 && x.duration_ms !== null && x.finished_at !== null)).toBe(true);
        expect(JSON.parse(rows[2]!.inputs)).toMatchObject({ kind: 'train', params: { seed: 7, params: { l2: 0.1 } }, codeVersion: r.codeVersion });
        const p = await s.db.selectFrom('pipeline_runs').selectAll().where('id', '=', r.pipelineRunId!).executeTakeFirstOrThrow();
        expect(p).toMatchObject({ pipeline: 'e0', status: 'succeeded' });
      } finally {
        await s.close();
      }
    });

    it('skips every stage when nothing changed, reusing the recorded outputs', async () => {
      const before = await count('training_runs');
      const r = await report();
      expect(Object.values(statuses(r))).toEqual(Array(6).fill('skipped'));
      expect(stageOf(r, 'train').reason).toMatch(/^unchanged since stage run \d+$/);
      expect(await count('training_runs')).toBe(before);
      const human = await run();
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/train\s*│\s*train\s*│\s*skipped/);
    });

    it('--dry explains which input changed and records nothing', async () => {
      write(pipeline((s) => (s.train!.seed = 8)));
      const pipelines = await count('pipeline_runs');
      const r = await report(['--dry']);
      expect(r).toMatchObject({ dry: true, status: 'dry', pipelineRunId: null });
      expect(statuses(r)).toEqual({
        collect: 'would-skip',
        features: 'would-skip',
        train: 'would-run',
        evaluate: 'would-run',
        register: 'would-run',
        promote: 'would-run',
      });
      expect(stageOf(r, 'train')).toMatchObject({ reason: 'changed: seed', changed: ['seed'] });
      expect(stageOf(r, 'evaluate').reason).toBe('upstream train will run');
      expect(await count('pipeline_runs')).toBe(pipelines);
      write(pipeline());
    });

    it('a changed param reruns that stage and its dependants only', async () => {
      write(pipeline((s) => (s.train!.params = { l2: 0.3 })));
      const before = await count('training_runs');
      const r = await report();
      expect(statuses(r)).toEqual({ collect: 'skipped', features: 'skipped', train: 'ran', evaluate: 'ran', register: 'ran', promote: 'ran' });
      expect(stageOf(r, 'train').changed).toEqual(['params.l2']);
      expect(stageOf(r, 'evaluate').changed).toEqual(['trainRun']);
      expect(await count('training_runs')).toBe(before + 1);
      expect(stageOf(r, 'register').outputs).toMatchObject({ version: 2 });
      // Back to the first params: inputs differ from the last success (l2=0.3), so train runs again.
      write(pipeline());
      expect(statuses(await report(['--dry'])).train).toBe('would-run');
    });

    it('--force STAGE reruns it and what consumes its new outputs', async () => {
      write(pipeline((s) => (s.train!.params = { l2: 0.3 })));
      const r = await report(['--force', 'features']);
      expect(statuses(r)).toEqual({ collect: 'skipped', features: 'ran', train: 'skipped', evaluate: 'skipped', register: 'skipped', promote: 'skipped' });
      expect(stageOf(r, 'features').reason).toBe('forced');
      const bad = await run(['--force', 'trian']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--force trian: no such stage in oracx.yaml — did you mean "train"?');
    });

    it('a failing gate exits 3 and later stages do not run', async () => {
      write(
        pipeline((s) => {
          s.train!.params = { l2: 0.3 };
          s.evaluate!.gate = ['rps<=0.1'];
        }),
      );
      const versions = await count('registry_versions');
      const r = await report([], 3);
      expect(r.status).toBe('gate_failed');
      expect(statuses(r)).toEqual({
        collect: 'skipped',
        features: 'skipped',
        train: 'skipped',
        evaluate: 'gate-failed',
        register: 'not-run',
        promote: 'not-run',
      });
      expect(stageOf(r, 'evaluate').error).toMatch(/gate failed: rps<=0\.1 \(actual 0\.\d+, threshold 0\.1000\)/);
      expect(await count('registry_versions')).toBe(versions);
      const s = await openStore(store);
      try {
        const row = await s.db.selectFrom('stage_runs').selectAll().where('stage', '=', 'evaluate').orderBy('id', 'desc').executeTakeFirstOrThrow();
        expect(row.status).toBe('gate_failed');
        expect(JSON.parse(row.outputs!)).toMatchObject({ gates: [{ gate: 'rps<=0.1', passed: false }] });
      } finally {
        await s.close();
      }
      // A failed stage is never "up to date": the next run tries it again.
      const again = await run();
      expect(again.code).toBe(3);
      expect(again.stderr).toContain('gate failed: rps<=0.1');
    });

    it('another failure exits 1 naming the stage', async () => {
      write(pipeline((s) => (s.collect!.inputs = [path.join(dir, 'missing.csv')])));
      const r = await report([], 1);
      expect(statuses(r)).toMatchObject({ collect: 'failed', features: 'not-run', train: 'not-run' });
      expect(stageOf(r, 'collect').error).toMatch(/stage "collect" \(collect\): collect input .*missing\.csv does not exist/);
    });

    it('new data reruns collect, features and the stages reading those matches', async () => {
      // The last train success was with l2=0.3 (the gate failures after it were evaluate's): only the data differs.
      write(
        pipeline((s) => {
          s.collect!.inputs = [path.join(FIXTURES, 'full'), path.join(FIXTURES, 'E0_2024-2025.csv')];
          s.train!.params = { l2: 0.3 };
        }),
      );
      const r = await report();
      expect(statuses(r)).toEqual({ collect: 'ran', features: 'ran', train: 'ran', evaluate: 'ran', register: 'ran', promote: 'ran' });
      expect(stageOf(r, 'collect').changed).toEqual([path.join(`files.${FIXTURES}`, 'E0_2024-2025.csv'), 'inputs']);
      expect(stageOf(r, 'features').changed).toEqual(['data']);
      expect(stageOf(r, 'train').changed).toEqual(['data']);
      expect(Object.values(statuses(await report()))).toEqual(Array(6).fill('skipped'));
    });
  });
}
