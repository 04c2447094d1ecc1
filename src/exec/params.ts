import { describeValue, invalidArgument } from '../errors.js';
import type { ValueNode, VersionRefNode } from '../parser/ast.js';

export { describeValue };

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
  return checkParameter(params[node.index - 1], node.index);
}

/**
 * The one gate every `$n` value passes: `undefined` reads as NULL, and values no
 * statement can use (symbols, functions, an invalid Date) are INVALID_ARGUMENT here, so
 * no later check meets them (nor a revoked Proxy, which throws on any look). Objects pass on (JSON options take them), and every
 * message describes values with {@link describeValue}, which cannot throw.
 */
function checkParameter(value: unknown, index: number): unknown {
  if (value === undefined) return null;
  if (typeof value === 'symbol' || typeof value === 'function') {
    throw invalidArgument(`$${index} is ${describeValue(value)}, which no statement accepts; pass text, a number, a boolean, NULL, a Date, a Buffer/Uint8Array or a JSON object`);
  }
  let invalidDate: boolean;
  try {
    invalidDate = value instanceof Date && Number.isNaN(value.getTime());
  } catch {
    throw invalidArgument(`$${index} cannot be inspected (a revoked Proxy?)`); // any later look at it would throw too
  }
  if (invalidDate) throw invalidArgument(`$${index} is an invalid Date`);
  return value;
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

/**
 * How a statement names a version, bound: a version number, or `'@name'` for an alias
 * (written `@name`, or passed as a `$n` string such as `'@champion'`), which the
 * registry resolves when the statement runs.
 */
export function bindVersionRef(node: VersionRefNode, params: Params, what = 'VERSION'): number | `@${string}` {
  if (node.kind === 'AliasRef') return `@${node.name}`;
  const value = bindValue(node, params);
  if (typeof value === 'string' && value.startsWith('@')) return value as `@${string}`;
  return bindInteger(node, params, what);
}
