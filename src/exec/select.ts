/**
 * The SELECT engine: validates a query against a virtual table, derives scan hints,
 * then filters, sorts, pages and projects the rows the table yields. Every check that
 * can fail without data runs before the scan, so bad queries fail the same way on an
 * empty registry as on a full one.
 */
import { ModelSqlError, invalidArgument } from '../errors.js';
import { logicalTerms, type ExpressionNode, type OrderByNode, type SelectNode } from '../parser/ast.js';
import { columnsOf, compileCondition, hintValue, type ColumnResolver, type Predicate } from './expression.js';
import { bindInteger, bindValue, type Params } from './params.js';
import type { Row, ScanHints, VirtualTable } from './virtual-table.js';

/** Result of a SELECT: column names in output order, and rows keyed by those names in that order. */
export interface SelectResult {
  columns: string[];
  rows: Row[];
}

/**
 * Runs `node` against `table` (the caller has already resolved `node.table`).
 * `defaultOrder` gives tables a deterministic order when the query names none.
 * Throws UNKNOWN_COLUMN or INVALID_ARGUMENT before scanning when the query is invalid.
 */
export async function runSelect(
  node: SelectNode,
  table: VirtualTable,
  params: readonly unknown[],
  defaultOrder?: readonly OrderByNode[],
): Promise<SelectResult> {
  const types = new Map(table.columns.map((c) => [c.name, c.type]));
  const resolve: ColumnResolver = (name) => {
    const type = types.get(name);
    if (type === undefined) throw unknownColumn(name, table);
    return type;
  };

  const columns = node.columns === '*' ? table.columns.map((c) => c.name) : node.columns.map((c) => c.name);
  const order = node.orderBy.length > 0 ? node.orderBy : defaultOrder ?? [];
  // Unknown names first, in reading order, so a typo is reported as such rather than
  // as whatever type error it happens to cause.
  const mentioned = new Set(columnsOf(node.where));
  for (const name of [...columns, ...mentioned, ...order.map((o) => o.column.name)]) resolve(name);

  const predicate = node.where === null ? null : compileCondition(node.where, resolve, params);
  const limit = node.limit === null ? Infinity : bindInteger(node.limit, params, 'LIMIT', 0, Number.MAX_SAFE_INTEGER);
  const offset = node.offset === null ? 0 : bindInteger(node.offset, params, 'OFFSET', 0, Number.MAX_SAFE_INTEGER);
  const compare = order.length > 0 ? rowComparator(order, resolve) : null;
  const equals = node.where === null ? new Map<string, unknown>() : scanHints(node.where, resolve, params);

  // Tables build each row fresh with every column in `SELECT *` order, so `*` keeps the
  // row itself; copying 28 columns key by key was the largest cost of listing versions.
  const project = node.columns === '*' ? (row: Row): Row => row : (row: Row): Row => {
    const out: Row = {};
    for (const name of columns) out[name] = row[name] ?? null;
    return out;
  };
  if (equals === null || limit === 0) return { columns, rows: [] };

  const rows = compare === null
    ? await firstRows(table, { equals, mentioned }, predicate, offset + limit)
    : await sortedRows(table, { equals, mentioned }, predicate, compare, offset + limit);
  return { columns, rows: rows.slice(offset, offset + limit).map(project) };
}

/** Unordered scan: stops pulling (closing the table's iterator) once `wanted` rows passed. */
async function firstRows(table: VirtualTable, hints: ScanHints, predicate: Predicate | null, wanted: number): Promise<Row[]> {
  const out: Row[] = [];
  for await (const row of table.scan(hints)) {
    if (predicate !== null && predicate(row) !== true) continue;
    out.push(row);
    if (out.length >= wanted) break;
  }
  return out;
}

/**
 * Ordered scan keeping only the best `wanted` rows: the buffer is sorted and trimmed
 * whenever it doubles, so memory stays O(LIMIT + OFFSET) and time O(n log k). Stability
 * holds because `Array.prototype.sort` is stable and later rows are always appended.
 */
async function sortedRows(
  table: VirtualTable,
  hints: ScanHints,
  predicate: Predicate | null,
  compare: (a: Row, b: Row) => number,
  wanted: number,
): Promise<Row[]> {
  let buffer: Row[] = [];
  const trimAt = Number.isFinite(wanted) ? Math.max(2 * wanted, 1024) : Infinity;
  for await (const row of table.scan(hints)) {
    if (predicate !== null && predicate(row) !== true) continue;
    buffer.push(row);
    if (buffer.length >= trimAt) buffer = buffer.sort(compare).slice(0, wanted);
  }
  return buffer.sort(compare);
}

/** PostgreSQL ordering: NULL sorts above every value, so last for ASC and first for DESC. */
function rowComparator(order: readonly OrderByNode[], resolve: ColumnResolver): (a: Row, b: Row) => number {
  const keys = order.map(({ column: { name }, direction }) => {
    const type = resolve(name);
    if (type === 'json') throw invalidArgument(`cannot ORDER BY ${name} (json): json values are not ordered`);
    const key = type === 'timestamp' ? (v: unknown) => (v as Date).getTime()
      : type === 'integer' || type === 'real' ? (v: unknown) => Number(v)
      : (v: unknown) => v;
    return { name, sign: direction === 'DESC' ? -1 : 1, key };
  });
  return (a, b) => {
    for (const { name, sign, key } of keys) {
      const x = a[name] ?? null;
      const y = b[name] ?? null;
      if (x === null && y === null) continue;
      if (x === null) return sign;
      if (y === null) return -sign;
      const kx = key(x) as number;
      const ky = key(y) as number;
      if (kx < ky) return -sign;
      if (kx > ky) return sign;
    }
    return 0;
  };
}

/**
 * Equalities every accepted row must satisfy, from the top-level AND chain. Returns
 * null when that chain can never be TRUE (a column pinned to two values, or `= NULL`),
 * so the scan can be skipped. Runs after compilation, so conversions cannot fail here.
 */
function scanHints(where: ExpressionNode, resolve: ColumnResolver, params: Params): Map<string, unknown> | null {
  const equals = new Map<string, unknown>();
  const visit = (e: ExpressionNode): boolean => {
    if (e.kind !== 'Comparison' || e.op !== '=') return true;
    const [column, value] =
      e.left.kind === 'Column' && (e.right.kind === 'Literal' || e.right.kind === 'Parameter') ? [e.left, e.right]
      : e.right.kind === 'Column' && (e.left.kind === 'Literal' || e.left.kind === 'Parameter') ? [e.right, e.left]
      : [null, null];
    if (column === null || value === null) return true;
    const bound = bindValue(value, params);
    if (bound === null) return false;
    const hint = hintValue(resolve(column.name), bound);
    if (hint === undefined) return true;
    if (equals.has(column.name) && !sameValue(equals.get(column.name), hint)) return false;
    equals.set(column.name, hint);
    return true;
  };
  const conjuncts = where.kind === 'Logical' && where.op === 'AND' ? logicalTerms(where) : [where];
  return conjuncts.every(visit) ? equals : null;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
}

/** `column 'verison' does not exist in ML_MODEL_VERSIONS; did you mean 'version'?` */
function unknownColumn(name: string, table: VirtualTable): ModelSqlError {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const column of table.columns) {
    const d = editDistance(name, column.name);
    if (d < bestDistance) [best, bestDistance] = [column.name, d];
  }
  const hint = best === null ? '' : `; did you mean '${best}'?`;
  return new ModelSqlError('UNKNOWN_COLUMN', `column '${name}' does not exist in ${table.name}${hint}`);
}

/** Levenshtein distance, with adjacent transpositions counting as one edit (typos like `verison`). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) { row.push(j); continue; }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
