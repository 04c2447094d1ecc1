/**
 * `ALTER MODEL m USE BEST VERSION BY expr [ASC | DESC] [WHERE condition]`: moves the
 * active pointer to the best servable version of one model, like PostgresML's
 * best_score. Candidates are the versions USE VERSION would accept (neither archived
 * nor retired) whose BY value is not NULL and for which WHERE (the same conditions as
 * SELECT over ML_MODEL_VERSIONS) holds. Best is highest for DESC (the default), lowest
 * for ASC, under the total order of compare.ts; ties go to the highest version number.
 *
 * Only this model's versions are read. The move itself is the registry's
 * setActiveVersion, as for USE VERSION, so it records the same `active_moved` event
 * (with `best_by` in its detail) and re-checks the chosen version under the model's
 * lock: one archived or retired since the choice fails the statement, which then
 * changes nothing.
 */
import { ModelSqlError, permissionDenied, retired } from '../errors.js';
import type { UseBestVersionNode } from '../parser/ast.js';
import { printExpression } from '../parser/print.js';
import type { Registry } from '../store/registry.js';
import { refuseCalls } from './aggregate.js';
import { compareValues } from './compare.js';
import { columnsOf, compileCondition, compileValue } from './expression.js';
import type { Params } from './params.js';
import { scanHints, tableResolver } from './select.js';
import type { Row, VirtualTable } from './virtual-table.js';

/** What USE BEST VERSION answers: USE VERSION's row, and the winning BY value. */
export interface BestVersionMove {
  readonly model: string;
  readonly active_version: number;
  readonly previous_version: number | null;
  readonly by_value: unknown;
}

/** Runs the statement against `versions` (the session's ML_MODEL_VERSIONS) and `registry`. */
export async function useBestVersion(node: UseBestVersionNode, params: Params, registry: Registry, versions: VirtualTable): Promise<BestVersionMove> {
  // Everything that can fail without data first, so a bad statement fails the same way on any registry.
  const resolve = tableResolver(versions);
  refuseCalls(node.by, 'the BY of USE BEST VERSION');
  const by = compileValue(node.by, resolve, params);
  const byText = printExpression(node.by);
  if (by.type === 'json') throw new ModelSqlError('INVALID_ARGUMENT', `cannot choose BY ${byText} (json): json values are not ordered; use a JSON path such as ${byText}.key`);
  refuseCalls(node.where, 'WHERE');
  const predicate = node.where === null ? null : compileCondition(node.where, resolve, params);
  const equals = node.where === null ? new Map<string, unknown>() : scanHints(node.where, resolve, params);

  // Tenant rules as USE VERSION: only the session's own, existing, unretired model.
  const model = await registry.summary(node.model);
  if (registry.tenant !== null && model.tenant !== registry.tenant) {
    throw permissionDenied(`model '${node.model}' is global; tenant '${registry.tenant}' can change only its own models`, { model: node.model });
  }
  if (model.retired) throw retired(node.model);

  let best: { version: number; value: unknown } | null = null;
  const sign = node.direction === 'DESC' ? 1 : -1;
  const pinned = equals?.get('model');
  if (equals !== null && (pinned === undefined || pinned === node.model)) {
    equals.set('model', node.model);
    for await (const row of versions.scan({ equals, mentioned: new Set(columnsOf(node.where)) })) {
      if (!isCandidate(row, node.model)) continue;
      const value = by.get(row) ?? null;
      if (value === null || (predicate !== null && predicate(row) !== true)) continue;
      const version = row.version as number;
      const c = best === null ? 1 : sign * compareValues(value, best.value);
      if (c > 0 || (c === 0 && version > best!.version)) best = { version, value };
    }
  }
  if (best === null) {
    const where = node.where === null ? '' : ` where ${printExpression(node.where)}`;
    throw new ModelSqlError('NO_MATCHING_VERSION', `no version of model '${node.model}' to use: none is servable (neither archived nor retired) with a non-NULL ${byText}${where}`, { model: node.model });
  }
  const detail: Record<string, unknown> = { best_by: byText, direction: node.direction };
  if (node.where !== null) detail.where = printExpression(node.where);
  const { previous } = await registry.setActiveVersion(node.model, best.version, detail);
  return { model: node.model, active_version: best.version, previous_version: previous, by_value: best.value };
}

/** A version USE VERSION would accept, of this very model (a stray row of another is never one). */
function isCandidate(row: Row, model: string): boolean {
  return row.model === model && row.archived === false && row.retired === false && typeof row.version === 'number';
}
