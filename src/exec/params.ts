import { invalidArgument } from '../errors.js';
import type { ValueNode } from '../parser/ast.js';

/** Positional parameters for `$1..$n`; `params[0]` binds `$1`. */
export type Params = readonly unknown[];

/** The value of a literal, or of the parameter it names. A missing parameter is INVALID_ARGUMENT. */
export function bindValue(node: ValueNode, params: Params): unknown {
  if (node.kind === 'Literal') return node.value;
  if (node.index < 1 || node.index > params.length) {
    throw invalidArgument(
      `statement uses $${node.index} but ${params.length} parameter${params.length === 1 ? ' was' : 's were'} given`,
    );
  }
  const value = params[node.index - 1];
  return value === undefined ? null : value;
}

/** A bound value that must be a whole number in `[min, max]`, e.g. a version or a LIMIT. */
export function bindInteger(node: ValueNode, params: Params, what: string, min = 1, max = 0xffff_ffff): number {
  const value = bindValue(node, params);
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidArgument(`${what} must be a whole number from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return n;
}

/** Short human description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return 'an object';
  return String(value);
}
