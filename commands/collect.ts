/** `oracx collect football-data`: ingest football-data.co.uk CSVs. */
import { defineCommand } from '../src/command.js';
import type { Context } from '../src/context.js';
import { UserError } from '../src/errors.js';
import type { CollectProgress, FileSummary } from '../pipelines/collect.js';
import { duration, integer, season } from './parse.js';

export interface CollectFlags {
  strict?: boolean;
  chunkSize: number;
  season?: string;
  timeout: number;
  retries: number;
}

function bar(fraction: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(fraction * 100)}%`;
}

const HEAD = ['file', 'status', 'rows', 'inserted', 'updated', 'unchanged', 'quarantined'];
const short = (source: string) => source.split(/[\\/]/).pop() ?? source;
const row = (f: FileSummary) => [short(f.source), f.status, f.rowsRead, f.inserted, f.updated, f.unchanged, f.quarantined];

export const collectFootballData = defineCommand<CollectFlags>({
  path: ['collect', 'football-data'],
  description: 'ingest football-data.co.uk CSV files (files, folders, http(s) URLs, or - for stdin)',
  args: '<inputs...>',
  options: [
    { flags: '--strict', description: 'exit 1 if any row was quarantined (rows are still written)' },
    {
      flags: '--season <YYYY-YYYY>',
      description: "season for every input (default: from the file name, else the first date; in a fixtures file each row's own date)",
      parse: season,
    },
    { flags: '--chunk-size <rows>', description: 'rows per transaction (a crash loses at most one chunk)', defaultValue: '1000', parse: integer(1) },
    { flags: '--timeout <duration>', description: 'per-attempt timeout for URLs', defaultValue: '30s', parse: duration },
    { flags: '--retries <n>', description: 'retries for URLs (exponential backoff)', defaultValue: '3', parse: integer(0) },
  ],
  examples: [
    'oracx collect football-data fixtures/football-data/full/',
    'oracx collect football-data ../shared/data/football-data/ --store postgres://postgres@127.0.0.1:5432/test',
    'oracx collect football-data https://www.football-data.co.uk/fixtures.csv',
    'curl -s https://example.org/E0.csv | oracx collect football-data - --season 2024-2025',
  ],
  run: (ctx, inputs, options) => collectInProcess(ctx, inputs, options),
});

/** Runs the collect pipeline in this process and renders its result (also `backfill` without --distributed). */
export async function collectInProcess(ctx: Context, inputs: string[], options: CollectFlags): Promise<void> {
  const store = await ctx.store();
  const { collectFootballData } = await import('../pipelines/collect.js');
  const progress = await ctx.output.progress('collecting');
  const onProgress = (event: CollectProgress) => {
    switch (event.type) {
      case 'file-start':
        progress.update(`${short(event.source)} (${event.index + 1}/${event.count})`);
        break;
      case 'file-progress':
        progress.update(`${short(event.source)} ${bar(event.bytes ? event.bytesRead / event.bytes : 1)} ${event.rows} rows`);
        break;
      case 'resume':
        ctx.logger.info(`resuming ${event.source} after line ${event.afterLine} (run ${event.fromRun} did not finish)`);
        break;
      case 'file-end': {
        const s = event.summary;
        const line = `${short(s.source)}: ${s.status} — ${s.inserted} inserted, ${s.updated} updated, ${s.unchanged} unchanged, ${s.quarantined} quarantined`;
        if (s.status === 'failed') ctx.logger.error(`${s.source}: ${s.error}`);
        else ctx.logger.info(line, { runId: s.runId, durationMs: s.durationMs });
        break;
      }
    }
  };
  let result: Awaited<ReturnType<typeof collectFootballData>>;
  try {
    result = await collectFootballData(store, {
      inputs,
      cwd: ctx.io.cwd,
      stdin: ctx.io.stdin,
      chunkSize: options.chunkSize,
      season: options.season,
      fetch: { timeoutMs: options.timeout, retries: options.retries, backoffMs: 500 },
      signal: ctx.signal,
      onProgress,
    });
  } finally {
    progress.stop();
  }
  const { files, totals } = result;
  if (ctx.output.json) {
    ctx.output.printJson({ store: store.location, files, totals });
  } else if (!ctx.output.options.quiet) {
    ctx.output.printTable({
      head: HEAD,
      rows: [...files.map(row), ['total', '', totals.rowsRead, totals.inserted, totals.updated, totals.unchanged, totals.quarantined]],
    });
    for (const f of files.filter((x) => x.earlier !== null)) {
      const e = f.earlier!;
      ctx.output.printLine(
        `${short(f.source)}: resumed run ${f.resumedFrom} after line ${f.resumedAfterLine}; the counts above are this run's, ` +
          `before it: ${e.inserted} inserted, ${e.updated} updated, ${e.unchanged} unchanged, ${e.quarantined} quarantined`,
      );
    }
    if (files.length > 0 && totals.inserted + totals.updated === 0 && files.every((f) => f.status === 'completed')) {
      ctx.output.printLine('nothing changed: every row was already in the store');
    }
  }
  const failed = files.filter((f) => f.status === 'failed');
  if (failed.length === 1) throw new UserError(failed[0]!.error ?? `${failed[0]!.source}: failed`);
  if (failed.length > 1) {
    throw new UserError(`${failed.length} of ${files.length} inputs failed: ${failed.map((f) => f.error).join('; ')}`);
  }
  // A resumed file's earlier rows count too: --strict judges the files, not just this run's part of them.
  const quarantined = totals.quarantined + files.reduce((n, f) => n + (f.earlier?.quarantined ?? 0), 0);
  if (options.strict && quarantined > 0) {
    throw new UserError(`--strict: ${quarantined} row(s) quarantined`, { hint: 'see them with oracx data report' });
  }
}
