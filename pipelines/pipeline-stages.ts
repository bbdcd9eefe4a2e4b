/**
 * What each stage kind of oracx.yaml reads (its inputs, hashed to decide whether it runs) and does (calling the same
 * pipelines as the commands it mirrors, in-process). Outputs are small JSON documents that later stages consume,
 * e.g. the training run id an evaluate or register stage uses.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { GateFailed, UserError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import type { Store } from '../src/store/connect.js';
import type { Stage, StageKind } from './pipeline-spec.js';
import { dataHash, featureSetHash, inputFileHashes, type FileStats } from './pipeline-inputs.js';
import type { PipelineTags } from './pipeline-track.js';
import type { TrainOptions } from './train.js';

/** What a stage needs from the command run. */
export interface StageEnv {
  store: Store;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  signal?: AbortSignal;
  /**
   * The stage job running it on a worker (src/queue/stage-job.ts), if any: a retried job finds what its earlier
   * attempts did (a train stage's training run) instead of doing it again.
   */
  jobId?: string;
}

export type Outputs = Record<string, unknown>;

/** The outputs of the stages a stage depends on, by name, with their kinds. */
export interface Upstream {
  outputs: Map<string, Outputs>;
  kinds: Map<string, StageKind>;
}

/** The one dependency of a kind a stage consumes (e.g. the train stage an evaluate evaluates). */
function upstreamOf(stage: Stage, up: Upstream, kind: StageKind): { name: string; outputs: Outputs } {
  const names = stage.deps.filter((d) => up.kinds.get(d) === kind);
  if (names.length !== 1) {
    throw new UserError(
      `stage "${stage.name}" (${stage.kind}) needs exactly one ${kind} stage upstream, found ${names.length === 0 ? 'none' : names.join(', ')}`,
      {
        hint: names.length === 0 ? `declare a ${kind} stage` : `split the pipeline, or give "${stage.name}" a single ${kind} stage in deps`,
      },
    );
  }
  const outputs = up.outputs.get(names[0]!);
  if (!outputs) throw new UserError(`stage "${stage.name}" needs the outputs of "${names[0]}", which has not run`);
  return { name: names[0]!, outputs };
}

/** The key of recorded inputs that are kept for the next run but not hashed (collect's file sizes and mtimes). */
export const UNHASHED = 'fileStats';

/** The inputs that decide whether a stage runs: its params plus the data, feature set and upstream outputs it reads. */
export async function stageInputs(stage: Stage, env: StageEnv, up: Upstream, previous?: Outputs): Promise<Outputs> {
  const base = { kind: stage.kind, params: stage.params };
  switch (stage.kind) {
    case 'collect': {
      const known = { files: previous?.files as Record<string, string> | undefined, stats: previous?.[UNHASHED] as FileStats | undefined };
      const { files, stats } = await inputFileHashes(stage.params.inputs, env.cwd, known);
      return { ...base, files, [UNHASHED]: stats };
    }
    case 'features':
      return { ...base, featureSet: featureSetHash(stage.params.set), data: (await dataHash(env.store, [])).hash };
    case 'train':
      return { ...base, featureSet: featureSetHash(stage.params.features), data: (await dataHash(env.store, stage.params.competitions ?? [])).hash };
    case 'evaluate': {
      const train = upstreamOf(stage, up, 'train');
      const competitions = stage.params.competitions ?? (train.outputs.competitions as string[] | undefined) ?? [];
      return { ...base, trainRun: train.outputs.runId, data: (await dataHash(env.store, competitions)).hash };
    }
    case 'register':
      return { ...base, trainRun: upstreamOf(stage, up, 'train').outputs.runId };
    case 'promote': {
      const reg = upstreamOf(stage, up, 'register').outputs;
      return { ...base, registered: { name: reg.name, version: reg.version }, data: (await dataHash(env.store, stage.params.competitions ?? [])).hash };
    }
  }
}

/**
 * Checks what the file's schema cannot, as the commands do before any work: each train stage's model and params
 * (an unknown param is refused naming the valid ones), each evaluate stage's window. Called once before the first
 * stage that runs, so nothing is collected or trained for a pipeline that would fail later on its own settings.
 */
export async function preflight(stages: readonly Stage[]): Promise<void> {
  for (const stage of stages) {
    try {
      if (stage.kind === 'train') {
        const { checkModelParams } = await import('./train.js');
        checkModelParams(stage.params.model, stage.params.params);
      }
      if (stage.kind === 'evaluate' && stage.params.seasons === undefined && stage.params['last-seasons'] === undefined) {
        throw new UserError('seasons or last-seasons is required', { hint: 'e.g. seasons: [2019-2020]' });
      }
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw new UserError(`stage "${stage.name}" (${stage.kind}): ${error.message}`, { hint: error.hint, cause: error });
    }
  }
}

/** Runs a stage; a failed gate throws GateFailed (the caller records the stage as gate_failed). */
export async function runStage(stage: Stage, env: StageEnv, up: Upstream, tags: PipelineTags): Promise<Outputs> {
  const { store, signal } = env;
  switch (stage.kind) {
    case 'collect': {
      const { collectFootballData } = await import('./collect.js');
      const p = stage.params;
      const result = await collectFootballData(store, { inputs: p.inputs, cwd: env.cwd, stdin: Readable.from([]), season: p.season, signal });
      const failed = result.files.filter((f) => f.status === 'failed');
      if (failed.length > 0) throw new UserError(`collect failed for ${failed.map((f) => `${f.source} (${f.error ?? 'error'})`).join(', ')}`);
      return { files: result.files.length, ...result.totals };
    }
    case 'features': {
      const { buildFeatures } = await import('./features.js');
      const r = await buildFeatures(store, stage.params.set);
      return { set: stage.params.set, matches: r.matches, written: r.written, unchanged: r.unchanged };
    }
    case 'train': {
      const p = stage.params;
      const options: TrainOptions = {
        model: p.model,
        featureSet: p.features,
        competitions: p.competitions ?? [],
        trainFrom: p['train-from'],
        trainUntil: p['train-until'],
        seed: p.seed,
        params: p.params,
        artifactsDir: path.resolve(env.cwd, p.artifacts),
        signal,
        onWarning: (m) => env.logger.warn(m),
      };
      const r = env.jobId
        ? await (await import('../src/queue/train-job.js')).trainOnce(store, env.jobId, options)
        : await (await import('./train.js')).train(store, options);
      const { trackTrainingRun } = await import('./pipeline-track.js');
      const mlflowRunId = await trackTrainingRun(env, r.runId, tags);
      return {
        runId: r.runId,
        modelVersionId: r.modelVersionId,
        model: r.model,
        competitions: r.competitions,
        nMatches: r.nMatches,
        rps: r.trainMetrics?.rps ?? null,
        dataHash: r.dataHash,
        mlflowRunId,
      };
    }
    case 'evaluate': {
      const { evaluate } = await import('./evaluate.js');
      const train = upstreamOf(stage, up, 'train').outputs;
      const p = stage.params;
      const r = await evaluate(store, {
        model: String(train.model),
        featureSet: '',
        competitions: p.competitions ?? [],
        seasons: p.seasons ?? [],
        lastSeasons: p['last-seasons'],
        walkForward: { kind: 'season' },
        seed: 0,
        params: {},
        run: Number(train.runId),
        bookmaker: p.bookmaker,
        margin: p.margin,
        gates: stage.gates,
        betting: p.betting,
        signal,
      });
      const outputs = {
        trainRun: train.runId,
        n: r.overall.n,
        rps: r.overall.rps,
        logLoss: r.overall.logLoss,
        bookmakerRps: r.baselines.bookmaker?.rps ?? null,
        gates: r.gates.map((g) => ({ gate: g.gate, actual: g.actual, threshold: g.threshold, passed: g.passed })),
      };
      const failed = r.gates.filter((g) => !g.passed);
      if (failed.length > 0) {
        throw new StageGateFailed(
          `gate failed: ${failed.map((g) => `${g.gate} (actual ${g.actual.toFixed(4)}, threshold ${g.threshold.toFixed(4)})`).join('; ')}`,
          outputs,
        );
      }
      return outputs;
    }
    case 'register': {
      const { openRegistry } = await import('../src/registry/open.js');
      const { registerRun } = await import('./register.js');
      const { experimentTarget } = await import('./track.js');
      const { currentActor } = await import('../src/registry/audit.js');
      const p = stage.params;
      const runId = upstreamOf(stage, up, 'train').outputs.runId;
      const { registry, client } = await openRegistry(store, { env: env.env, cwd: env.cwd, logger: env.logger, signal }, p.registry);
      const r = await registerRun(store, registry, client, {
        run: String(runId),
        name: p.name,
        alias: p.alias,
        description: p.description,
        quantize: p.quantize,
        experiment: experimentTarget(env.env),
        cwd: env.cwd,
        actor: currentActor(env.env),
        signal,
      });
      return { registry: registry.backend, name: r.version.name, version: r.version.version, trainRun: r.runId, parity: r.parity.maxAbsDiff };
    }
    case 'promote': {
      const { openRegistry } = await import('../src/registry/open.js');
      const { promote } = await import('./promote.js');
      const { currentActor } = await import('../src/registry/audit.js');
      const p = stage.params;
      const reg = upstreamOf(stage, up, 'register').outputs;
      const name = p.name ?? String(reg.name);
      if (name !== reg.name) throw new UserError(`stage "${stage.name}" promotes "${name}" but its register stage registers "${String(reg.name)}"`);
      const { registry } = await openRegistry(store, { env: env.env, cwd: env.cwd, logger: env.logger, signal }, p.registry);
      const r = await promote(store, registry, {
        name,
        alias: p.alias,
        version: Number(reg.version),
        gates: stage.gates,
        window: { competitions: p.competitions ?? [], seasons: p.seasons ?? [], lastSeasons: p['last-seasons'] },
        allowFeatureChange: p['allow-feature-change'],
        actor: currentActor(env.env),
        signal,
      });
      return {
        name: r.name,
        alias: r.alias,
        from: r.from,
        to: r.to,
        gates: r.gates.map((g) => ({ gate: g.gate, actual: g.actual, threshold: g.threshold, passed: g.passed })),
      };
    }
  }
}

/** A stage's gate failed: exit 3, with the outputs measured (recorded with the stage run). */
export class StageGateFailed extends GateFailed {
  constructor(
    message: string,
    readonly outputs: Outputs,
  ) {
    super(message);
    this.name = 'StageGateFailed';
  }
}
