/**
 * The SELECT engine: validates a query against a virtual table, derives scan hints,
 * then filters, groups, sorts, pages and projects the rows the table yields. Every
 * check that can fail without data runs before the scan, so bad queries fail the same
 * way on an empty registry as on a full one.
 *
 * Two paths: a plain query streams rows (stopping early without ORDER BY, keeping only
 * the best LIMIT + OFFSET rows with it); a query with aggregates or GROUP BY folds every
 * matching row into its group first, then orders and pages the groups.
 */
import { ModelSqlError, invalidArgument } from '../errors.js';
import { logicalTerms, type ExpressionNode, type OrderByNode, type SelectNode } from '../parser/ast.js';
import { printExpression } from '../parser/print.js';
import { aggregateCalls, isAggregate, refuseCalls, unknownFunction } from './aggregate.js';
import { equalityKey } from './compare.js';
import { columnsOf, compileCondition, compileValue, hintValue, type ColumnResolver, type Predicate } from './expression.js';
import { planGrouped } from './grouped-plan.js';
import { bindInteger, bindValue, type Params } from './params.js';
import { checkOrderable, comparator, sortBy, type OutputItem, type Plan, type SortKey } from './plan.js';
import { suggestion } from './suggest.js';
import type { Row, ScanHints, VirtualTable } from './virtual-table.js';

/** Result of a SELECT: column names in output order, and rows keyed by those names in that order. */
export interface SelectResult {
  columns: string[];
  rows: Row[];
}

/**
 * Runs `node` against `table` (the caller has already resolved `node.table`).
 * `defaultOrder` gives tables a deterministic order when the query names none.
 * Throws UNKNOWN_COLUMN, UNKNOWN_FUNCTION or INVALID_ARGUMENT before scanning when the
 * query is invalid.
 */
export async function runSelect(
  node: SelectNode,
  table: VirtualTable,
  params: readonly unknown[],
  defaultOrder?: readonly OrderByNode[],
): Promise<SelectResult> {
  const resolve = tableResolver(table);
  const star = node.columns === '*';
  const items: OutputItem[] = node.columns === '*'
    ? table.columns.map((c) => ({ name: c.name, expression: { kind: 'Column', name: c.name } }))
    : node.columns.map((item) => ({ name: item.alias ?? outputName(item.expression), expression: item.expression }));
  const aliases = new Map<string, number>();
  if (node.columns !== '*') node.columns.forEach((item, i) => { if (item.alias !== null && !aliases.has(item.alias)) aliases.set(item.alias, i); });
  const order = node.orderBy.length > 0 ? node.orderBy : defaultOrder ?? [];
  // An ORDER BY key that is a bare name of an alias sorts by that output column.
  const aliasOf = (e: ExpressionNode): number | undefined => (e.kind === 'Column' ? aliases.get(e.name) : undefined);

  // GROUP BY may name an alias, as in PostgreSQL; a column of the table wins over one.
  const tableColumns = new Set(table.columns.map((c) => c.name));
  const groupBy = node.groupBy.map((g) => {
    const alias = g.kind === 'Column' && !tableColumns.has(g.name) ? aliases.get(g.name) : undefined;
    return alias === undefined ? g : items[alias]!.expression;
  });
  const grouping: SelectNode = groupBy.every((g, i) => g === node.groupBy[i]) ? node : { ...node, groupBy };

  // Unknown names first, in reading order, so a typo is reported as such rather than
  // as whatever type error it happens to cause.
  for (const e of [...items.map((i) => i.expression), node.where, ...groupBy, ...order.map((o) => (aliasOf(o.expression) === undefined ? o.expression : null))]) {
    if (e !== null) checkNames(e, resolve);
  }
  // `ORDER BY 2` means a position in SQL dialects that have them; sorting by the constant would silently do nothing.
  for (const [clause, e] of [...order.map((o) => ['ORDER BY', o.expression] as const), ...groupBy.map((g) => ['GROUP BY', g] as const)]) {
    if (e.kind === 'Literal' || e.kind === 'Parameter') throw invalidArgument(`${clause} ${printExpression(e)}: positions and constants are not supported; name a column, a JSON path or an alias`);
  }
  refuseCalls(node.where, 'WHERE');
  for (const g of groupBy) refuseCalls(g, 'GROUP BY');

  const predicate = node.where === null ? null : compileCondition(node.where, resolve, params);
  const limit = node.limit === null ? Infinity : bindInteger(node.limit, params, 'LIMIT', 0, Number.MAX_SAFE_INTEGER);
  const offset = node.offset === null ? 0 : bindInteger(node.offset, params, 'OFFSET', 0, Number.MAX_SAFE_INTEGER);
  const mentioned = new Set(columnsOf(node.where));
  const aggregated = groupBy.length > 0
    || items.some((i) => aggregateCalls(i.expression).length > 0)
    || order.some((o) => aliasOf(o.expression) === undefined && aggregateCalls(o.expression).length > 0);

  const plan = aggregated
    ? planGrouped(grouping, items, order, aliasOf, resolve, params)
    : planPlain(node, items, star, order, aliasOf, resolve, params);
  const columns = items.map((i) => i.name);
  const equals = node.where === null ? new Map<string, unknown>() : scanHints(node.where, resolve, params);
  const hints: ScanHints = { equals: equals ?? new Map(), mentioned };
  const rows = await plan(table, hints, equals === null, predicate, { limit, offset });
  return { columns, rows };
}

// ---------------------------------------------------------------------------
// Plain queries: one output row per table row.

function planPlain(
  node: SelectNode,
  items: readonly OutputItem[],
  star: boolean,
  order: readonly OrderByNode[],
  aliasOf: (e: ExpressionNode) => number | undefined,
  resolve: ColumnResolver,
  params: Params,
): Plan {
  const values = items.map((i) => compileValue(i.expression, resolve, params));
  const names = items.map((i) => i.name);
  // Tables build each row fresh with every column in `SELECT *` order, so `*` keeps the
  // row itself; copying 28 columns key by key was the largest cost of listing versions.
  const project = star ? (row: Row): Row => row : (row: Row): Row => {
    const out: Row = {};
    for (let i = 0; i < names.length; i++) out[names[i]!] = values[i]!.get(row) ?? null;
    return out;
  };

  if (node.distinct) {
    const texts = items.map((i) => printExpression(i.expression));
    const keys = order.map((o): SortKey<Row> => {
      const index = aliasOf(o.expression) ?? texts.indexOf(printExpression(o.expression));
      if (index < 0) throw invalidArgument(`with DISTINCT, ORDER BY ${printExpression(o.expression)} must be one of the selected columns`);
      checkOrderable(values[index]!.type, printExpression(o.expression));
      const name = names[index]!;
      return { get: (out) => out[name] ?? null, sign: o.direction === 'DESC' ? -1 : 1 };
    });
    return async (table, hints, empty, predicate, page) => {
      if (empty || page.limit === 0) return [];
      const seen = new Set<string>();
      const out: Row[] = [];
      // Without ORDER BY the first distinct rows are the answer, so the scan can stop.
      const wanted = keys.length === 0 ? page.offset + page.limit : Infinity;
      for await (const row of table.scan(hints)) {
        if (predicate !== null && predicate(row) !== true) continue;
        const projected = project(row);
        const key = names.map((n) => equalityKey(projected[n])).join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(projected);
        if (out.length >= wanted) break;
      }
      return sortBy(out, keys).slice(page.offset, page.offset + page.limit);
    };
  }

  const keys = order.map((o): SortKey<Row> => {
    const alias = aliasOf(o.expression);
    const value = alias === undefined ? compileValue(o.expression, resolve, params) : values[alias]!;
    checkOrderable(value.type, printExpression(o.expression));
    return { get: value.get, sign: o.direction === 'DESC' ? -1 : 1 };
  });
  const compare = keys.length > 0 ? comparator(keys) : null;
  return async (table, hints, empty, predicate, page) => {
    if (empty || page.limit === 0) return [];
    const wanted = page.offset + page.limit;
    const rows = compare === null
      ? await firstRows(table, hints, predicate, wanted)
      : await sortedRows(table, hints, predicate, compare, wanted);
    return rows.slice(page.offset, page.offset + page.limit).map(project);
  };
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

// ---------------------------------------------------------------------------
// Names and scan hints

/** How an output column is named without AS: a column by its name, anything else by its text (`metrics.f1`, `count(*)`). */
function outputName(expr: ExpressionNode): string {
  return expr.kind === 'Column' ? expr.name : printExpression(expr);
}

/** The resolver of a table's columns: UNKNOWN_COLUMN with a suggestion for any other name. */
export function tableResolver(table: VirtualTable): ColumnResolver {
  const types = new Map(table.columns.map((c) => [c.name, c.type]));
  return (name) => {
    const type = types.get(name);
    if (type === undefined) throw unknownColumn(name, table);
    return type;
  };
}

/** Resolves every column and checks every function name of `expr`, in reading order. */
function checkNames(expr: ExpressionNode, resolve: ColumnResolver): void {
  const pending: ExpressionNode[] = [expr];
  while (pending.length > 0) {
    const e = pending.pop()!;
    switch (e.kind) {
      case 'Column': resolve(e.name); break;
      case 'JsonPath': resolve(e.column.name); break;
      case 'FunctionCall':
        if (!isAggregate(e)) throw unknownFunction(e.name);
        for (let i = e.args.length - 1; i >= 0; i--) pending.push(e.args[i]!);
        break;
      case 'Comparison': case 'Logical': pending.push(e.right, e.left); break;
      case 'Not': case 'IsNull': pending.push(e.operand); break;
      case 'Like': pending.push(e.pattern, e.operand); break;
      case 'In': for (let i = e.list.length - 1; i >= 0; i--) pending.push(e.list[i]!); pending.push(e.operand); break;
      case 'Literal': case 'Parameter': break;
    }
  }
}

/**
 * Equalities every accepted row must satisfy, from the top-level AND chain. Returns
 * null when that chain can never be TRUE (a column pinned to two values, or `= NULL`),
 * so the scan can be skipped. Runs after compilation, so conversions cannot fail here.
 */
export function scanHints(where: ExpressionNode, resolve: ColumnResolver, params: Params): Map<string, unknown> | null {
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
  return new ModelSqlError('UNKNOWN_COLUMN', `column '${name}' does not exist in ${table.name}${suggestion(name, table.columns.map((c) => c.name))}`);
}
