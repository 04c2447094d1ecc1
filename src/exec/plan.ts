/**
 * What the SELECT engine's two plans (plain, grouped) share: the output columns, the
 * prepared plan's shape, and ORDER BY: keys sorted by the total order of compare.ts,
 * NULL above every value (last for ASC, first for DESC).
 */
import { invalidArgument } from '../errors.js';
import type { ExpressionNode } from '../parser/ast.js';
import { compareValues } from './compare.js';
import type { CompiledValue, Predicate } from './expression.js';
import type { Row, ScanHints, VirtualTable } from './virtual-table.js';

/** One output column: its name (alias, column name, or the expression's text) and what computes it. */
export interface OutputItem {
  readonly name: string;
  readonly expression: ExpressionNode;
}

/** How an ORDER BY key is read, and which way it sorts. */
export interface SortKey<T> {
  readonly get: (from: T) => unknown;
  readonly sign: 1 | -1;
}

/** A prepared query: scans (unless `empty`: the WHERE can never hold) and returns the page of output rows. */
export type Plan = (table: VirtualTable, hints: ScanHints, empty: boolean, predicate: Predicate | null, page: Page) => Promise<Row[]>;

/** The LIMIT and OFFSET of a query (LIMIT Infinity: none). */
export interface Page {
  readonly limit: number;
  readonly offset: number;
}

/** Whole json columns have no order (their keys do: ORDER BY metrics.f1). */
export function checkOrderable(type: CompiledValue['type'], label: string): void {
  if (type === 'json') throw invalidArgument(`cannot ORDER BY ${label} (json): json values are not ordered; order by a JSON path such as ${label}.key`);
}

/** Sorts by `keys` (stable): values by the total order of compare.ts, NULL above every value (last for ASC, first for DESC). */
export function sortBy<T>(items: T[], keys: readonly SortKey<T>[]): T[] {
  return keys.length === 0 ? items : items.sort(comparator(keys));
}

/** The row order of `keys`, for Array.prototype.sort. */
export function comparator<T>(keys: readonly SortKey<T>[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const { get, sign } of keys) {
      const x = get(a) ?? null;
      const y = get(b) ?? null;
      if (x === null && y === null) continue;
      if (x === null) return sign;
      if (y === null) return -sign;
      const c = compareValues(x, y);
      if (c !== 0) return c < 0 ? -sign : sign;
    }
    return 0;
  };
}
