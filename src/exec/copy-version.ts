/**
 * `CREATE MODEL target FROM MODEL source VERSION n [WITH (description = ..., created_by
 * = ..., active = TRUE|FALSE)]`: binds and checks the statement, then copies through
 * the registry (src/store/registry/copy.ts) as one unit.
 */

import { invalidArgument } from '../errors.js';
import type { CopyVersionNode } from '../parser/ast.js';
import type { CopyOptions, Registry } from '../store/registry.js';
import type { Row } from './virtual-table.js';
import { bindValue, bindVersionRef, describeValue, type Params } from './params.js';

/** Options a copy accepts; everything else comes from the source version. */
export const COPY_OPTIONS = ['description', 'created_by', 'active'] as const;

type CopyOptionName = (typeof COPY_OPTIONS)[number];

/** Binds the statement's options: each once, of its type, or INVALID_ARGUMENT naming it. */
export function planCopy(node: CopyVersionNode, params: Params): { version: number | `@${string}`; options: CopyOptions } {
  const version = bindVersionRef(node.version, params);
  const options: { description?: string | null; createdBy?: string | null; active?: boolean } = {};
  const seen = new Set<string>();
  for (const option of node.options) {
    const name = option.name as CopyOptionName;
    if (!COPY_OPTIONS.includes(name)) {
      throw invalidArgument(`unknown option '${option.name}' for CREATE MODEL ... FROM MODEL; expected one of ${COPY_OPTIONS.join(', ')} (weights, metrics and the rest come from the source version)`);
    }
    if (seen.has(name)) throw invalidArgument(`option '${name}' is given twice`);
    seen.add(name);
    if (option.value.kind === 'File') throw invalidArgument(`FILE is only allowed for weights, not for ${name}`);
    const value = bindValue(option.value, params);
    if (name === 'active') {
      if (typeof value !== 'boolean') throw invalidArgument(`active must be TRUE or FALSE, got ${describeValue(value)}`);
      options.active = value;
    } else {
      if (value !== null && typeof value !== 'string') throw invalidArgument(`${name} must be text, got ${describeValue(value)}`);
      if (name === 'description') options.description = value;
      else options.createdBy = value;
    }
  }
  return { version, options };
}

/** Runs the copy; the row names the new version and where it came from. */
export async function executeCopy(node: CopyVersionNode, params: Params, registry: Registry): Promise<Row> {
  const { version, options } = planCopy(node, params);
  const copied = await registry.copyVersion(node.model, { model: node.source, version }, options);
  return {
    model: copied.model,
    version: copied.version,
    active: copied.active,
    sha256: copied.sha256,
    copied_from_model: copied.copiedFrom.model,
    copied_from_version: copied.copiedFrom.version,
    copied_from_tenant: copied.copiedFrom.tenant,
  };
}
