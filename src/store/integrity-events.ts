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
 * Cost is O(events): one pass over `events` with two point reads per event, one pass
 * over the keys of each index, and per model a backwards walk of its own history that
 * stops at its last move. Nothing is held but a few counters. The index entries are
 * only read against their events when they must be: every sound event with its entry
 * accounts for one distinct well-formed entry (seqs differ), so an index holding
 * exactly as many well-formed entries as were accounted for holds nothing else; only
 * when it holds more is it walked again to name the strays. A record whose seq differs
 * from its key is reported once, on `events`; the index entries that reach it are not
 * reported again.
 */

import { decodeJsonText, decodeEvent, NS, type EventRecord, type HeadRecord } from './records.js';
import { eventKey, modelEventKey, modelEventRange, scopeEventKey, scopeOf, toModelEvent } from './events.js';
import { escapeSegment, modelKeyProblem, unescapeSegment, validateTenantName } from './keys.js';
import { problem, undecodable, type IntegrityProblem, type SnapshotReader } from './integrity-problem.js';
import type { TextSublevel } from './level.js';

const SEQ = /^\d{16}$/;

/**
 * A point read from the check's snapshot. Synchronous: an async get is a thread-pool
 * round trip per key (tens of µs on a busy machine, four reads per event: 17 s for
 * 100,000 events), `getSync` a few µs, and the walk still yields between iterator steps.
 */
function read({ at }: SnapshotReader, sublevel: TextSublevel, key: string, options = readOptions(at)): string | undefined {
  return sublevel.getSync(key, options) as string | undefined;
}

/** Read options for `at`, built once per walk (abstract-level clones options that name no encoding). */
function readOptions(at: SnapshotReader['at']): object {
  return { ...at, keyEncoding: 'utf8', valueEncoding: 'utf8' };
}

/** The three event namespaces, in namespace order. */
export async function* checkEventLog(reader: SnapshotReader): AsyncGenerator<IntegrityProblem> {
  const accounted = yield* checkEvents(reader);
  yield* checkIndex(reader, 'modelEvents', accounted.modelEvents);
  yield* checkIndex(reader, 'scopeEvents', accounted.scopeEvents);
}

/** Index entries of sound events found in their index (see the module comment). */
interface Accounted {
  modelEvents: number;
  scopeEvents: number;
}

/**
 * The head of model `key` against its last `active_moved` event. A model born under
 * the log (its first event creates version 1) that never moved its pointer must have
 * none; one without events, or whose history is damaged, is not compared.
 */
export async function* checkActivePointer(reader: SnapshotReader, key: string, head: HeadRecord): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  let oldest: EventRecord | undefined;
  for await (const entry of level.modelEvents.keys({ ...modelEventRange(key), reverse: true, ...at })) {
    const event = readEvent(reader, entry.slice(key.length + 1));
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
function readEvent(reader: SnapshotReader, digits: string): EventRecord | undefined {
  if (!SEQ.test(digits)) return undefined;
  const raw = read(reader, reader.level.events, digits);
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
async function* checkEvents(reader: SnapshotReader): AsyncGenerator<IntegrityProblem, Accounted> {
  const { level, at } = reader;
  const options = readOptions(at);
  const accounted: Accounted = { modelEvents: 0, scopeEvents: 0 };
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
    // An entry of a model key that is not canonical is malformed, so not accounted for.
    const sound = modelKeyProblem(event.model) === null;
    const modelEntry = modelEventKey(event.model, seq);
    if (read(reader, level.modelEvents, modelEntry, options) === undefined) {
      yield problem(NS.modelEvents, modelEntry, `missing entry of event ${seq} (the model's history skips it)`);
    } else if (sound) accounted.modelEvents++;
    const scopeEntry = scopeEventKey(scopeOf(event.model), seq);
    if (read(reader, level.scopeEvents, scopeEntry, options) === undefined) {
      yield problem(NS.scopeEvents, scopeEntry, `missing entry of event ${seq} (its tenant's log skips it)`);
    } else if (sound) accounted.scopeEvents++;
  }
  return accounted;
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

/** An index entry's owner (model key or scope) and seq, or why the key is malformed. */
function parseEntry(index: 'modelEvents' | 'scopeEvents', key: string): { owner: string; seq: number } | { malformed: string } {
  const split = key.lastIndexOf(':');
  const owner = key.slice(0, Math.max(0, split));
  const digits = key.slice(split + 1);
  const ownerProblem = split < 0 ? 'no sequence number' : index === 'modelEvents' ? modelKeyProblem(owner) : scopeProblem(owner);
  if (ownerProblem) return { malformed: ownerProblem };
  if (!SEQ.test(digits)) return { malformed: 'not a 16-digit sequence number' };
  return { owner, seq: Number(digits) };
}

/**
 * Every entry of one event index is well formed and names an existing event of its
 * model (model_events) or tenant scope (scope_events). The entries are read against
 * the events only if there are more than `accounted` well-formed ones.
 */
async function* checkIndex(reader: SnapshotReader, index: 'modelEvents' | 'scopeEvents', accounted: number): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  const namespace = NS[index];
  let wellFormed = 0;
  for await (const key of level[index].keys(at)) {
    const entry = parseEntry(index, key);
    if ('malformed' in entry) yield problem(namespace, key, `malformed ${namespace} key (${entry.malformed})`);
    else wellFormed++;
  }
  if (wellFormed > accounted) yield* findStrays(reader, index);
}

/** The entries of an index that name a missing event or another model's or scope's. */
async function* findStrays(reader: SnapshotReader, index: 'modelEvents' | 'scopeEvents'): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  const options = readOptions(at);
  const namespace = NS[index];
  const byModel = index === 'modelEvents';
  for await (const key of level[index].keys(at)) {
    const entry = parseEntry(index, key);
    if ('malformed' in entry) continue; // reported by the first walk
    const { owner, seq } = entry;
    const raw = read(reader, level.events, eventKey(seq), options);
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
