/**
 * The event log's part of the integrity check (see integrity.ts and events.ts):
 *
 * - `events`: every record decodes (checksum, fields, embedded JSON, model key), holds
 *   the seq of its key, and the seqs run 1, 2, 3… without a gap (a reader that saw seq
 *   n+1 would never see n); each event has its `model_events` and `scope_events` entry.
 * - `model_events` / `scope_events`: every entry is well formed and names an event that
 *   exists and belongs to that model / tenant scope.
 * - `models`: a head's active pointer agrees with the model's last `active_moved`
 *   event. Models with no events (written before the log existed, e.g. by a format
 *   upgrade) are skipped; so is a model whose newest events are damaged (reported on
 *   their own), rather than compared against an older move.
 *
 * Cost is O(events): one pass over each namespace with point reads, and per model a
 * backwards walk of its own history that stops at its last move. Nothing is held but a
 * few counters. A record whose seq differs from its key is reported once, on `events`;
 * the index entries that reach it are not reported again.
 */

import { decodeJsonText, decodeEvent, NS, type EventRecord, type HeadRecord } from './records.js';
import { eventKey, modelEventKey, modelEventRange, scopeEventKey, scopeOf, toModelEvent } from './events.js';
import { escapeSegment, modelKeyProblem, unescapeSegment, validateTenantName } from './keys.js';
import { problem, undecodable, type IntegrityProblem, type SnapshotReader } from './integrity-problem.js';

const SEQ = /^\d{16}$/;

/** The three event namespaces, in namespace order. */
export async function* checkEventLog(reader: SnapshotReader): AsyncGenerator<IntegrityProblem> {
  yield* checkEvents(reader);
  yield* checkIndex(reader, 'modelEvents');
  yield* checkIndex(reader, 'scopeEvents');
}

/**
 * The head of model `key` against its last `active_moved` event. A model born under
 * the log (its first event creates version 1) that never moved its pointer must have
 * none; one without events, or whose history is damaged, is not compared.
 */
export async function* checkActivePointer({ level, at }: SnapshotReader, key: string, head: HeadRecord): AsyncGenerator<IntegrityProblem> {
  let oldest: EventRecord | undefined;
  for await (const entry of level.modelEvents.keys({ ...modelEventRange(key), reverse: true, ...at })) {
    const event = await readEvent({ level, at }, entry.slice(key.length + 1));
    if (!event || event.model !== key) return; // reported by the index walk
    oldest = event;
    if (event.kind !== 'active_moved') continue;
    let moved: unknown;
    try {
      moved = decodeJsonText(event.newValue, NS.events, eventKey(event.seq));
    } catch {
      return; // reported by the walk over events
    }
    if (moved !== head.active) {
      yield problem(NS.models, key, `the head's active version is ${head.active ?? 'none'} but the model's last active_moved event (seq ${event.seq}) set it to ${describe(moved)}`);
    }
    return;
  }
  if (oldest?.kind === 'version_created' && oldest.version === 1 && head.active !== null) {
    yield problem(NS.models, key, `the head's active version is ${head.active} but no active_moved event of the model (created with seq ${oldest.seq}) set it`);
  }
}

/** Event `digits` if its key is well formed and its record decodes with that seq; else undefined. */
async function readEvent({ level, at }: SnapshotReader, digits: string): Promise<EventRecord | undefined> {
  if (!SEQ.test(digits)) return undefined;
  const raw = await level.events.get(digits, at);
  if (raw === undefined) return undefined;
  try {
    const event = decodeEvent(raw, digits);
    return event.seq === Number(digits) ? event : undefined;
  } catch {
    return undefined;
  }
}

const describe = (value: unknown): string => (value === null ? 'none' : JSON.stringify(value));

/** Every event record, in seq order: decodes, holds its own seq, no gap before it, both index entries present. */
async function* checkEvents({ level, at }: SnapshotReader): AsyncGenerator<IntegrityProblem> {
  let expected = 1;
  for await (const [key, raw] of level.events.iterator(at)) {
    if (!SEQ.test(key)) {
      yield problem(NS.events, key, 'malformed event key (not a 16-digit sequence number)');
      continue;
    }
    const seq = Number(key);
    if (seq > expected) {
      const missing = seq === expected + 1 ? `event ${expected} is missing` : `events ${expected} to ${seq - 1} are missing`;
      yield problem(NS.events, eventKey(expected), `${missing} while event ${seq} exists (seqs have no gaps)`);
    }
    expected = seq + 1;
    let event: EventRecord;
    try {
      event = decodeEvent(raw, key);
      toModelEvent(event); // the model key and the embedded JSON, as readers decode them
    } catch (error) {
      yield undecodable(NS.events, key, error);
      continue;
    }
    if (event.seq !== seq) {
      yield problem(NS.events, key, `the record holds event ${event.seq}, not ${seq}`);
      continue;
    }
    const modelEntry = modelEventKey(event.model, seq);
    if ((await level.modelEvents.get(modelEntry, at)) === undefined) {
      yield problem(NS.modelEvents, modelEntry, `missing entry of event ${seq} (the model's history skips it)`);
    }
    const scopeEntry = scopeEventKey(scopeOf(event.model), seq);
    if ((await level.scopeEvents.get(scopeEntry, at)) === undefined) {
      yield problem(NS.scopeEvents, scopeEntry, `missing entry of event ${seq} (its tenant's log skips it)`);
    }
  }
}

/** Why a scope_events scope is not one modelsql writes ('' or a canonically escaped tenant), or null. */
function scopeProblem(scope: string): string | null {
  if (scope === '') return null;
  try {
    validateTenantName(unescapeSegment(scope));
  } catch (error) {
    return (error as Error).message;
  }
  return escapeSegment(unescapeSegment(scope)) === scope ? null : 'not canonically escaped';
}

/** Every entry of one event index names an existing event of its model (model_events) or tenant scope (scope_events). */
async function* checkIndex({ level, at }: SnapshotReader, index: 'modelEvents' | 'scopeEvents'): AsyncGenerator<IntegrityProblem> {
  const namespace = NS[index];
  const byModel = index === 'modelEvents';
  for await (const key of level[index].keys(at)) {
    const split = key.lastIndexOf(':');
    const owner = key.slice(0, Math.max(0, split));
    const digits = key.slice(split + 1);
    const ownerProblem = split < 0 ? 'no sequence number' : byModel ? modelKeyProblem(owner) : scopeProblem(owner);
    if (ownerProblem || !SEQ.test(digits)) {
      yield problem(namespace, key, `malformed ${namespace} key${ownerProblem ? ` (${ownerProblem})` : ' (not a 16-digit sequence number)'}`);
      continue;
    }
    const seq = Number(digits);
    const raw = await level.events.get(eventKey(seq), at);
    if (raw === undefined) {
      yield problem(namespace, key, `names event ${seq}, which namespace '${NS.events}' does not hold`);
      continue;
    }
    let event: EventRecord;
    try {
      event = decodeEvent(raw, eventKey(seq));
    } catch {
      continue; // reported by the walk over events
    }
    if (event.seq !== seq || modelKeyProblem(event.model) !== null) continue; // likewise
    const actual = byModel ? event.model : scopeOf(event.model);
    if (actual !== owner) {
      yield problem(namespace, key, byModel ? `event ${seq} is of model key '${event.model}'` : `event ${seq} is of tenant scope '${actual}' (model key '${event.model}')`);
    }
  }
}
