/**
 * Stored record shapes and their codec. Records are JSON text sealed with a CRC-32
 * (checksum.ts); decoding checks the checksum and every field, so a damaged record
 * surfaces as CORRUPTION (naming namespace and key) instead of a wrong answer.
 *
 * Schema evolution: a field added after format 1 has a default, used when a record
 * written by an older modelsql lacks it (the record is upgraded on read, never
 * rewritten in bulk). A missing field without a default, or any field of the wrong
 * type, is still CORRUPTION. The folder's format number lives in the `meta` namespace;
 * a folder written by a newer format is refused at open rather than misread.
 */

import { corruption } from '../errors.js';
import { sealJson, unsealJson } from './checksum.js';

/** Names of the storage namespaces (LevelDB sublevels). */
export const NS = {
  models: 'models',
  versions: 'model_versions',
  weights: 'weights',
  uploads: 'uploads',
  jobs: 'jobs',
  jobQueue: 'job_queue',
  stages: 'version_stages',
  // Partitioned by tenant scope (schema-index.ts); `schema_tokens` and
  // `schema_fingerprints` held the earlier layout (schema-index-layout.ts).
  schemaTokens: 'schema_postings',
  fingerprints: 'schema_entries',
  meta: 'meta',
  events: 'events',
  modelEvents: 'model_events',
  scopeEvents: 'scope_events',
  // ---- content-addressed weights (format 4; see blobs.ts) ----
  /** `<blob id>:<version key>` → '': which versions reference a blob, as a prefix probe. */
  weightRefs: 'weight_refs',
  /** `<blob id>` → its chunk count: the content blob is stored whole (written with its last chunk). */
  blobs: 'blobs',
  // ---- end content-addressed weights ----
} as const;

/**
 * Storage format this code writes (see the module comment). Format 1 had no stages,
 * tenants, retire, catalog or schemas; format 2 had no record checksums (see
 * checksum.ts: its unsealed records still read, unchecked); format 3 had no event log,
 * aliases or tags (its heads and versions read with none, and the log starts empty),
 * and stored each version's weights under a random blob id with no reference index
 * (its blobs still read through the version's `blob` field; opening it writes the
 * `weight_refs` entries, see format.ts). Format 4 stores weights once per content
 * (blobs.ts).
 */
export const STORE_FORMAT = 4;

/** Lifecycle stages in promotion order. */
export const STAGES = ['dev', 'staging', 'production'] as const;
/** A lifecycle stage. */
export type Stage = (typeof STAGES)[number];

/** Per-model head: what allocation and the dashboard need, without touching versions. */
export interface HeadRecord {
  readonly active: number | null;
  readonly latest: number;
  readonly archived: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Soft-retired: hidden from the dashboard and default listings, still resolvable. */
  readonly retired: boolean;
  /** The most recently registered version at stage `production`, or null. */
  readonly production: number | null;
  /** The model's aliases: name → where it points (see registry/aliases.ts). */
  readonly aliases: Readonly<Record<string, AliasRecord>>;
  /** The model's tags: the one mutable annotation of a model (see registry/tags.ts). */
  readonly tags: Readonly<Record<string, string>>;
}

/** A record's empty tag and alias sets, shared (frozen, so never changed in place). */
export const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});
export const NO_ALIASES: Readonly<Record<string, AliasRecord>> = Object.freeze({});

/** Where one alias points, and who set it when. */
export interface AliasRecord {
  readonly version: number;
  readonly setAt: number;
  readonly setBy: string | null;
}

/** One immutable model version (only `archived`, `retired`, `stage`, `promotedAt` and `tags` ever change). */
export interface VersionRecord {
  readonly archived: boolean;
  readonly sha256: string | null;
  readonly sizeBytes: number | null;
  /** Id of the weights blob (see blobs.ts), or null without stored weights. */
  readonly blob: string | null;
  readonly chunks: number;
  readonly artifact: string | null;
  /** Canonical JSON text, or null. */
  readonly hyperparams: string | null;
  readonly metrics: string | null;
  readonly trainingSql: string | null;
  readonly trainingDataHash: string | null;
  readonly parentVersion: number | null;
  readonly createdAt: number;
  readonly createdBy: string | null;
  readonly description: string | null;
  /** The train job that produced this version, if any. */
  readonly jobId: string | null;
  readonly stage: Stage;
  /** Time of the last promotion or demotion, or null while still at `dev` since registration. */
  readonly promotedAt: number | null;
  readonly retired: boolean;
  /** Catalog metadata (jammi): free text except `task`, which is one of the known tasks. */
  readonly modelType: string | null;
  readonly task: string | null;
  readonly backend: string | null;
  /** Lineage to another model: its head key (tenant-qualified) and version. */
  readonly baseModel: string | null;
  readonly baseVersion: number | null;
  /** Canonical JSON text of backend configuration, or null. */
  readonly config: string | null;
  /** Canonical JSON text of the input schema (see fingerprint.ts), or null. */
  readonly schema: string | null;
  /** Hex SHA-256 schema fingerprint, or null without a schema. */
  readonly schemaHash: string | null;
  /** A copy (`CREATE MODEL t FROM MODEL s VERSION n`): the source's head key (tenant-qualified) and version; null otherwise. */
  readonly copiedFromModel: string | null;
  readonly copiedFromVersion: number | null;
  /** The version's tags (see registry/tags.ts). */
  readonly tags: Readonly<Record<string, string>>;
}

/** Job kinds, as in the RedDB seed. */
export type JobKind = 'train' | 'backfill' | 'feature_refresh' | 'drift_compute';
/** Job statuses; the last three are terminal and never change again. */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** True for completed, failed and cancelled. */
export function isTerminal(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** A background job. */
export interface JobRecord {
  readonly id: string;
  readonly kind: JobKind;
  /** The model the job works on. */
  readonly target: string;
  readonly status: JobStatus;
  readonly progress: number;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly error: string | null;
  /** Canonical JSON text of what the job was asked to do. */
  readonly spec: string;
  /** Canonical JSON text of the result metrics, once completed. */
  readonly metrics: string | null;
  readonly version: number | null;
  /** Tenant of the session that created the job (null: global). Only that tenant sees it. */
  readonly tenant: string | null;
}

/** What an event records (see events.ts). */
export const EVENT_KINDS = [
  'version_created', 'active_moved', 'archived', 'unarchived', 'stage_moved', 'retired',
  'alias_set', 'alias_moved', 'alias_dropped', 'tag_set', 'tag_removed', 'version_copied',
] as const;
/** One kind of change the event log records. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** One entry of the append-only event log: what one statement changed about one thing. */
export interface EventRecord {
  readonly seq: number;
  readonly at: number;
  readonly actor: string | null;
  /** The model's head key (tenant-qualified). */
  readonly model: string;
  /** The version the event is about, or null for the whole model. */
  readonly version: number | null;
  readonly kind: EventKind;
  /** Canonical JSON text of what was there before (a version, a stage), or null. */
  readonly oldValue: string | null;
  /** Canonical JSON text of what is there now, or null. */
  readonly newValue: string | null;
  /** Canonical JSON text of a small object of further facts, or null. */
  readonly detail: string | null;
}

type FieldType = 'string' | 'number' | 'boolean' | 'string?' | 'number?' | 'tags' | 'aliases';
/** A field's type, plus the value a format-1 record gets when it lacks the field. */
type FieldSpec = FieldType | { readonly type: FieldType; readonly since: 2; readonly default: unknown };

const added = (type: FieldType, value: unknown): FieldSpec => ({ type, since: 2, default: value });

const HEAD_FIELDS: Record<keyof HeadRecord, FieldSpec> = {
  active: 'number?',
  latest: 'number',
  archived: 'number',
  createdAt: 'number',
  updatedAt: 'number',
  retired: added('boolean', false),
  production: added('number?', null),
  aliases: added('aliases', NO_ALIASES),
  tags: added('tags', NO_TAGS),
};

const VERSION_FIELDS: Record<keyof VersionRecord, FieldSpec> = {
  archived: 'boolean',
  sha256: 'string?',
  sizeBytes: 'number?',
  blob: 'string?',
  chunks: 'number',
  artifact: 'string?',
  hyperparams: 'string?',
  metrics: 'string?',
  trainingSql: 'string?',
  trainingDataHash: 'string?',
  parentVersion: 'number?',
  createdAt: 'number',
  createdBy: 'string?',
  description: 'string?',
  jobId: 'string?',
  stage: added('string', 'dev'),
  promotedAt: added('number?', null),
  retired: added('boolean', false),
  modelType: added('string?', null),
  task: added('string?', null),
  backend: added('string?', null),
  baseModel: added('string?', null),
  baseVersion: added('number?', null),
  config: added('string?', null),
  schema: added('string?', null),
  schemaHash: added('string?', null),
  copiedFromModel: added('string?', null),
  copiedFromVersion: added('number?', null),
  tags: added('tags', NO_TAGS),
};

const JOB_FIELDS: Record<keyof JobRecord, FieldSpec> = {
  id: 'string',
  kind: 'string',
  target: 'string',
  status: 'string',
  progress: 'number',
  createdAt: 'number',
  startedAt: 'number?',
  finishedAt: 'number?',
  error: 'string?',
  spec: 'string',
  metrics: 'string?',
  version: 'number?',
  tenant: added('string?', null),
};

const EVENT_FIELDS: Record<keyof EventRecord, FieldSpec> = {
  seq: 'number',
  at: 'number',
  actor: 'string?',
  model: 'string',
  version: 'number?',
  kind: 'string',
  oldValue: 'string?',
  newValue: 'string?',
  detail: 'string?',
};

const JOB_KINDS: readonly string[] = ['train', 'backfill', 'feature_refresh', 'drift_compute'];
const JOB_STATUSES: readonly string[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

function fieldOk(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string?':
      return value === null || typeof value === 'string';
    case 'number?':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
    case 'tags':
      return isPlainObject(value) && Object.values(value).every((tag) => typeof tag === 'string');
    case 'aliases':
      return (
        isPlainObject(value) &&
        Object.values(value).every(
          (alias) => isPlainObject(alias) && Number.isSafeInteger(alias.version) && typeof alias.setAt === 'number' && (alias.setBy === null || typeof alias.setBy === 'string'),
        )
      );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const FIELD_TYPE_NAMES: Partial<Record<FieldType, string>> = { tags: 'an object of strings', aliases: 'an object of alias records' };

/** Field checks as a list, built once per record type (decoding is on every scan's hot path). */
type FieldList = readonly (readonly [string, FieldSpec])[];

const HEAD_FIELD_LIST: FieldList = Object.entries(HEAD_FIELDS);
const VERSION_FIELD_LIST: FieldList = Object.entries(VERSION_FIELDS);
const JOB_FIELD_LIST: FieldList = Object.entries(JOB_FIELDS);
const EVENT_FIELD_LIST: FieldList = Object.entries(EVENT_FIELDS);

function decode<T>(raw: unknown, namespace: string, key: string, fields: FieldList): T {
  const json = unsealJson(raw, namespace, key);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw corruption(namespace, key, 'value is not valid JSON', error);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw corruption(namespace, key, 'value is not a JSON object');
  }
  const record = parsed as Record<string, unknown>;
  for (const [field, spec] of fields) {
    let value = record[field];
    if (value === undefined && typeof spec === 'object') value = record[field] = spec.default;
    const type = typeof spec === 'object' ? spec.type : spec;
    if (!fieldOk(value, type)) {
      throw corruption(namespace, key, `field '${field}' should be ${FIELD_TYPE_NAMES[type] ?? type.replace('?', ' or null')}`);
    }
  }
  return record as T;
}

/** Encodes any record for storage, sealed with a checksum (see checksum.ts). */
export function encodeRecord(record: HeadRecord | VersionRecord | JobRecord | EventRecord): string {
  return sealJson(JSON.stringify(record));
}

/** Decodes a head record or throws CORRUPTION. */
export function decodeHead(raw: unknown, key: string): HeadRecord {
  return decode<HeadRecord>(raw, NS.models, key, HEAD_FIELD_LIST);
}

/** Decodes a version record or throws CORRUPTION. */
export function decodeVersion(raw: unknown, key: string): VersionRecord {
  const record = decode<VersionRecord>(raw, NS.versions, key, VERSION_FIELD_LIST);
  if (!(STAGES as readonly string[]).includes(record.stage)) throw corruption(NS.versions, key, `unknown stage '${record.stage}'`);
  return record;
}

/** Decodes a job record or throws CORRUPTION. */
export function decodeJob(raw: unknown, key: string): JobRecord {
  const job = decode<JobRecord>(raw, NS.jobs, key, JOB_FIELD_LIST);
  if (!JOB_KINDS.includes(job.kind)) throw corruption(NS.jobs, key, `unknown job kind '${job.kind}'`);
  if (!JOB_STATUSES.includes(job.status)) throw corruption(NS.jobs, key, `unknown job status '${job.status}'`);
  return job;
}

/** Decodes an event record or throws CORRUPTION. */
export function decodeEvent(raw: unknown, key: string): EventRecord {
  const event = decode<EventRecord>(raw, NS.events, key, EVENT_FIELD_LIST);
  if (!(EVENT_KINDS as readonly string[]).includes(event.kind)) throw corruption(NS.events, key, `unknown event kind '${event.kind}'`);
  return event;
}

/** Parses stored JSON text (hyperparams, metrics, spec) or throws CORRUPTION. */
export function decodeJsonText(text: string | null, namespace: string, key: string): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corruption(namespace, key, 'embedded JSON is not valid', error);
  }
}
