/**
 * JSON paths: `metrics.f1` walks from a column's JSON value into key `f1`. A missing
 * key, a step into something that is not an object or array, and a JSON `null` all give
 * NULL. On an array, a key that is a whole number in canonical form (`"0"`, `"12"`)
 * is an index.
 */

const INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The value at `keys` under `value`, or null when there is none. */
export function walkPath(value: unknown, keys: readonly string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return null;
    if (Array.isArray(current)) {
      if (!INDEX.test(key)) return null;
      current = current[Number(key)];
    } else {
      // Own keys only: `constructor` or `__proto__` must not reach the prototype.
      current = Object.prototype.hasOwnProperty.call(current, key) ? (current as Record<string, unknown>)[key] : undefined;
    }
    if (current === undefined) return null;
  }
  return current ?? null;
}
