/**
 * The grouped plan of SELECT: a query with aggregates or GROUP BY folds every matching
 * row into its group (one group without GROUP BY, even over no rows), then computes
 * the select list and ORDER BY keys over each group's row, in which the GROUP BY
 * values and the aggregate results stand as slots. Memory is O(groups).
 */
import { invalidArgument } from '../errors.js';
import { logicalTerms, notRun, type ColumnNode, type ExpressionNode, type FunctionCallNode, type OrderByNode, type SelectNode } from '../parser/ast.js';
import { printExpression } from '../parser/print.js';
import { accumulator, aggregateCalls, checkAggregate, isAggregate, unknownFunction, type Accumulator } from './aggregate.js';
import { equalityKey } from './compare.js';
import { compileValue, type ColumnResolver, type CompiledValue } from './expression.js';
import type { Params } from './params.js';
import { checkOrderable, sortBy, type OutputItem, type Plan, type SortKey } from './plan.js';
import type { ColumnType, Row } from './virtual-table.js';


interface Group {
  readonly row: Row;
  readonly accumulators: Accumulator[];
}

/** Prepares a grouped query; `node.groupBy` has its aliases already replaced by their expressions. */
export function planGrouped(
  node: SelectNode,
  items: readonly OutputItem[],
  order: readonly OrderByNode[],
  aliasOf: (e: ExpressionNode) => number | undefined,
  resolve: ColumnResolver,
  params: Params,
): Plan {
  const groupValues = node.groupBy.map((g) => compileValue(g, resolve, params));
  const groupTexts = node.groupBy.map((g) => printExpression(g));
  const calls: { node: FunctionCallNode; text: string; arg: CompiledValue | null; type: ColumnType | 'dynamic' }[] = [];
  const slotTypes = new Map<string, ColumnType | 'dynamic'>();
  // A group row holds each GROUP BY value and each aggregate's result under its text
  // (`model`, `count(*)`): the names errors then show. Aggregates cannot stand in GROUP
  // BY, so the two never share a text.
  const groupSlot = (i: number): string => groupTexts[i]!;
  const aggregateSlot = (i: number): string => calls[i]!.text;
  groupValues.forEach((g, i) => slotTypes.set(groupSlot(i), asSlotType(g.type)));

  const groupKinds = new Set(node.groupBy.map((g) => g.kind));
  /**
   * `expr` over a group row: grouped expressions and aggregate calls become slots;
   * anything else left over is an error. AND/OR chains and NOT runs are walked as
   * loops (a chain may be thousands long), so recursion is only as deep as the nesting
   * of parentheses and comparisons; only nodes of a kind some GROUP BY expression has
   * are printed to be matched.
   */
  const rewrite = (expr: ExpressionNode): ExpressionNode => {
    if (expr.kind === 'Literal' || expr.kind === 'Parameter') return expr;
    const grouped = groupKinds.has(expr.kind) ? groupTexts.indexOf(printExpression(expr)) : -1;
    if (grouped >= 0) return slot(groupSlot(grouped));
    switch (expr.kind) {
      case 'FunctionCall': {
        const text = printExpression(expr);
        if (!isAggregate(expr)) throw unknownFunction(expr.name);
        aggregateCalls(expr); // refuses nesting
        let index = calls.findIndex((c) => c.text === text);
        if (index < 0) {
          const arg = expr.star || expr.args.length !== 1 ? null : compileValue(expr.args[0]!, resolve, params);
          const type = checkAggregate(expr, arg === null ? null : arg.type, text);
          index = calls.push({ node: expr, text, arg, type }) - 1;
          slotTypes.set(aggregateSlot(index), type);
        }
        return slot(aggregateSlot(index));
      }
      case 'Column': case 'JsonPath': {
        const text = printExpression(expr);
        throw invalidArgument(node.groupBy.length > 0
          ? `${text} must appear in GROUP BY or be used in an aggregate function`
          : `cannot mix aggregate functions and ${text} without GROUP BY (group by it, or aggregate it)`);
      }
      case 'Comparison': return { ...expr, left: rewrite(expr.left), right: rewrite(expr.right) };
      case 'Logical': {
        // Rebuilt left-deep: the same truth value whatever the original grouping.
        const terms = logicalTerms(expr).map(rewrite);
        return terms.slice(1).reduce<ExpressionNode>((left, right) => ({ kind: 'Logical', op: expr.op, left, right }), terms[0]!);
      }
      case 'Not': {
        const run = notRun(expr);
        let result = rewrite(run.operand);
        for (let i = 0; i < run.count; i++) result = { kind: 'Not', operand: result };
        return result;
      }
      case 'IsNull': return { ...expr, operand: rewrite(expr.operand) };
      case 'Like': return { ...expr, operand: rewrite(expr.operand), pattern: rewrite(expr.pattern) };
      case 'In': return { ...expr, operand: rewrite(expr.operand), list: expr.list.map(rewrite) };
    }
  };

  const rewrittenItems = items.map((i) => rewrite(i.expression));
  const rewrittenOrder = order.map((o) => (aliasOf(o.expression) === undefined ? rewrite(o.expression) : null));
  const slotResolver: ColumnResolver = (name) => slotTypes.get(name)!;
  const values = rewrittenItems.map((e) => compileValue(e, slotResolver, params));
  const names = items.map((i) => i.name);
  const texts = items.map((i) => printExpression(i.expression));
  const keys = order.map((o, k): SortKey<{ group: Row; out: Row }> => {
    const alias = aliasOf(o.expression);
    const sign = o.direction === 'DESC' ? -1 : 1;
    const label = printExpression(o.expression);
    if (node.distinct) {
      const index = alias ?? texts.indexOf(label);
      if (index < 0) throw invalidArgument(`with DISTINCT, ORDER BY ${label} must be one of the selected columns`);
    }
    if (alias !== undefined) {
      checkOrderable(values[alias]!.type, label);
      const name = names[alias]!;
      return { get: ({ out }) => out[name] ?? null, sign };
    }
    const value = compileValue(rewrittenOrder[k]!, slotResolver, params);
    checkOrderable(value.type, label);
    return { get: ({ group }) => value.get(group), sign };
  });

  return async (table, hints, empty, predicate, page) => {
    const groups = new Map<string, Group>();
    const fresh = (row: Row): Group => ({ row, accumulators: calls.map((c) => accumulator(c.node, c.text)) });
    // Without GROUP BY there is exactly one group, even over no rows (count(*) is 0).
    if (node.groupBy.length === 0) groups.set('', fresh({}));
    if (!empty && page.limit > 0) {
      for await (const row of table.scan(hints)) {
        if (predicate !== null && predicate(row) !== true) continue;
        const keyValues = groupValues.map((g) => g.get(row) ?? null);
        const key = keyValues.map(equalityKey).join('\u0000');
        let group = groups.get(key);
        if (group === undefined) {
          const groupRow: Row = {};
          keyValues.forEach((v, i) => (groupRow[groupSlot(i)] = v));
          group = fresh(groupRow);
          groups.set(key, group);
        }
        for (let i = 0; i < calls.length; i++) {
          const arg = calls[i]!.arg;
          group.accumulators[i]!.add(arg === null ? true : arg.get(row) ?? null);
        }
      }
    }
    if (page.limit === 0) return [];
    let results: { group: Row; out: Row }[] = [];
    const seen = new Set<string>();
    for (const { row, accumulators } of groups.values()) {
      accumulators.forEach((a, i) => (row[aggregateSlot(i)] = a.result()));
      const out: Row = {};
      for (let i = 0; i < names.length; i++) out[names[i]!] = values[i]!.get(row) ?? null;
      if (node.distinct) {
        const key = names.map((n) => equalityKey(out[n])).join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
      }
      results.push({ group: row, out });
    }
    results = sortBy(results, keys);
    return results.slice(page.offset, page.offset + page.limit).map((r) => r.out);
  };
}

function slot(name: string): ColumnNode {
  return { kind: 'Column', name };
}

/** The type a group slot holds: a constant's type is only known per row there. */
function asSlotType(type: CompiledValue['type']): ColumnType | 'dynamic' {
  return type === 'null' || type === 'blob' || type === 'unsupported' ? 'dynamic' : type;
}
