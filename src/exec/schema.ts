/**
 * Binds a `SCHEMA (...)` clause to the registry's schema input. Only binding happens
 * here; kinds, ranges and duplicates are checked by the fingerprint module, so SQL and
 * the typed API reject the same things with the same messages.
 */

import type { SchemaNode } from '../parser/ast.js';
import type { SchemaInput } from '../store/fingerprint.js';
import { bindValue } from './params.js';

/** Binds the values (`$n` or literals) of a schema clause. */
export function bindSchema(node: SchemaNode, params: readonly unknown[]): SchemaInput {
  return {
    fields: node.fields.map((field) => ({
      name: field.name,
      kind: field.fieldKind,
      nullRate: field.nullRate === null ? null : (bindValue(field.nullRate, params) as number | null),
      cardinality: field.cardinality === null ? null : (bindValue(field.cardinality, params) as number | null),
    })),
    recordCount: node.recordCount === null ? null : (bindValue(node.recordCount, params) as number | null),
  };
}
