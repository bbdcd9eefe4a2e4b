// register / models list|show|promote|rollback|pull on the local registry (no MLflow), on SQLite and PostgreSQL.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainResult } from '../../pipelines/train.js';
import { readOnnxMetadata } from '../../src/onnx/index.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { DIALECTS, tempDir } from '../helpers/stores.js';
import { PACKAGE_FILES_LISTED } from '../helpers/servable.js';
import { listFiles } from '../../src/registry/files.js';

interface Version {
  name: string;
  version: number;
  aliases: string[];
  featureSet: string;
  modelKind: string;
  source: string;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`local registry on ${dialect.name}`, () => {
    let dir = '';
    let store = '';
    const cli = (args: string[]) => runCli([...args, '--store', store], { cwd: dir, env: { ORACX_ACTOR: 'ci-bot' } });
    const train = async (extra: string[]) => {
      const r = await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--train-until', '2019-06-30', '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return r.json<TrainResult & { mlflowRunId: string | null }>();
    };
    const register = async (run: number, extra: string[] = []) => {
      const r = await cli(['register', '--run', String(run), '--name', 'oracx-e0', '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ registry: string; version: Version; parity: { rows: number; maxAbsDiff: number } }>();
    };
    const aliases = async () => {
      const r = await cli(['models', 'list', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return r.json<{ models: { name: string; aliases: Record<string, number> }[] }>().models.find((m) => m.name === 'oracx-e0')?.aliases;
    };
    let good: TrainResult;
    let weak: TrainResult;

    beforeAll(async () => {
      dir = tempDir();
      store = dialect.newLocation();
      const c = await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
      expect(c.code, c.stderr).toBe(0);
      // On the 2019-2020 test season: about 0.217 (two seasons, strong L2) against 0.303 (five months of matches and
      // a weak L2 pinned: l2=auto would fall back to a strong one on so few matches and no longer be weak).
      good = await train(['--param', 'l2=10']);
      weak = await train(['--train-from', '2019-02-01', '--param', 'l2=0.001']);
    });

    it('registers runs as numbered versions with an ONNX package that matches the model, and an MLmodel file', async () => {
      const v1 = await register(good.runId);
      expect(v1.registry).toBe('local');
      expect(v1.version).toMatchObject({ name: 'oracx-e0', version: 1, modelKind: 'logreg', featureSet: 'core@2', aliases: [] });
      expect(v1.parity.rows).toBe(good.nMatches);
      expect(weak.nMatches).toBeLessThan(200);
      expect(v1.parity.maxAbsDiff).toBeLessThan(1e-5);
      expect((await listFiles(v1.version.source)).sort()).toEqual(PACKAGE_FILES_LISTED);
      const mlmodel = readFileSync(path.join(v1.version.source, 'MLmodel'), 'utf8');
      expect(mlmodel).toContain('loader_module: oracx_pyfunc');
      const featureNames = readOnnxMetadata(readFileSync(path.join(v1.version.source, 'model.onnx'))).featureNames;
      expect(mlmodel).toContain(`{"type":"double","name":"${featureNames[0]}","required":true}`);
      // The input example: the last rows the parity check scored, in the signature's columns.
      const example = JSON.parse(readFileSync(path.join(v1.version.source, 'input_example.json'), 'utf8')) as { columns: string[]; data: number[][] };
      expect(example.columns).toEqual(featureNames);
      expect(example.data).toHaveLength(5);
      expect(JSON.parse(readFileSync(path.join(v1.version.source, 'serving_input_example.json'), 'utf8'))).toEqual({ dataframe_split: example });
      const v2 = await register(weak.runId, ['--alias', 'challenger']);
      expect(v2.version).toMatchObject({ version: 2, aliases: ['challenger'] });
    });

    it('promotes the first champion without comparison, refuses a worse challenger with exit 3, then rolls back', async () => {
      const first = await cli(['models', 'promote', 'oracx-e0/1', '--require', 'rps<=champion', '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.json()).toMatchObject({ alias: 'champion', from: null, to: 1 });
      expect(await aliases()).toEqual({ champion: 1, challenger: 2 });

      // The challenger alias names v2; it is worse than the champion on the same 2019-2020 matches.
      const refused = await cli(['models', 'promote', 'oracx-e0', '--require', 'rps<=champion', '--json']);
      expect(refused.code, refused.stderr).toBe(3);
      expect(refused.stderr).toMatch(/oracx-e0 version 2 not promoted to "champion": rps<=champion: 0\.\d+ vs 0\.\d+/);
      expect(refused.stderr).toMatch(/measured on 380 matches of E0 2019-2020/);
      // Under --json the failure is a document on stdout too, with the figures the gate was decided on.
      const doc = refused.json<{
        ok: boolean;
        error: { kind: string; exitCode: number; message: string; details: { from: number; to: number; gates: { passed: boolean }[] } };
      }>();
      expect(doc).toMatchObject({ ok: false, error: { kind: 'gate', exitCode: 3, details: { from: 1, to: 2, gates: [{ passed: false }] } } });
      expect(doc.error.message).toMatch(/not promoted to "champion"/);
      expect(await aliases()).toEqual({ champion: 1, challenger: 2 });

      const forced = await cli(['models', 'promote', 'oracx-e0', '--require', 'rps<=champion+0.1', '--json']);
      expect(forced.code, forced.stderr).toBe(0);
      const figures = forced.json<{ from: number; to: number; figures: { challenger: { n: number; rps: number }; champion: { n: number; rps: number } } }>();
      expect(figures).toMatchObject({ from: 1, to: 2 });
      expect(figures.figures.challenger.n).toBe(figures.figures.champion.n);
      expect(figures.figures.challenger.rps).toBeGreaterThan(figures.figures.champion.rps);

      const back = await cli(['models', 'rollback', 'oracx-e0', '--json']);
      expect(back.code, back.stderr).toBe(0);
      expect(back.json()).toMatchObject({ from: 2, to: 1 });
      expect((await aliases())!.champion).toBe(1);
      const again = await cli(['models', 'rollback', 'oracx-e0']);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/no previous version to roll back to/);

      const show = await cli(['models', 'show', 'oracx-e0', '--json']);
      const history = show.json<{
        history: { action: string; alias: string | null; fromVersion: number | null; toVersion: number; actor: string; details: { figures?: unknown } }[];
      }>().history;
      expect(history.map((h) => [h.action, h.alias, h.fromVersion, h.toVersion])).toEqual([
        ['register', null, null, 1],
        ['register', 'challenger', null, 2],
        ['promote', 'champion', null, 1],
        ['promote', 'champion', 1, 2],
        ['rollback', 'champion', 2, 1],
      ]);
      expect(history.every((h) => h.actor === 'ci-bot')).toBe(true);
      expect(history[3]!.details.figures).toBeDefined();
    });

    it('pulls a version by alias or number into a folder', async () => {
      const r = await cli(['models', 'pull', 'oracx-e0@champion', '--out', 'pulled', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({ name: 'oracx-e0', version: 1 });
      expect(existsSync(path.join(dir, 'pulled', 'model.onnx'))).toBe(true);
      const byNumber = await cli(['models', 'pull', 'oracx-e0/2']);
      expect(byNumber.code, byNumber.stderr).toBe(0);
      expect(existsSync(path.join(dir, 'oracx-e0-v2', 'MLmodel'))).toBe(true);
      const twice = await cli(['models', 'pull', 'oracx-e0/2']);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/already exists/);
    });

    it('tries int8 weights with --quantize and keeps them only within 0.0005 RPS', async () => {
      const r = await cli(['register', '--run', String(good.runId), '--name', 'oracx-int8', '--quantize', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const { quantization: q, version } = r.json<{ quantization: { kept: boolean; rpsFloat: number; rpsInt8: number }; version: Version }>();
      expect(q.rpsFloat).toBeGreaterThan(0.1);
      expect(Number.isFinite(q.rpsInt8)).toBe(true);
      if (q.kept) expect(Math.abs(q.rpsInt8 - q.rpsFloat)).toBeLessThanOrEqual(0.0005);
      // The registered graph is the int8 one exactly when it was kept.
      const meta = readOnnxMetadata(readFileSync(path.join(version.source, 'model.onnx')));
      expect(meta.quantized).toBe(q.kept);
      // Parity is reported for the graph that was registered; the float export's own parity is the gated check.
      const { parity, exportParity } = r.json<{ parity: { maxAbsDiff: number }; exportParity: { maxAbsDiff: number } }>();
      expect(exportParity.maxAbsDiff).toBeLessThan(1e-5);
      if (q.kept) expect(parity.maxAbsDiff).toBeGreaterThan(exportParity.maxAbsDiff);
      else expect(parity).toEqual(exportParity);
      const recorded = JSON.parse(readFileSync(path.join(version.source, 'metadata.json'), 'utf8')) as { onnx: { parity: unknown; exportParity: unknown } };
      expect(recorded.onnx).toMatchObject({ parity, exportParity });
      const shown = await cli(['models', 'show', 'oracx-int8', '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      const metrics = shown
        .json<{ versions: { version: number; metrics: Record<string, unknown> }[] }>()
        .versions.find((v) => v.version === version.version)!.metrics;
      expect(metrics).toMatchObject({ parityMaxAbsDiff: parity.maxAbsDiff, exportParityMaxAbsDiff: exportParity.maxAbsDiff });
    });

    it("reports the parity of the int8 graph it registers, beside the float export's", async () => {
      // An MLP's int8 weights are kept (smaller, RPS within 0.0005) but move probabilities by ~1e-3.
      const t = await cli(['train', '--model', 'mlp', '--competitions', 'E0', '--train-until', '2019-06-30', '--json']);
      expect(t.code, t.stderr).toBe(0);
      const mlp = t.json<TrainResult>();
      const r = await cli(['register', '--run', String(mlp.runId), '--name', 'oracx-mlp8', '--quantize', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<{
        quantization: { kept: boolean };
        parity: { rows: number; maxAbsDiff: number };
        exportParity: { rows: number; maxAbsDiff: number };
        version: Version;
      }>();
      expect(doc.quantization.kept).toBe(true);
      expect(r.stderr).toContain(
        `the registered int8 graph is within ${doc.parity.maxAbsDiff.toExponential(1)} of the model (float export ${doc.exportParity.maxAbsDiff.toExponential(1)})`,
      );
      expect(readOnnxMetadata(readFileSync(path.join(doc.version.source, 'model.onnx'))).quantized).toBe(true);
      expect(doc.exportParity.maxAbsDiff).toBeLessThan(1e-5);
      expect(doc.parity.maxAbsDiff).toBeGreaterThan(1e-4);
      expect(doc.parity.rows).toBe(doc.exportParity.rows);
      const shown = (await cli(['models', 'show', 'oracx-mlp8', '--json'])).json<{ versions: { metrics: Record<string, unknown> }[] }>();
      expect(shown.versions[0]!.metrics).toMatchObject({ parityMaxAbsDiff: doc.parity.maxAbsDiff, exportParityMaxAbsDiff: doc.exportParity.maxAbsDiff });
    });

    it('refuses a challenger on another feature set unless allowed', async () => {
      const market = await train(['--features', 'market@1', '--param', 'l2=10']);
      const v3 = await register(market.runId);
      const r = await cli(['models', 'promote', `oracx-e0/${v3.version.version}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/uses feature set market@1 but the champion \(version 1\) uses core@2/);
      const ok = await cli(['models', 'promote', `oracx-e0/${v3.version.version}`, '--allow-feature-change']);
      expect(ok.code, ok.stderr).toBe(0);
    });

    it('gives clear errors for unknown models, versions, aliases and runs, and registers nothing then', async () => {
      const before = await cli(['models', 'show', 'oracx-e0', '--json']);
      const cases: [string[], RegExp, number][] = [
        [['models', 'show', 'nope'], /unknown registered model "nope".*registered: oracx-e0/, 1],
        [['models', 'pull', 'oracx-e0/99'], /has no version 99/, 1],
        [['models', 'pull', 'oracx-e0@staging'], /has no alias "staging"/, 1],
        [['models', 'promote', 'oracx-e0@staging'], /has no alias "staging"/, 1],
        [['models', 'rollback', 'oracx-e0', '--alias', 'staging'], /no alias "staging" to roll back/, 1],
        [['models', 'promote', 'oracx-e0', '--alias', 'latest'], /"latest" is reserved/, 2],
        [['register', '--run', '999', '--name', 'oracx-e0'], /unknown training run 999/, 1],
        [['register', '--run', 'abc', '--name', 'oracx-e0'], /invalid run "abc"/, 1],
        [['register', '--run', String(good.runId), '--name', 'bad name'], /invalid model name/, 2],
        [['models', 'promote', 'oracx-e0', '--require', 'rps<=champ'], /unknown baseline "champ"/, 2],
      ];
      for (const [args, message, code] of cases) {
        const r = await cli(args);
        expect(r.stderr, args.join(' ')).toMatch(message);
        expect(r.code, args.join(' ')).toBe(code);
      }
      // models and register print an error document under --json (flag values commander rejects excepted).
      for (const [args, message, code] of cases.filter(([a]) => !a.includes('rps<=champ'))) {
        const r = await cli([...args, '--json']);
        expect(r.code, args.join(' ')).toBe(code);
        const doc = r.json<{ ok: boolean; error: { exitCode: number; message: string; hint?: string } }>();
        expect(doc, args.join(' ')).toMatchObject({ ok: false, error: { exitCode: code } });
        // stderr says "message — hint"; the document keeps them apart.
        expect([doc.error.message, doc.error.hint].filter(Boolean).join(' — '), args.join(' ')).toMatch(message);
      }
      const after = await cli(['models', 'show', 'oracx-e0', '--json']);
      expect(after.json()).toEqual(before.json());
    });

    it('refuses to register a run whose artifact is missing', async () => {
      const run = await train(['--seed', '3', '--param', 'l2=10']);
      rmSync(path.join(run.artifactPath, 'model.json'));
      const r = await cli(['register', '--run', String(run.runId), '--name', 'oracx-missing']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/artifact missing: .*model\.json/);
      const list = (await cli(['models', 'list', '--json'])).json<{ models: { name: string }[] }>();
      expect(list.models.map((m) => m.name)).not.toContain('oracx-missing');
    });
  });
}
