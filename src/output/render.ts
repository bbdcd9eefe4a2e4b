/** Rendering results for stdout: cli-table3 tables for people, JSON or CSV for machines. */
import Table from 'cli-table3';

export type Cell = string | number | boolean | null | undefined;

/** A table: column headers and rows of cells. */
export interface TableData {
  head: string[];
  rows: Cell[][];
}

function text(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  return String(cell);
}

/** Renders a table as box-drawn text. */
export function renderTable(data: TableData, options: { color: boolean }): string {
  const table = new Table({
    head: data.head,
    style: { head: options.color ? ['cyan'] : [], border: options.color ? ['grey'] : [] },
  });
  for (const row of data.rows) table.push(row.map(text));
  return table.toString();
}

/** RFC 4180 CSV with a header line. */
export function renderCsv(data: TableData): string {
  const field = (cell: Cell): string => {
    const s = text(cell);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[data.head, ...data.rows].map((row) => row.map(field).join(',')).join('\n')}\n`;
}
