/**
 * The aggregate functions: `count(*)`, `count(x)`, `min`, `max`, `avg`, `sum`. Every
 * function modelsql knows is one of these, so a call to any other name is
 * UNKNOWN_FUNCTION (with a suggestion). NULL inputs are skipped by all but `count(*)`;
 * `avg`/`sum` take numbers only (anything else is INVALID_ARGUMENT); over no input,
 * `count` is 0 and the others NULL. `min`/`max` follow the total order of compare.ts.
 */
import { ModelSqlError, describeValue, invalidArgument } from '../errors.js';
import type { ExpressionNode, FunctionCallNode } from '../parser/ast.js';
import { compareValues } from './compare.js';
import { suggestion } from './suggest.js';
import type { ColumnType } from './virtual-table.js';

/** The aggregate function names (lower case: function names are case-insensitive). */
export const AGGREGATE_NAMES = ['count', 'min', 'max', 'avg', 'sum'] as const;

/** One aggregate's name. */
export type AggregateName = (typeof AGGREGATE_NAMES)[number];

/** The value type of an argument as the compiler knows it (`dynamic`: a JSON path, known per row). */
export type ArgumentType = ColumnType | 'dynamic' | 'null' | 'blob' | 'unsupported';

/** Folds rows into one value. */
export interface Accumulator {
  add(value: unknown): void;
  result(): unknown;
}

/** True for a call to one of the aggregates. */
export function isAggregate(node: FunctionCallNode): boolean {
  return (AGGREGATE_NAMES as readonly string[]).includes(node.name);
}

/** UNKNOWN_FUNCTION for a call no function answers, with the nearest name. */
export function unknownFunction(name: string): ModelSqlError {
  return new ModelSqlError('UNKNOWN_FUNCTION', `function '${name}' does not exist${suggestion(name, AGGREGATE_NAMES)} (the functions are ${AGGREGATE_NAMES.join(', ')})`);
}

/**
 * Checks a call's shape and its argument's static type, and returns the type of its
 * result. `label` names the call in messages (`max(metrics.f1)`).
 */
export function checkAggregate(node: FunctionCallNode, argType: ArgumentType | null, label: string): ColumnType | 'dynamic' {
  const name = node.name as AggregateName;
  if (node.star && name !== 'count') throw invalidArgument(`${name}(*) is not a function: only count takes *`);
  if (!node.star && node.args.length !== 1) throw invalidArgument(`${name}() takes exactly one argument, got ${node.args.length} in ${label}`);
  if (name === 'count') return 'integer';
  if (argType === 'blob' || argType === 'unsupported') throw invalidArgument(`${label}: ${name}() cannot take a blob`);
  if (name === 'avg' || name === 'sum') {
    if (argType !== 'integer' && argType !== 'real' && argType !== 'dynamic' && argType !== 'null') {
      throw invalidArgument(`${label}: ${name}() takes numbers, not ${argType} values`);
    }
    return 'real';
  }
  if (argType === 'json') throw invalidArgument(`${label}: json values are not ordered; ${name}() of a JSON path (e.g. metrics.f1) is`);
  return argType === 'null' || argType === null ? 'dynamic' : argType;
}

/** A fresh accumulator for one group. */
export function accumulator(node: FunctionCallNode, label: string): Accumulator {
  switch (node.name as AggregateName) {
    case 'count': {
      let n = 0;
      return node.star
        ? { add: () => void n++, result: () => n }
        : { add: (v) => { if (v !== null) n++; }, result: () => n };
    }
    case 'min': case 'max': {
      const sign = node.name === 'min' ? -1 : 1;
      let best: unknown = null;
      return {
        add: (v) => { if (v !== null && (best === null || sign * compareValues(v, best) > 0)) best = v; },
        result: () => best,
      };
    }
    case 'avg': case 'sum': {
      let sum = 0;
      let n = 0;
      const average = node.name === 'avg';
      return {
        add: (v) => {
          if (v === null) return;
          if (typeof v !== 'number' && typeof v !== 'bigint') throw invalidArgument(`${label}: ${node.name}() takes numbers, met ${describeValue(v)}`);
          sum += Number(v);
          n++;
        },
        result: () => (n === 0 ? null : average ? sum / n : sum),
      };
    }
  }
}

/**
 * Every aggregate call in `expr`, outermost first, without descending into them; a
 * call inside another aggregate's argument is refused (`max(count(*))`).
 */
export function aggregateCalls(expr: ExpressionNode, out: FunctionCallNode[] = []): FunctionCallNode[] {
  forEachCall(expr, (call) => {
    if (!isAggregate(call)) return true;
    for (const arg of call.args) {
      forEachCall(arg, (inner) => {
        if (isAggregate(inner)) throw invalidArgument(`aggregate calls cannot nest: ${inner.name}() inside ${call.name}()`);
        return true;
      });
    }
    out.push(call);
    return false;
  });
  return out;
}

/** Visits every function call in `expr` (iteratively); `visit` returns whether to look inside its arguments. */
export function forEachCall(expr: ExpressionNode, visit: (call: FunctionCallNode) => boolean): void {
  const pending: ExpressionNode[] = [expr];
  while (pending.length > 0) {
    const e = pending.pop()!;
    switch (e.kind) {
      case 'FunctionCall': if (visit(e)) for (let i = e.args.length - 1; i >= 0; i--) pending.push(e.args[i]!); break;
      case 'Comparison': case 'Logical': pending.push(e.right, e.left); break;
      case 'Not': case 'IsNull': pending.push(e.operand); break;
      case 'Like': pending.push(e.pattern, e.operand); break;
      case 'In': for (let i = e.list.length - 1; i >= 0; i--) pending.push(e.list[i]!); pending.push(e.operand); break;
      case 'Literal': case 'Parameter': case 'Column': case 'JsonPath': break;
    }
  }
}

/**
 * Refuses function calls where only row values make sense (WHERE, BY of USE BEST
 * VERSION): an unknown name is UNKNOWN_FUNCTION, an aggregate INVALID_ARGUMENT naming `clause`.
 */
export function refuseCalls(expr: ExpressionNode | null, clause: string): void {
  if (expr === null) return;
  forEachCall(expr, (call) => {
    if (!isAggregate(call)) throw unknownFunction(call.name);
    throw invalidArgument(`aggregate functions are not allowed in ${clause} (${call.name}())`);
  });
}
