/**
 * Tags: string key/value pairs on a model (kept in its head) and on a version (kept
 * in its record). They are the one mutable annotation: weights, metrics, hyperparams
 * and the other metadata of a version never change. Every change is an event
 * (`tag_set`, `tag_removed`) in the same unit.
 */

import { describeValue, invalidArgument, retired } from '../../errors.js';
import type { WriteOp } from '../commit-queue.js';
import type { EventInput } from '../events.js';
import { versionKey } from '../keys.js';
import { encodeRecord } from '../records.js';
import type { VersionRef } from '../types.js';
import { checkVersionRef, resolveVersionRef } from './aliases.js';
import { touched, type RegistryContext } from './context.js';

/** Longest tag key, and longest tag value (MLflow's limits). */
export const MAX_TAG_KEY_LENGTH = 250;
export const MAX_TAG_VALUE_LENGTH = 5000;
/** Most tags one model or one version may carry. */
export const MAX_TAGS = 100;

/** What a tag change answers: whether anything changed, and the value before it. */
export interface TagOutcome {
  readonly changed: boolean;
  readonly previous: string | null;
}

function checkTagKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
    throw invalidArgument(`a tag key is a non-empty string of at most ${MAX_TAG_KEY_LENGTH} characters, got ${describeValue(key)}`);
  }
  return key;
}

function checkTagValue(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_TAG_VALUE_LENGTH) {
    throw invalidArgument(`a tag value is a string of at most ${MAX_TAG_VALUE_LENGTH} characters, got ${describeValue(value)}`);
  }
  return value;
}

/** `tags` with `key` set to `value` (null: removed), or undefined when that changes nothing. */
function changed(tags: Readonly<Record<string, string>>, key: string, value: string | null, owner: string): Record<string, string> | undefined {
  const had = Object.hasOwn(tags, key);
  if (value === null) {
    if (!had) return undefined;
    const { [key]: _removed, ...rest } = tags;
    return rest;
  }
  if (had && tags[key] === value) return undefined;
  if (!had && Object.keys(tags).length >= MAX_TAGS) throw invalidArgument(`${owner} already has ${MAX_TAGS} tags, the most it may carry`);
  // Defined as an own property: a key such as `__proto__` is a tag like any other.
  const next: Record<string, string> = { ...tags };
  Object.defineProperty(next, key, { value, enumerable: true, writable: true, configurable: true });
  return next;
}

/**
 * Sets (`value` a string) or removes (`value` null) tag `key` on `model`, or on one of
 * its versions when `version` is given. Setting the value a tag has, or removing a tag
 * that is not there, changes nothing. A retired model or version refuses tag changes.
 */
export async function changeTag(ctx: RegistryContext, model: string, version: VersionRef | null, key: string, value: string | null): Promise<TagOutcome> {
  checkTagKey(key);
  if (value !== null) checkTagValue(value);
  if (version !== null) checkVersionRef(version);
  return ctx.mutate<TagOutcome>(model, async (modelKey, head) => {
    if (head.retired) throw retired(model);
    const kind = value === null ? 'tag_removed' : 'tag_set';
    if (version === null) {
      const previous = Object.hasOwn(head.tags, key) ? head.tags[key]! : null;
      const tags = changed(head.tags, key, value, `model '${model}'`);
      if (tags === undefined) return { result: { changed: false, previous }, ops: [] };
      const event: EventInput = { kind, model: modelKey, version: null, oldValue: previous, newValue: value, detail: { tag: key } };
      return { result: { changed: true, previous }, ops: [ctx.headOp(modelKey, { ...head, tags, updatedAt: touched(head) })], events: [event] };
    }
    const number = resolveVersionRef(model, head, version);
    const record = ctx.readRecord(model, modelKey, head, number, 'latest');
    if (record.retired) throw retired(model, number);
    const previous = Object.hasOwn(record.tags, key) ? record.tags[key]! : null;
    const tags = changed(record.tags, key, value, `version ${number} of model '${model}'`);
    if (tags === undefined) return { result: { changed: false, previous }, ops: [] };
    const ops: WriteOp[] = [{ type: 'put', sublevel: ctx.level.versions, key: versionKey(modelKey, number), value: encodeRecord({ ...record, tags }) }];
    const event: EventInput = { kind, model: modelKey, version: number, oldValue: previous, newValue: value, detail: { tag: key } };
    return { result: { changed: true, previous }, ops, events: [event] };
  });
}
