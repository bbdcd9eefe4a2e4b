/** `oracx data report`: data-quality summary. */
import { defineCommand } from '../src/command.js';
import { integer } from './parse.js';

interface Options {
  examples: number;
}

export const dataReport = defineCommand<Options>({
  path: ['data', 'report'],
  description: 'data-quality summary per competition/season and per file, quarantine reasons, anomalies',
  options: [{ flags: '--examples <n>', description: 'anomaly examples to list', defaultValue: '20', parse: integer(0) }],
  examples: ['oracx data report', 'oracx data report --json | jq .quarantineByReason'],
  async run(ctx, _args, options) {
    const store = await ctx.store({ readOnly: true });
    const { dataReport } = await import('../pipelines/report.js');
    const report = await dataReport(store, options.examples);
    const out = ctx.output;
    if (out.json) {
      out.printJson(report);
      return;
    }
    const t = report.totals;
    out.printLine(`${store.location}: ${t.matches} matches, ${t.teams} teams, ${t.odds} odds quotes, ${t.quarantined} quarantined rows`);
    out.printTable({
      head: ['comp', 'season', 'matches', 'finished', 'teams', 'first', 'last', 'no pre 1x2 %', 'no closing 1x2 %'],
      rows: report.seasons.map((s) => [
        s.competition,
        s.season,
        s.matches,
        s.finished,
        s.teams,
        s.firstDate,
        s.lastDate,
        s.missingPreOddsPct,
        s.missingClosingOddsPct,
      ]),
    });
    if (report.files.length > 0) {
      out.printTable({
        head: ['file (latest run)', 'run', 'status', 'rows', 'inserted', 'updated', 'unchanged', 'quarantined'],
        rows: report.files.map((f) => [f.source.split(/[\\/]/).pop(), f.runId, f.status, f.rowsRead, f.inserted, f.updated, f.unchanged, f.quarantined]),
      });
    }
    if (report.quarantineByReason.length > 0) {
      out.printTable({ head: ['quarantine reason', 'rows'], rows: report.quarantineByReason.map((r) => [r.reason, r.rows]) });
    }
    const a = report.anomalies;
    out.printLine(
      `duplicate keys: ${report.duplicateKeys}; anomalies: ${a.score} score ≥ 10, ${a.overround} overround outside 1.00–1.30, ${a.seasonWindow} date outside season`,
    );
    if (a.examples.length > 0) {
      out.printTable({
        head: ['anomaly', 'comp', 'season', 'date', 'home', 'away', 'detail'],
        rows: a.examples.map((e) => [e.kind, e.competition, e.season, e.date, e.home, e.away, e.detail]),
      });
    }
  },
});
