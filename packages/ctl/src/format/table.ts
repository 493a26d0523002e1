// Plain-text tables in the calicoctl style: an upper-case header row, columns separated by at least
// three spaces, widths taken from the widest cell (ANSI colour ignored when measuring). Empty cells
// print nothing; no trailing spaces.

import { stripAnsi } from './color.js';

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const columnGap = '   ';

export function renderTable(table: Table): string {
  const widths = table.headers.map((header, column) =>
    Math.max(stripAnsi(header).length, ...table.rows.map((row) => stripAnsi(row[column] ?? '').length)),
  );
  const renderRow = (cells: readonly string[]): string =>
    table.headers
      .map((_, column) => {
        const cell = cells[column] ?? '';
        const isLast = column === table.headers.length - 1;
        return isLast ? cell : cell + ' '.repeat((widths[column] ?? 0) - stripAnsi(cell).length);
      })
      .join(columnGap)
      .trimEnd();
  return `${[renderRow(table.headers), ...table.rows.map(renderRow)].join('\n')}\n`;
}

/** A table drawn with box lines, as `calicoctl node status` prints its peer table. */
export function renderBoxedTable(table: Table): string {
  const widths = table.headers.map((header, column) =>
    Math.max(stripAnsi(header).length, ...table.rows.map((row) => stripAnsi(row[column] ?? '').length)),
  );
  const border = `+${widths.map((width) => '-'.repeat(width + 2)).join('+')}+`;
  const line = (cells: readonly string[]): string =>
    `|${table.headers
      .map((_, column) => {
        const cell = cells[column] ?? '';
        return ` ${cell}${' '.repeat((widths[column] ?? 0) - stripAnsi(cell).length)} `;
      })
      .join('|')}|`;
  return `${[border, line(table.headers), border, ...table.rows.map(line), border].join('\n')}\n`;
}
