import { invalidArgument } from '../errors.js';

/**
 * Canonical JSON text of a value an app passed as hyperparams, metrics or a spec.
 * Only what JSON can represent faithfully is accepted: `JSON.stringify` would
 * silently turn NaN into null and drop functions or undefined members.
 */
export function toJsonText(value: unknown, what: string): string {
  check(value, what, new Set());
  return JSON.stringify(value);
}

/** Parses JSON text written in a statement, e.g. `metrics = '{"f1":0.93}'`. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function check(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidArgument(`${path} is ${value}, which JSON cannot represent`);
    return;
  }
  if (typeof value !== 'object') throw invalidArgument(`${path} is a ${typeof value}, which JSON cannot represent`);
  if (seen.has(value)) throw invalidArgument(`${path} contains a cycle`);
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, index) => check(item, `${path}[${index}]`, seen));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw invalidArgument(`${path} is a ${value.constructor?.name ?? 'non-plain object'}; pass plain objects, arrays and scalars`);
    }
    for (const [key, item] of Object.entries(value)) check(item, `${path}.${key}`, seen);
  }
  seen.delete(value);
}
