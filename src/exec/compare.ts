/**
 * The one comparison rule of modelsql: how two values compare when their types may
 * differ (JSON paths yield numbers, text, booleans, arrays or objects per row). WHERE,
 * ORDER BY, `min`/`max`, `GROUP BY`/`DISTINCT` and `USE BEST VERSION ... BY` all use it.
 *
 * - Values of one kind compare naturally: numbers by value, text by UTF-16 code units
 *   (as before: case-sensitive), `FALSE < TRUE`, timestamps by time, arrays and objects
 *   by their canonical JSON text (object keys sorted).
 * - Across kinds there is one total order, for sorting and `min`/`max`:
 *   numbers < text < booleans < timestamps < blobs < arrays < objects.
 *   NULL is not in it: ORDER BY puts NULL above every value (last for ASC, first for
 *   DESC), `min`/`max`/`BEST BY` skip it.
 * - In a WHERE comparison, values of different kinds are never equal and never
 *   ordered: `=`, `<`, `<=`, `>`, `>=` are FALSE, `<>` is TRUE; never an error. NULL
 *   on either side is UNKNOWN, as always.
 */

/** The kinds of non-null values, in their cross-kind order. */
export type ValueKind = 'number' | 'text' | 'boolean' | 'timestamp' | 'blob' | 'array' | 'object';

const RANK: Readonly<Record<ValueKind, number>> = { number: 0, text: 1, boolean: 2, timestamp: 3, blob: 4, array: 5, object: 6 };

/** The kind of a non-null value. */
export function kindOf(value: unknown): ValueKind {
  switch (typeof value) {
    case 'number': case 'bigint': return 'number';
    case 'string': return 'text';
    case 'boolean': return 'boolean';
  }
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Uint8Array) return 'blob';
  return Array.isArray(value) ? 'array' : 'object';
}

/** Negative, zero or positive: where `a` sorts against `b` (both non-null) in the total order. */
export function compareValues(a: unknown, b: unknown): number {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) return RANK[ka] - RANK[kb];
  switch (ka) {
    case 'number': return order(Number(a), Number(b));
    case 'text': return order(a as string, b as string);
    case 'boolean': return order(a ? 1 : 0, b ? 1 : 0);
    case 'timestamp': return order((a as Date).getTime(), (b as Date).getTime());
    case 'blob': return order(hex(a as Uint8Array), hex(b as Uint8Array));
    default: return order(canonicalJson(a), canonicalJson(b));
  }
}

/** A comparison operator. */
export type ComparisonOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/** `a op b` under the WHERE rule above: null (UNKNOWN) when either side is null. */
export function compareForCondition(op: ComparisonOp, a: unknown, b: unknown): boolean | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (kindOf(a) !== kindOf(b)) return op === '<>';
  const c = compareValues(a, b);
  switch (op) {
    case '=': return c === 0;
    case '<>': return c !== 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

/**
 * Text that is equal for two values exactly when they compare equal (kind included):
 * how GROUP BY and DISTINCT tell values apart. `1` and `1.0` are one number; `-0` is `0`.
 */
export function equalityKey(value: unknown): string {
  if (value === null || value === undefined) return 'n';
  const kind = kindOf(value);
  switch (kind) {
    case 'number': return `d${String(Number(value) + 0)}`;
    case 'text': return `s${value as string}`;
    case 'boolean': return value ? 'b1' : 'b0';
    case 'timestamp': return `t${(value as Date).getTime()}`;
    case 'blob': return `x${hex(value as Uint8Array)}`;
    default: return `j${canonicalJson(value)}`;
  }
}

/** JSON text with object keys sorted, so `{"a":1,"b":2}` equals `{"b":2,"a":1}`. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

function order<T extends number | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
