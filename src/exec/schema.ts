/**
 * Binds a `SCHEMA (...)` clause to the registry's schema input. Only binding happens
 * here; kinds, ranges and duplicates are checked by the fingerprint module, so SQL and
 * the typed API reject the same things with the same messages.
 */

import type { SchemaNode, ValueNode } from '../parser/ast.js';
import type { SchemaInput } from '../store/fingerprint.js';
import { bindValue } from './params.js';

/** Binds the values (`$n` or literals) of a schema clause. */
export function bindSchema(node: SchemaNode, params: readonly unknown[]): SchemaInput {
  const bind = (value: ValueNode | null): number | null => (value === null ? null : (numeric(bindValue(value, params)) as number | null));
  return {
    fields: node.fields.map((field) => ({
      name: field.name,
      kind: field.fieldKind,
      nullRate: bind(field.nullRate),
      cardinality: bind(field.cardinality),
    })),
    recordCount: bind(node.recordCount),
  };
}

/** A `$n` BigInt counts like the number it is (as LIMIT and VERSION take it); an unsafe one stays a BigInt and is refused. */
function numeric(value: unknown): unknown {
  return typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
