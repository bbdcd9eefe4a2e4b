/** `oracx export TABLE`: a table of the store as Parquet or CSV, for DuckDB, pandas or Spark. */
import { defineCommand } from '../src/command.js';
import { isoDate, list, requireOrdered, seasons } from './parse.js';

const TABLES = ['matches', 'odds', 'teams', 'competitions', 'predictions', 'training_runs', 'tune_trials'] as const;

interface Options {
  format: 'parquet' | 'csv';
  out?: string;
  competition?: string[];
  season?: string[];
  from?: string;
  to?: string;
}

export const exportCommand = defineCommand<Options>({
  path: ['export'],
  description: `write a table to a Parquet or CSV file with typed columns (${TABLES.join(', ')})`,
  args: '<table>',
  options: [
    { flags: '--format <format>', description: 'file format', defaultValue: 'parquet', choices: ['parquet', 'csv'] },
    { flags: '--out <file>', description: 'the file to write (appears only once complete)' },
    { flags: '--competition <codes>', description: 'matches, odds, predictions: division codes, comma-separated', parse: list },
    { flags: '--season <seasons>', description: 'matches, odds, predictions: seasons, comma-separated', parse: seasons },
    { flags: '--from <date>', description: 'matches, odds, predictions: on or after this date (yyyy-mm-dd)', parse: isoDate },
    { flags: '--to <date>', description: 'matches, odds, predictions: on or before this date (yyyy-mm-dd)', parse: isoDate },
  ],
  examples: [
    'oracx export matches --format parquet --out matches.parquet',
    'oracx export odds --competition E0 --from 2019-08-01 --to 2020-07-31 --format csv --out e0-odds.csv',
    'duckdb -c "select competition, avg(fthg + ftag) from \'matches.parquet\' group by 1"',
  ],
  async run(ctx, args, options) {
    const { UsageError } = await import('../src/errors.js');
    const table = args[0]!;
    if (!(TABLES as readonly string[]).includes(table)) throw new UsageError(`cannot export "${table}"`, { hint: `tables: ${TABLES.join(', ')}` });
    if (!options.out)
      throw new UsageError('export needs --out FILE', { hint: `e.g. oracx export ${table} --format ${options.format} --out ${table}.${options.format}` });
    requireOrdered('--from', options.from, '--to', options.to);
    const store = await ctx.store({ readOnly: true });
    const { exportTable } = await import('../pipelines/export.js');
    const result = await exportTable(store, { ...options, table, out: options.out, cwd: ctx.io.cwd, signal: ctx.signal });
    if (ctx.output.json) ctx.output.printJson(result);
    else ctx.output.printLine(`${result.file}: ${result.rows} rows of ${table} (${result.format}, ${result.columns.length} columns)`);
  },
});
