/**
 * The integrity check (`CHECK REGISTRY`, `modelsql check`), like SQLite's
 * `PRAGMA integrity_check`: walks every record, index entry and blob of one LevelDB
 * snapshot (so writes may go on meanwhile), cross-checks them, and reports every
 * problem it finds instead of stopping at the first.
 *
 * It streams: one model's versions are walked at a time with a few counters, weights
 * are hashed chunk by chunk, and the one set it keeps (blob ids that versions
 * reference, to find orphan chunks) is bounded; past the bound the orphan search runs
 * in equal ranges of the blob id space, one pass over the versions per range, so
 * memory does not grow with the registry.
 *
 * The event log is checked too (integrity-events.ts): each event against its two
 * indexes and the seqs for gaps, in one pass over each namespace.
 *
 * A folder whose schema index is still in layout 1 (see schema-index-layout.ts; the
 * CLI opens folders without running the move) has its index cross-checks skipped: the
 * next open rebuilds the index from the version records anyway. The check says so
 * through `onNote` rather than as a problem, since such a folder is sound.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { blobIdFor } from './blobs.js';
import { decodeFingerprint } from './fingerprint.js';
import { checkActivePointer, checkEventLog } from './integrity-events.js';
import { problem, undecodable, type IntegrityProblem, type SnapshotReader } from './integrity-problem.js';
import {
  blobChunkKey,
  blobRange,
  isJobId,
  jobQueueKey,
  modelKey,
  modelKeyProblem,
  parseModelKey,
  parseVersionKey,
  stageKey,
  uploadMarkerRange,
  validateModelName,
  validateTenantName,
  versionKey,
  versionRange,
  weightRefKey,
} from './keys.js';
import type { Level } from './level.js';
import { NS, STAGES, STORE_FORMAT, decodeHead, decodeJob, decodeVersion, isTerminal, type HeadRecord, type VersionRecord } from './records.js';
import { SchemaIndex, storedIndexEntries } from './schema-index.js';
import { SCHEMA_INDEX_LAYOUT, SCHEMA_INDEX_LAYOUT_KEY, hasLayout1Keys } from './schema-index-layout.js';

export type { IntegrityProblem } from './integrity-problem.js';

/** Options of {@link checkIntegrity}. */
export interface IntegrityOptions {
  /** Referenced blob ids held at once for the orphan search (tests lower it to exercise partitions). */
  readonly blobSetLimit?: number;
  /** Told facts that are not problems: a schema index the next open rebuilds. */
  readonly onNote?: (note: string) => void;
}

/** The note of a folder whose schema index is still in layout 1. */
export const LAYOUT_1_NOTE =
  'the schema index is still in layout 1 (written by an older modelsql), so it was not cross-checked; the next open of this folder by modelsql rebuilds it from the version records';

const DEFAULT_BLOB_SET_LIMIT = 100_000;
/** A content id (the SHA-256 of the bytes, format 4) or a format-3 random id. */
const BLOB_ID = /^(?:[0-9a-f]{64}|[0-9a-f]{32})$/;
const CONTENT_ID = /^[0-9a-f]{64}$/;
const CHUNK_KEY = /^(?:[0-9a-f]{64}|[0-9a-f]{32}):\d{6}$/;
/** An upload marker: `<blob>:<upload id>`, or a format-3 bare `<blob>`. */
const MARKER_KEY = /^(?:[0-9a-f]{64}|[0-9a-f]{32})(?::[0-9a-f]{32})?$/;
/** Blobs whose check result is remembered, so a blob shared by many versions is hashed once (bounded). */
const VERIFIED_LIMIT = 1024;
const QUEUE_KEY = /^(\d{15}):([0-9a-f]{32})$/;

/** Reads from one snapshot. */
interface Reader extends SnapshotReader {
  readonly index: SchemaIndex;
  /** The folder holds layout-1 index keys: the next open rebuilds the index, so it is not checked. */
  readonly indexPending: boolean;
  /** Postings already reported missing: one schema's postings are shared by its versions in a scope. */
  readonly missingPostings: Set<string>;
  /** The folder keeps the `weight_refs` index (format 4 and later; the CLI checks older folders as they are). */
  readonly hasWeightRefs: boolean;
  /** Blob id → what its chunks hold (`<chunks>:<size>:<sha256>`, or null when a chunk is missing), for shared blobs. */
  readonly verified: Map<string, string | null>;
}

/**
 * Every problem of the store, in namespace order. Reads one snapshot of `level`
 * (closed when the walk ends or is abandoned).
 */
export async function* checkIntegrity(level: Level, options: IntegrityOptions = {}): AsyncGenerator<IntegrityProblem> {
  const snapshot = level.root.supports.explicitSnapshots ? level.root.snapshot() : undefined;
  const at = snapshot ? { snapshot } : {};
  try {
    const format = Number((await level.meta.get('format', at)) ?? 1);
    const reader: Reader = {
      level,
      at,
      index: new SchemaIndex(level),
      indexPending: await hasLayout1Keys(level, at),
      missingPostings: new Set(),
      hasWeightRefs: format >= 4,
      verified: new Map(),
    };
    if (reader.indexPending) options.onNote?.(LAYOUT_1_NOTE);
    yield* checkLevelDbLog(level);
    yield* checkMeta(reader);
    for await (const [key, raw] of level.models.iterator(reader.at)) yield* checkModel(reader, key, raw);
    yield* checkVersionKeys(reader);
    yield* checkStageIndex(reader);
    if (!reader.indexPending) yield* checkSchemaIndex(reader);
    if (reader.hasWeightRefs) yield* checkWeightRefs(reader);
    yield* checkOrphanBlobs(reader, options.blobSetLimit ?? DEFAULT_BLOB_SET_LIMIT);
    yield* checkJobs(reader);
    yield* checkEventLog(reader);
  } finally {
    await snapshot?.close();
  }
}

/**
 * What LevelDB dropped from its write-ahead log when this folder was last opened. It
 * replays the `.log` of the previous session at open and, without paranoid checks
 * (which classic-level cannot turn on), skips a record whose checksum fails (and the
 * rest of its 32 KiB block) with no error; the only trace is a line in its `LOG` file,
 * which is rewritten at every open. A log cut short (a write torn by a crash) is
 * treated as its end and leaves no trace, by design.
 */
async function* checkLevelDbLog(level: Level): AsyncGenerator<IntegrityProblem> {
  if (level.path === null) return;
  for await (const line of logLines(join(level.path, 'LOG'))) {
    const dropped = /([^/\s]+\.log): dropping (\d+) bytes; (.*)$/.exec(line);
    if (dropped) yield problem('leveldb', dropped[1]!, `LevelDB dropped ${dropped[2]} bytes of its write-ahead log when the folder was opened (${dropped[3]}): the writes in them are lost`);
  }
}

/** The lines of LevelDB's `LOG`, streamed (it grows with the session); none if it cannot be read. */
async function* logLines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    yield* lines;
  } catch {
    // No LOG (a folder LevelDB never opened) or an unreadable one: nothing to report from it.
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function* checkMeta({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  for await (const [key, value] of level.meta.iterator(at)) {
    if (key === SCHEMA_INDEX_LAYOUT_KEY) {
      if (value !== String(SCHEMA_INDEX_LAYOUT)) yield problem(NS.meta, key, `'${value}' is not the schema index layout this version reads`);
    } else if (key !== 'format') yield problem(NS.meta, key, 'unknown key');
    else if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > STORE_FORMAT) yield problem(NS.meta, key, `'${value}' is not a storage format this version reads`);
  }
}

/** One model: its head, each of its versions, and the head's counts against them. */
async function* checkModel(reader: Reader, key: string, raw: string): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  const keyProblem = modelKeyProblem(key);
  if (keyProblem) yield problem(NS.models, key, keyProblem);
  let head: HeadRecord | undefined;
  try {
    head = decodeHead(raw, key);
  } catch (error) {
    yield undecodable(NS.models, key, error);
  }
  let expected = 1;
  let archived = 0;
  let production: number | null = null;
  let active: VersionRecord | undefined;
  // Versions some alias points at, and whether each may hold one (neither archived nor retired).
  const aliasTargets = new Map<number, boolean>();
  for (const alias of Object.values(head?.aliases ?? {})) aliasTargets.set(alias.version, false);
  for await (const [vKey, value] of level.versions.iterator({ ...versionRange(key), ...at })) {
    const parsed = parseVersionKey(vKey);
    if (!parsed || parsed.model !== key) continue; // reported by checkVersionKeys
    const version = parsed.version;
    if (version > expected) yield problem(NS.versions, versionKey(key, expected), version === expected + 1 ? `version ${expected} is missing` : `versions ${expected} to ${version - 1} are missing`);
    expected = version + 1;
    if (head && version > head.latest) yield problem(NS.versions, vKey, `version ${version} is beyond the head's latest version ${head.latest}`);
    let record: VersionRecord;
    try {
      record = decodeVersion(value, vKey);
    } catch (error) {
      yield undecodable(NS.versions, vKey, error);
      continue;
    }
    if (record.archived) archived++;
    if (record.stage === 'production' && !record.retired) production = version;
    if (head?.active === version) active = record;
    if (aliasTargets.has(version)) aliasTargets.set(version, !record.archived && !record.retired);
    if (record.stage !== 'dev' && !record.retired && (await level.stages.get(stageKey(key, record.stage, version), at)) === undefined) {
      yield problem(NS.stages, stageKey(key, record.stage, version), `version ${version} is at ${record.stage} but the stage index has no entry for it`);
    }
    if (head) yield* checkVersionSchema(reader, key, version, record, head);
    if (record.blob !== null) {
      yield* checkBlob(reader, vKey, record);
    } else if (record.chunks !== 0 || record.sizeBytes !== null) {
      yield problem(NS.versions, vKey, 'the record has no blob but records chunks or a size');
    }
  }
  if (!head) return;
  const count = expected - 1;
  if (head.latest !== count) yield problem(NS.models, key, `the head's latest version is ${head.latest} but versions 1 to ${count} exist`);
  if (head.archived !== archived) yield problem(NS.models, key, `the head counts ${head.archived} archived versions but ${archived} are archived`);
  if (head.active !== null) {
    if (!active) yield problem(NS.models, key, `the active version ${head.active} does not exist`);
    else if (active.archived || active.retired) yield problem(NS.models, key, `the active version ${head.active} is ${active.archived ? 'archived' : 'retired'}`);
  }
  if (head.production !== production) yield problem(NS.models, key, `the head says the production version is ${head.production ?? 'none'} but the version records say ${production ?? 'none'}`);
  for (const name of Object.keys(head.aliases).sort()) {
    const target = head.aliases[name]!.version;
    if (head.retired) yield problem(NS.models, key, `alias '${name}' points at version ${target} of a retired model (retiring drops aliases)`);
    else if (target < 1 || target > count) yield problem(NS.models, key, `alias '${name}' points at version ${target}, which does not exist`);
    else if (!aliasTargets.get(target)) yield problem(NS.models, key, `alias '${name}' points at version ${target}, which is archived or retired (that drops its aliases)`);
  }
  if (!keyProblem) yield* checkActivePointer(reader, key, head);
}

/**
 * A version's weights: every chunk present, in order, hashing to the record's SHA-256
 * and size; a content id equal to that SHA-256; and the version's entry in the
 * reference index. A blob shared by many versions is hashed once (see {@link Reader.verified}).
 */
/**
 * A content id fits a version of model key's tenant when it is the id of its SHA-256
 * for that tenant, or for the global session (a copy of a global model's version
 * shares the global blob).
 */
function contentIdMatches(blob: string, sha256: string | null, vKey: string): boolean {
  if (sha256 === null) return false;
  const tenant = parseModelKey(parseVersionKey(vKey)?.model ?? '')?.tenant ?? null;
  return blob === blobIdFor(sha256, null) || (tenant !== null && blob === blobIdFor(sha256, tenant));
}

async function* checkBlob(reader: Reader, vKey: string, record: VersionRecord): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  const blob = record.blob!;
  if (!BLOB_ID.test(blob)) {
    yield problem(NS.versions, vKey, `field 'blob' is not a blob id`);
    return;
  }
  if (CONTENT_ID.test(blob) && !contentIdMatches(blob, record.sha256, vKey)) {
    yield problem(NS.versions, vKey, `the record's SHA-256 does not give its blob id (weights are stored under their SHA-256, per tenant)`);
  }
  if (CONTENT_ID.test(blob) && (await level.blobs.get(blob, at)) !== String(record.chunks)) {
    yield problem(NS.blobs, blob, `blob of version record '${vKey}' is not marked as stored whole with ${record.chunks} chunks`);
  }
  if (reader.hasWeightRefs && (await level.weightRefs.get(weightRefKey(blob, vKey), at)) === undefined) {
    yield problem(NS.weightRefs, weightRefKey(blob, vKey), `version record '${vKey}' references blob ${blob} but the reference index has no entry for it (a cleanup could delete its weights)`);
  }
  let found = reader.verified.get(blob);
  if (found === null) return; // its missing chunk was reported with the first version that references it
  if (found === undefined) {
    const hash = createHash('sha256');
    let chunks = 0;
    let size = 0;
    for await (const [chunkKey, bytes] of level.weights.iterator({ ...blobRange(blob), ...at })) {
      if (chunkKey !== blobChunkKey(blob, chunks)) {
        yield problem(NS.weights, chunkKey, `expected chunk ${chunks} of blob ${blob} here (a chunk is missing or its key is damaged)`);
        if (reader.verified.size >= VERIFIED_LIMIT) reader.verified.clear();
        reader.verified.set(blob, null);
        return;
      }
      hash.update(bytes);
      size += bytes.length;
      chunks++;
    }
    found = `${chunks}:${size}:${hash.digest('hex')}`;
    if (reader.verified.size >= VERIFIED_LIMIT) reader.verified.clear();
    reader.verified.set(blob, found);
  }
  const [chunks, size, sha256] = found.split(':');
  if (Number(chunks) !== record.chunks) yield problem(NS.weights, blob, `blob has ${chunks} chunks but version record '${vKey}' says ${record.chunks}`);
  else if (Number(size) !== record.sizeBytes || sha256 !== record.sha256) yield problem(NS.weights, blob, `weights do not match the size and SHA-256 of version record '${vKey}'`);
}

/** Every reference names an existing version record whose blob it is (else it is dangling); every `blobs` entry has its chunks. */
async function* checkWeightRefs({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  for await (const [blob, chunks] of level.blobs.iterator(at)) {
    if (!CONTENT_ID.test(blob) || !/^\d+$/.test(chunks)) {
      yield problem(NS.blobs, blob, 'malformed blobs entry');
      continue;
    }
    const count = Number(chunks);
    if (count > 0 && (await level.weights.get(blobChunkKey(blob, count - 1), at)) === undefined) {
      yield problem(NS.blobs, blob, `the blob is marked as stored whole but its chunk ${count - 1} is missing (identical weights would not be stored again)`);
    }
  }
  for await (const rKey of level.weightRefs.keys(at)) {
    const colon = rKey.indexOf(':');
    const blob = rKey.slice(0, colon);
    const vKey = rKey.slice(colon + 1);
    if (colon < 0 || !BLOB_ID.test(blob) || !parseVersionKey(vKey)) {
      yield problem(NS.weightRefs, rKey, 'malformed blob reference key');
      continue;
    }
    const raw = await level.versions.get(vKey, at);
    if (raw === undefined) {
      yield problem(NS.weightRefs, rKey, `dangling reference: version record '${vKey}' does not exist`);
      continue;
    }
    try {
      const record = decodeVersion(raw, vKey);
      if (record.blob !== blob) yield problem(NS.weightRefs, rKey, `dangling reference: version record '${vKey}' references ${record.blob === null ? 'no blob' : `blob ${record.blob}`}`);
    } catch {
      // Reported by the model walk.
    }
  }
}

/** Version keys that do not parse, and versions whose model has no head. */
async function* checkVersionKeys({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  let lastModel: string | undefined;
  for await (const vKey of level.versions.keys(at)) {
    const parsed = parseVersionKey(vKey);
    if (!parsed || modelKeyProblem(parsed.model) !== null) {
      yield problem(NS.versions, vKey, 'malformed version key');
      continue;
    }
    if (parsed.model === lastModel) continue;
    lastModel = parsed.model;
    if ((await level.models.get(parsed.model, at)) === undefined) yield problem(NS.versions, vKey, `version records of model key '${parsed.model}' have no head in '${NS.models}'`);
  }
}

/** Every stage index entry names an existing, non-retired version at that stage. */
async function* checkStageIndex({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  for await (const sKey of level.stages.keys(at)) {
    const match = /^(.*):([a-z]+):(\d{10})$/.exec(sKey);
    const [, model, stage, digits] = match ?? [];
    if (!match || modelKeyProblem(model!) !== null || stage === 'dev' || !(STAGES as readonly string[]).includes(stage!)) {
      yield problem(NS.stages, sKey, 'malformed stage index key');
      continue;
    }
    const vKey = versionKey(model!, Number(digits));
    const raw = await level.versions.get(vKey, at);
    if (raw === undefined) {
      yield problem(NS.stages, sKey, `the index names version record '${vKey}', which does not exist`);
      continue;
    }
    try {
      const record = decodeVersion(raw, vKey);
      if (record.stage !== stage || record.retired) yield problem(NS.stages, sKey, `the index puts the version at ${stage} but its record says ${record.retired ? 'retired' : record.stage}`);
    } catch {
      // The record itself is reported by the model walk.
    }
  }
}

/**
 * A version's schema index entries: present (with its postings and stats) while the
 * version may be offered by LOOKUP, absent otherwise. The index module's own ops say
 * what "present" means, so this stays right however the index lays out its keys.
 */
async function* checkVersionSchema(reader: Reader, key: string, version: number, record: VersionRecord, head: HeadRecord): AsyncGenerator<IntegrityProblem> {
  const { level, at, index } = reader;
  if (record.schema === null) return;
  const vKey = versionKey(key, version);
  let fingerprint;
  try {
    fingerprint = decodeFingerprint(record.schema, NS.versions, vKey);
  } catch (error) {
    yield undecodable(NS.versions, vKey, error);
    return;
  }
  if (record.schemaHash !== fingerprint.hash) yield problem(NS.versions, vKey, `field 'schemaHash' does not match the schema`);
  if (reader.indexPending) return;
  const entry = { modelKey: key, version, createdAt: record.createdAt };
  const eligible = !record.archived && !record.retired && !head.retired;
  if (eligible) {
    for (const op of index.addOps(entry, fingerprint)) {
      if (op.type !== 'put') continue;
      const posting = op.sublevel === level.schemaTokens;
      if (posting && reader.missingPostings.has(op.key)) continue;
      const stored = await (op.sublevel as typeof level.fingerprints).get(op.key, at);
      const namespace = posting ? NS.schemaTokens : NS.fingerprints;
      if (stored === undefined && posting) {
        reader.missingPostings.add(op.key);
        yield problem(namespace, op.key, `missing posting of the schema of version ${version} and of any other version with that schema in its scope (LOOKUP cannot find them)`);
      } else if (stored === undefined) yield problem(namespace, op.key, `missing index entry of version ${version} (LOOKUP cannot find it)`);
      else if (namespace === NS.fingerprints && stored !== op.value) yield problem(namespace, op.key, `stored statistics differ from version record '${vKey}'`);
    }
  } else {
    for (const op of index.removeOps(entry, fingerprint)) {
      if ((await (op.sublevel as typeof level.fingerprints).get(op.key, at)) !== undefined) {
        yield problem(NS.fingerprints, op.key, `index entry of a version that is ${record.archived ? 'archived' : 'retired'} (LOOKUP would offer it)`);
      }
    }
  }
}

/** The other direction: every stored index entry belongs to an eligible version with that schema. */
async function* checkSchemaIndex({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  for await (const entry of storedIndexEntries(level, at)) {
    if (entry.kind === 'damaged') {
      yield problem(entry.namespace, entry.key, entry.problem);
      continue;
    }
    const vKey = versionKey(entry.modelKey, entry.version);
    const raw = await level.versions.get(vKey, at);
    if (raw === undefined) {
      yield problem(NS.fingerprints, entry.key, `the entry names version record '${vKey}', which does not exist`);
      continue;
    }
    try {
      if (decodeVersion(raw, vKey).schemaHash !== entry.hash) yield problem(NS.fingerprints, entry.key, `version record '${vKey}' has another schema`);
    } catch {
      // Reported by the model walk.
    }
  }
}

/**
 * Chunks no version references and no upload marker claims; markers that are malformed.
 * A version record references its blob if it decodes, whatever its key and whether its
 * model has a head (those are reported on their own), in both modes: with at most
 * `limit` referenced blobs they are held in one set and the chunks walked once; past
 * it, the blob id space is cut into equal ranges expected to hold half the limit each,
 * and each range takes one pass over the versions and one over its chunks.
 */
async function* checkOrphanBlobs(reader: Reader, limit: number): AsyncGenerator<IntegrityProblem> {
  const { level, at } = reader;
  for await (const [marker, value] of level.uploads.iterator(at)) {
    if (!MARKER_KEY.test(marker) || !/^\d+$/.test(value)) yield problem(NS.uploads, marker, 'malformed upload marker');
  }
  const claimed = async (blob: string): Promise<boolean> =>
    (await level.uploads.get(blob, at)) !== undefined || (await level.uploads.keys({ ...uploadMarkerRange(blob), ...at, limit: 1 }).all()).length > 0;
  const referenced = new BoundedSet(limit);
  for await (const blob of referencedBlobs(reader)) referenced.add(blob);
  const ranges = referenced.overflowed ? blobIdRanges(referenced.partitions) : [{}];
  for (const range of ranges) {
    const ids = referenced.overflowed ? await referencedIn(reader, range) : referenced.items;
    let current: string | undefined;
    let chunks = 0;
    const finish = async (): Promise<IntegrityProblem | undefined> => {
      if (current === undefined || ids.has(current) || (await claimed(current))) return undefined;
      return problem(NS.weights, current, `${chunks} orphan chunk${chunks === 1 ? '' : 's'}: no version references this blob and no upload is in progress`);
    };
    for await (const chunkKey of level.weights.keys({ ...range, ...at })) {
      if (!CHUNK_KEY.test(chunkKey)) {
        yield problem(NS.weights, chunkKey, 'malformed weights chunk key');
        continue;
      }
      const blob = chunkKey.slice(0, chunkKey.indexOf(':'));
      if (blob === current) {
        chunks++;
        continue;
      }
      const orphan = await finish();
      if (orphan) yield orphan;
      current = blob;
      chunks = 1;
    }
    const orphan = await finish();
    if (orphan) yield orphan;
  }
}

/** The blob id of every version record that decodes and has one (one pass over the versions). */
async function* referencedBlobs({ level, at }: Reader): AsyncGenerator<string> {
  for await (const [vKey, raw] of level.versions.iterator(at)) {
    let blob: string | null;
    try {
      blob = decodeVersion(raw, vKey).blob;
    } catch {
      continue; // reported by the model walk, or with the missing head
    }
    if (blob !== null && BLOB_ID.test(blob)) yield blob;
  }
}

/** A range of keys in `weights`; no bound on a side means the range runs to that end. */
interface KeyRange {
  readonly gte?: string;
  readonly lt?: string;
}

/** Referenced blob ids within `range`. */
async function referencedIn(reader: Reader, range: KeyRange): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const blob of referencedBlobs(reader)) {
    if ((range.gte === undefined || blob >= range.gte) && (range.lt === undefined || blob < range.lt)) ids.add(blob);
  }
  return ids;
}

/**
 * `count` ranges that cut the blob id space into equal parts by the numeric value of
 * its first hex digits (as few digits as give `count` distinct bounds). The first and
 * last are open-ended, so together they hold every key, malformed ones included.
 */
export function blobIdRanges(count: number): KeyRange[] {
  let digits = 1;
  while (16 ** digits < count) digits++;
  const bound = (i: number): string => Math.floor((i * 16 ** digits) / count).toString(16).padStart(digits, '0');
  return Array.from({ length: count }, (_, i) => ({
    ...(i > 0 ? { gte: bound(i) } : {}),
    ...(i < count - 1 ? { lt: bound(i + 1) } : {}),
  }));
}

/** Jobs and the queue agree: exactly the unfinished jobs are queued, and a completed job's version exists. */
async function* checkJobs({ level, at }: Reader): AsyncGenerator<IntegrityProblem> {
  for await (const [key, raw] of level.jobs.iterator(at)) {
    if (!isJobId(key)) yield problem(NS.jobs, key, 'malformed job key');
    let job;
    try {
      job = decodeJob(raw, key);
    } catch (error) {
      yield undecodable(NS.jobs, key, error);
      continue;
    }
    if (job.id !== key) yield problem(NS.jobs, key, `the record's id is '${job.id}'`);
    const queued = (await level.jobQueue.get(jobQueueKey(job.createdAt, job.id), at)) !== undefined;
    if (queued === isTerminal(job.status)) yield problem(NS.jobs, key, queued ? `a ${job.status} job is still in the queue` : `a ${job.status} job is missing from the queue`);
    if (job.status === 'completed') {
      const vKey = job.version === null ? null : versionKey(modelKey(job.target, job.tenant), job.version);
      const version = vKey === null ? undefined : await level.versions.get(vKey, at);
      if (version === undefined) yield problem(NS.jobs, key, `a completed job whose version ${job.version ?? '(none)'} of model '${job.target}' does not exist`);
    }
  }
  for await (const [key, id] of level.jobQueue.iterator(at)) {
    const match = QUEUE_KEY.exec(key);
    if (!match || match[2] !== id) {
      yield problem(NS.jobQueue, key, 'malformed queue entry (the key does not end with the job id it names)');
      continue;
    }
    const raw = await level.jobs.get(id, at);
    if (raw === undefined) yield problem(NS.jobQueue, key, `the queue names job '${id}', which does not exist`);
    else {
      try {
        if (decodeJob(raw, id).createdAt !== Number(match[1])) yield problem(NS.jobQueue, key, `the job's creation time differs from the queue key`);
      } catch {
        // Reported with the job.
      }
    }
  }
}

/** A set that stops growing at `limit` and then says how many ranges to search instead. */
class BoundedSet {
  readonly items = new Set<string>();
  private count = 0;

  constructor(private readonly limit: number) {}

  add(item: string): void {
    this.count++;
    if (this.count <= this.limit) this.items.add(item);
    else this.items.clear();
  }

  get overflowed(): boolean {
    return this.count > this.limit;
  }

  /** Ranges of the blob id space, so that one holds about half the limit. */
  get partitions(): number {
    return Math.ceil(this.count / Math.max(1, Math.floor(this.limit / 2)));
  }
}
