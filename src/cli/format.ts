/**
 * Renders a {@link QueryResult} for the command line: aligned tables for people,
 * one JSON document per line or CSV (RFC 4180 quoting) for programs.
 */

import type { QueryResult } from '../exec/executor.js';

/** How results are printed. */
export type OutputMode = 'table' | 'json' | 'csv';

/** Longest cell shown in table mode; longer cells are cut with `…`. */
export const MAX_CELL_WIDTH = 72;

/** How table mode shows SQL NULL. */
export const NULL_TEXT = 'NULL';

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A value with bytes as hex, dates as ISO strings and bigints as numbers or strings: safe for JSON. */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) out[key] = toPlain(inner);
    return out;
  }
  return value;
}

/** One cell as text (no truncation): null → null, objects → compact JSON. */
function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  const plain = toPlain(value);
  if (typeof plain === 'string') return plain;
  if (typeof plain === 'number' || typeof plain === 'boolean') return String(plain);
  return JSON.stringify(plain);
}

function isNumeric(value: unknown): boolean {
  return typeof value === 'number' || typeof value === 'bigint';
}

function truncate(text: string, width: number): string {
  // Escape control characters so one row stays on one line.
  const flat = text.replace(/\r\n|\r|\n/g, '\\n').replace(/\t/g, '\\t');
  const chars = [...flat];
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : flat;
}

function displayWidth(text: string): number {
  return [...text].length;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

function rowCountLine(count: number): string {
  return `(${count} ${count === 1 ? 'row' : 'rows'})`;
}

function formatTable(result: QueryResult): string {
  const { columns, rows } = result;
  if (columns.length === 0) return rowCountLine(result.rowCount);
  const numeric = columns.map((column) => {
    const values = rows.map((row) => row[column]).filter((value) => value !== null && value !== undefined);
    return values.length > 0 && values.every(isNumeric);
  });
  const cells = rows.map((row) => columns.map((column) => truncate(cellText(row[column]) ?? NULL_TEXT, MAX_CELL_WIDTH)));
  const headers = columns.map((column) => truncate(column, MAX_CELL_WIDTH));
  const widths = headers.map((header, i) => Math.max(displayWidth(header), ...cells.map((row) => displayWidth(row[i]!))));
  const line = (parts: string[]): string => ` ${parts.join(' | ')}`.trimEnd();
  const out = [
    line(headers.map((header, i) => pad(header, widths[i]!, false))),
    widths.map((width) => '-'.repeat(width + 2)).join('+'),
    ...cells.map((row) => line(row.map((cell, i) => pad(cell, widths[i]!, numeric[i]!)))),
    rowCountLine(result.rowCount),
  ];
  return out.join('\n');
}

function csvField(value: unknown): string {
  const text = cellText(value);
  if (text === null) return '';
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function formatCsv(result: QueryResult): string {
  const lines = [result.columns.map(csvField).join(',')];
  for (const row of result.rows) lines.push(result.columns.map((column) => csvField(row[column])).join(','));
  return lines.join('\n');
}

function formatJson(result: QueryResult, timingMs?: number): string {
  const document: Record<string, unknown> = {
    command: result.command,
    columns: result.columns,
    rows: result.rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of result.columns) out[column] = toPlain(row[column]);
      return out;
    }),
    rowCount: result.rowCount,
  };
  if (timingMs !== undefined) document.timeMs = timingMs;
  return JSON.stringify(document);
}

/**
 * Formats one result, without a trailing newline. Table mode: aligned columns
 * (numbers right-aligned), `NULL` for null, objects as compact JSON, dates ISO,
 * cells longer than {@link MAX_CELL_WIDTH} cut, then `(n rows)`. JSON mode: one
 * single-line document `{command, columns, rows, rowCount}` (bytes as hex, dates
 * ISO). CSV mode: header and rows, RFC 4180 quoting, NULL as an empty field.
 * `timingMs` appends `Time: 1.23 ms` (table, csv) or a `timeMs` field (json).
 */
export function formatResult(result: QueryResult, mode: OutputMode, options: { timingMs?: number } = {}): string {
  const { timingMs } = options;
  switch (mode) {
    case 'json':
      return formatJson(result, timingMs);
    case 'csv': {
      const text = formatCsv(result);
      return timingMs === undefined ? text : `${text}\nTime: ${timingMs.toFixed(2)} ms`;
    }
    case 'table': {
      const text = formatTable(result);
      return timingMs === undefined ? text : `${text}\nTime: ${timingMs.toFixed(2)} ms`;
    }
  }
}
