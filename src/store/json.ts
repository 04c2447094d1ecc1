import { invalidArgument } from '../errors.js';

/**
 * How deeply arrays and objects may nest in a JSON value (hyperparams, metrics,
 * config, a job spec's own fields): `[1]` is 1 level, `{"a":[1]}` 2. Deeper values are
 * INVALID_ARGUMENT. The limit keeps every later step (JSON.stringify, comparison,
 * printing) far from the stack's end; no model's settings nest anywhere near it.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Canonical JSON text of a value an app passed as hyperparams, metrics or a spec.
 * Only what JSON can represent faithfully is accepted: `JSON.stringify` would
 * silently turn NaN into null and drop functions or undefined members.
 * `maxDepth` is for values that wrap user JSON (a job spec holds hyperparams).
 */
export function toJsonText(value: unknown, what: string, maxDepth = MAX_JSON_DEPTH): string {
  checkJson(value, what, maxDepth);
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

/** Where in the value a problem is, as a chain up to the root; its text is only built for a message. */
interface Place {
  readonly parent: Place | null;
  readonly step: string;
}

function pathOf(place: Place): string {
  const steps: string[] = [];
  for (let p: Place | null = place; p !== null; p = p.parent) steps.push(p.step);
  return steps.reverse().join('');
}

type Task =
  | { readonly kind: 'visit'; readonly value: unknown; readonly place: Place; readonly depth: number }
  | { readonly kind: 'leave'; readonly value: object };

/**
 * Checks that `value` is JSON: finite numbers, strings, booleans, null, arrays and
 * plain objects, no cycles, at most `maxDepth` levels deep. Walks with an explicit
 * stack, so any depth is measured and refused without exhausting the call stack.
 */
export function checkJson(value: unknown, what: string, maxDepth = MAX_JSON_DEPTH): void {
  const ancestors = new Set<object>();
  const tasks: Task[] = [{ kind: 'visit', value, place: { parent: null, step: what }, depth: 0 }];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    if (task.kind === 'leave') {
      ancestors.delete(task.value);
      continue;
    }
    const { value: v, place, depth } = task;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidArgument(`${pathOf(place)} is ${v}, which JSON cannot represent`);
      continue;
    }
    if (typeof v !== 'object') throw invalidArgument(`${pathOf(place)} is a ${typeof v}, which JSON cannot represent`);
    if (ancestors.has(v)) throw invalidArgument(`${pathOf(place)} contains a cycle`);
    if (depth >= maxDepth) throw invalidArgument(`${what} nests arrays and objects deeper than ${maxDepth} levels, the limit`);
    const children: Array<readonly [string, unknown]> = [];
    if (Array.isArray(v)) {
      v.forEach((item, index) => children.push([`[${index}]`, item]));
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw invalidArgument(`${pathOf(place)} is a ${v.constructor?.name ?? 'non-plain object'}; pass plain objects, arrays and scalars`);
      }
      for (const [key, item] of Object.entries(v)) children.push([`.${key}`, item]);
    }
    ancestors.add(v);
    tasks.push({ kind: 'leave', value: v });
    // Pushed last-first, so the first problem in reading order is the one reported.
    for (let i = children.length - 1; i >= 0; i--) {
      const [step, item] = children[i]!;
      tasks.push({ kind: 'visit', value: item, place: { parent: place, step }, depth: depth + 1 });
    }
  }
}
