/**
 * Catalog metadata of a version (jammi catalog seed): what kind of model it is, the
 * task it performs, the backend that serves it, lineage to a base model, and backend
 * configuration. Only `task` is a closed set, because pipelines route on it.
 */

import { describeValue, invalidArgument } from '../errors.js';

/** The tasks a model may declare. */
export const TASKS = ['text_embedding', 'image_embedding', 'audio_embedding', 'classification', 'ner', 'regression'] as const;
/** One of {@link TASKS}. */
export type Task = (typeof TASKS)[number];

/** Checks a task name (case-insensitive) and returns it in canonical lower case. */
export function checkTask(value: unknown): Task | null {
  if (value === undefined || value === null) return null;
  const task = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (task === undefined || !(TASKS as readonly string[]).includes(task)) {
    throw invalidArgument(`task must be one of ${TASKS.join(', ')}; got ${typeof value === 'string' ? `'${value}'` : describeValue(value)}`);
  }
  return task as Task;
}
