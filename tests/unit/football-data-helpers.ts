/** Shared helpers for the football-data parser tests (not a test file itself). */
import { readFileSync } from 'node:fs';
import { parseFootballData, type ParseOptions } from '../../src/ingest/football-data/parse.js';
import type { MatchRecord, OddsQuote, ParsedRow } from '../../src/ingest/football-data/types.js';

export const FIXTURES = new URL('../../fixtures/football-data/', import.meta.url);
export const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

export async function* whole(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export async function* sized(bytes: Uint8Array, next: () => number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; ) {
    const n = next();
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

export async function parse(bytes: Uint8Array | string, options: Partial<ParseOptions> = {}): Promise<ParsedRow[]> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const rows: ParsedRow[] = [];
  for await (const row of parseFootballData(whole(buf), { label: 'test.csv', ...options })) rows.push(row);
  return rows;
}

export const parseFixture = (name: string, options: Partial<ParseOptions> = {}): Promise<ParsedRow[]> => parse(fixture(name), { label: name, ...options });

export function matches(rows: ParsedRow[]): (MatchRecord & { line: number })[] {
  return rows.flatMap((r) => (r.kind === 'match' ? [{ ...r.record, line: r.line }] : []));
}

export function quote(r: MatchRecord, market: string, kind: string, bookmaker: string): OddsQuote | undefined {
  return r.odds.find((q) => q.market === market && q.kind === kind && q.bookmaker === bookmaker);
}

/** Reads one cell of a source line by header name, to check prices against the file itself. */
export function cellOf(file: string, lineNo: number, column: string): number {
  const lines = fixture(file)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const header = lines[0]!.split(',');
  return Number(lines[lineNo - 1]!.split(',')[header.indexOf(column)]);
}
