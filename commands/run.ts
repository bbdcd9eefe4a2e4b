/** `oracx run`: the stages of oracx.yaml whose inputs changed, in dependency order (docs/pipelines.md). */
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import type { StageReport } from '../pipelines/pipeline-run.js';
import { duration, integer } from './parse.js';
import { openQueues, QUEUE_OPTIONS, type QueueFlags, requirePostgres } from './queue-options.js';

interface Options extends QueueFlags {
  file?: string;
  /** Stage names, or true for every stage (`--force` without a value). */
  force?: string[] | true;
  dry?: boolean;
  wait?: boolean;
  lease: number;
  distributed?: boolean;
  attempts: number;
}

/** Accumulates repeated --force STAGE; a bare --force (commander passes no value) forces every stage. */
function forceParser(value: string | undefined, previous?: unknown): string[] | true {
  if (previous === true || value === undefined) return true;
  return [...((previous as string[] | undefined) ?? []), value];
}

const ms = (n: number) => (n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

export const runCommand = defineCommand<Options>({
  path: ['run'],
  description: 'run the stages of oracx.yaml whose inputs (data, feature set, params, code, upstream outputs) changed since their last success',
  options: [
    { flags: '--file <path>', description: 'the pipeline file (default: oracx.yaml in the working directory)' },
    {
      flags: '--force [stage]',
      description: 'rerun this stage even if its inputs are unchanged; repeatable; without a stage, every stage',
      parse: forceParser,
    },
    { flags: '--dry', description: 'print what would run and why (which input changed), run nothing, record nothing' },
    { flags: '--wait', description: 'if another run of this pipeline holds its lease, wait for it to finish instead of exiting 1' },
    {
      flags: '--lease <duration>',
      description: "how long this run's lease on the pipeline lasts unrenewed (renewed every third of it); a crashed run's lease lapses after it",
      defaultValue: '2m',
      parse: duration,
    },
    {
      flags: '--distributed',
      description:
        'execute each stage that must run as a job on an oracx worker (--queues stage) and wait for it; this command keeps the lease, the skips and the records (needs a PostgreSQL store; with --dry, no Redis)',
    },
    ...QUEUE_OPTIONS,
    { flags: '--attempts <n>', description: 'with --distributed: tries per stage job before it is kept as failed', defaultValue: '3', parse: integer(1) },
  ],
  examples: [
    'oracx run                       # collect → features → train → evaluate → register → promote, skipping what is up to date',
    'oracx run --dry                 # what would run and why',
    'oracx run --force train --json  # rerun train (and what depends on its new run), a report for CI logs',
    'oracx run --wait                # another run of this pipeline is going on: wait for it, then run what it left',
    'oracx run --distributed --redis redis://127.0.0.1:6379 --store postgres://postgres@db:5432/oracx   # stages on workers (oracx worker --queues stage)',
  ],
  async run(ctx, _args, options) {
    // Under --json, one document whatever happens: the report, or (for a failure before there is one: the file, a
    // stage's settings, the store) an error document as withJsonErrors prints it.
    let reported = false;
    try {
      await runPipelineCommand(ctx, options, () => (reported = true));
    } catch (error) {
      if (ctx.output.json && !reported) {
        const { errorDocument } = await import('../src/output/error-document.js');
        const { storeError } = await import('../src/store/errors.js');
        const { redact } = await import('../src/store/location.js');
        ctx.output.printJson(errorDocument(storeError(error, redact(ctx.config.store)), ctx.signal.aborted));
      }
      throw error;
    }
  },
});

/** Reads and validates the file, runs the pipeline and prints its report (then throws what stopped it). */
async function runPipelineCommand(ctx: Context, options: Options, onReport: () => void): Promise<void> {
  const path = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const { UserError } = await import('../src/errors.js');
  const file = path.resolve(ctx.io.cwd, options.file ?? 'oracx.yaml');
  const shown = path.relative(ctx.io.cwd, file) || file;
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read ${shown}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
      hint: options.file ? 'check --file' : 'create oracx.yaml (see docs/pipelines.md) or pass --file',
    });
  });
  const { loadPipeline } = await import('../pipelines/pipeline-spec-cache.js');
  const spec = await loadPipeline(text, shown, {
    env: ctx.io.env,
    onCache: (hit, entry) => ctx.logger.debug(`${shown}: ${hit ? 'parsed before, read from' : 'parsed, kept in'} ${entry}`),
  });
  // No integrity check up front: a run where every stage is skipped only reads. SQLite's quick_check (linear in the
  // file size) runs before the first write instead.
  if (options.distributed) {
    await requirePostgres(
      ctx,
      (at) => `run --distributed needs a PostgreSQL store; ${at} is a SQLite file`,
      'workers on other machines run the stages on the store, which a SQLite file cannot share: use --store postgres://…, or drop --distributed',
    );
  }
  const store = await ctx.store({ readOnly: true });
  const { assertIntact } = await import('../src/store/connect.js');
  const { executePipeline } = await import('../pipelines/pipeline-exec.js');
  const workers =
    options.distributed && !options.dry
      ? await stageJobs(ctx, options, { store: store.location, pipeline: spec.name, file, cwd: path.dirname(file), text })
      : null;
  const verb = (r: StageReport) => `${r.stage} (${r.kind}): ${r.status}${r.reason ? ` — ${r.reason}` : ''}${r.error ? `: ${r.error}` : ''}`;
  const { report, error } = await executePipeline(
    spec,
    { store, cwd: path.dirname(file), env: ctx.io.env, logger: ctx.logger, signal: ctx.signal },
    {
      runStage: workers?.runStage,
      force: options.force ?? [],
      dry: options.dry === true,
      onStage: (r) => ctx.logger.info(`stage ${verb(r)}`),
      beforeWrite: () => assertIntact(store),
      holder: `oracx run ${shown}`,
      wait: options.wait === true,
      leaseMs: options.lease,
      onWait: (h) => ctx.logger.info(`pipeline ${spec.name} is being run by ${h.holder} since ${h.acquiredAt}: waiting for it (--wait)`),
    },
  ).finally(() => workers?.close());
  onReport();
  if (ctx.output.json) {
    ctx.output.printJson(report);
  } else {
    ctx.output.printTable({
      head: ['stage', 'kind', 'status', 'why', 'time'],
      rows: report.stages.map((s) => [s.stage, s.kind, s.status, s.error ? `${s.reason}; ${s.error}` : s.reason, ms(s.durationMs)]),
    });
    ctx.output.printLine(
      `${report.pipeline}: ${report.status}${report.pipelineRunId === null ? '' : ` (pipeline run ${report.pipelineRunId})`} in ${ms(report.durationMs)}`,
    );
  }
  if (error) throw error;
}

/**
 * `run --distributed`: the stage runner that enqueues each stage to run on the stage queue and waits for it. The
 * Redis settings are checked now; the connection is made when a first stage must run (a run of skips needs none).
 */
async function stageJobs(ctx: Context, options: Options, where: { store: string; pipeline: string; file: string; cwd: string; text: string }) {
  const { queueSettings } = await import('../src/queue/connection.js');
  queueSettings(options, ctx.io.env, 'run --distributed');
  const { stageJobRunner } = await import('../pipelines/stage-distributed.js');
  const { oracxPackage } = await import('../src/version.js');
  let opened: Promise<Awaited<ReturnType<typeof openQueues>>> | null = null;
  const runStage = stageJobRunner({
    queues: async () => {
      opened ??= openQueues(ctx, options, 'run --distributed');
      return (await opened).queues;
    },
    storeLocation: where.store,
    pipeline: where.pipeline,
    file: where.file,
    cwd: where.cwd,
    text: where.text,
    attempts: options.attempts,
    version: oracxPackage().version,
    onEnqueued: (e) =>
      ctx.logger.info(
        `stage ${e.stage}: job ${e.jobId} ${e.enqueued === 'added' ? 'added to' : e.enqueued === 'retried' ? 'retried on' : 'already on'} the stage queue; waiting for a worker`,
      ),
    onState: (e) => ctx.logger.info(`stage ${e.stage}: job ${e.jobId} ${e.state}${e.attemptsMade > 0 ? ` (attempts made: ${e.attemptsMade})` : ''}`),
  });
  return {
    runStage,
    async close() {
      if (opened) await (await opened.catch(() => null))?.close();
    },
  };
}
