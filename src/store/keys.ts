/**
 * Key layout. Every key is text built from segments joined by `:`; a segment never
 * contains a raw `:` (it is escaped), so the encoding is injective and a prefix of
 * one model's keys is never a prefix of another model's.
 *
 *   models          <tenant>:<name>                           → head record
 *   model_versions  <tenant>:<name>:<version, 10 digits>      → version record
 *   weights         <blob id>:<chunk, 6 digits>                → raw bytes (see blobs.ts); the id is the
 *                                                                64-hex SHA-256 of the bytes (format 3: 32 random hex)
 *   uploads         <blob id>:<upload id, 32 hex>              → marker of an upload no version references yet
 *                                                                (format 3: `<blob id>` alone)
 *   weight_refs     <blob id>:<version key>                    → '' (the versions referencing a blob)
 *   blobs           <blob id>                                  → chunk count: the blob is stored whole
 *   jobs            <32 hex id>                               → job record
 *   job_queue       <created_at, 15 digits>:<id>              → id of a queued/running job
 *
 *   version_stages  <tenant>:<name>:<stage>:<version>          → '' (staging and production only)
 *   schema_*        see schema-index.ts
 *   meta            format                                     → storage format number
 *                   schema_index_layout                        → layout of schema_* (schema-index-layout.ts)
 *
 * `<tenant>` is empty for global models and the escaped tenant name otherwise (tenant
 * names are never empty, so the two cannot collide): identity is (tenant, name).
 * Zero-padded numbers make versions iterate in numeric order (2 before 10).
 */

import { invalidArgument } from '../errors.js';

/** Largest version number (versions are unsigned 32-bit, as in the RedDB seed). */
export const MAX_VERSION = 0xffff_ffff;
/** Longest model name accepted, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False for text with a lone surrogate: UTF-8 keys would turn it into U+FFFD, so two names could share a key. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * Rejects names that cannot be stored faithfully: empty, too long, or not
 * well-formed Unicode (a lone surrogate would be replaced when encoded as UTF-8,
 * so two different names could share one key).
 */
function validateName(name: unknown, what: 'model' | 'tenant'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument(`${what} name must be a non-empty string`);
  if (name.length > MAX_NAME_LENGTH) throw invalidArgument(`${what} name is ${name.length} characters long; the limit is ${MAX_NAME_LENGTH}`);
  if (!isWellFormed(name)) throw invalidArgument(`${what} name is not well-formed Unicode (lone surrogate)`);
  return name;
}

/** Checks a model name (see {@link validateName}). */
export function validateModelName(name: unknown): string {
  return validateName(name, 'model');
}

/** Checks a tenant name: the same rules as model names. */
export function validateTenantName(tenant: unknown): string {
  return validateName(tenant, 'tenant');
}

/** Why a model key is not one modelsql writes (malformed, invalid names, not canonically escaped), or null. */
export function modelKeyProblem(key: string): string | null {
  const id = parseModelKey(key);
  if (!id) return 'malformed model key';
  try {
    validateModelName(id.name);
    if (id.tenant !== null) validateTenantName(id.tenant);
  } catch (error) {
    return `malformed model key: ${(error as Error).message}`;
  }
  return modelKey(id.name, id.tenant) === key ? null : 'malformed model key (not canonically escaped)';
}

/** Range of every model head (and, in model_versions, every version) of one tenant scope ('' = global). */
export function scopeRange(scope: string): { gt: string; lt: string } {
  return { gt: `${scope}:`, lt: `${scope};` };
}

/** Stage index key: `<model key>:<stage>:<version>`. */
export function stageKey(model: string, stage: string, version: number): string {
  return `${model}:${stage}:${pad(version, 10)}`;
}

/** Range of one model's stage index entries at `stage`, in version order. */
export function stageRange(model: string, stage: string): { gt: string; lt: string } {
  return { gt: `${model}:${stage}:`, lt: `${model}:${stage};` };
}

/** Escapes `%` and `:` so a segment can sit between `:` separators. */
export function escapeSegment(segment: string): string {
  return segment.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/** Inverse of {@link escapeSegment}. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/%3A|%25/g, (c) => (c === '%25' ? '%' : ':'));
}

/** Zero-pads a whole number so keys sort numerically. */
export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The key of a model's head record; also the prefix of everything else the model owns. */
export function modelKey(name: string, tenant: string | null = null): string {
  return `${tenant === null ? '' : escapeSegment(tenant)}:${escapeSegment(name)}`;
}

/** Inverse of {@link modelKey}; `undefined` for a key that is not one. */
export function parseModelKey(key: string): { tenant: string | null; name: string } | undefined {
  const parts = key.split(':');
  if (parts.length !== 2 || parts[1] === '') return undefined;
  return { tenant: parts[0] === '' ? null : unescapeSegment(parts[0]!), name: unescapeSegment(parts[1]!) };
}

/** Key of one version record. */
export function versionKey(model: string, version: number): string {
  return `${model}:${pad(version, 10)}`;
}

/** Inverse of {@link versionKey}: the model key and version, or `undefined`. */
export function parseVersionKey(key: string): { model: string; version: number } | undefined {
  const at = key.lastIndexOf(':');
  const digits = key.slice(at + 1);
  if (at <= 0 || !/^\d{10}$/.test(digits)) return undefined;
  const model = key.slice(0, at);
  return parseModelKey(model) ? { model, version: Number(digits) } : undefined;
}

/** Range covering every version of one model, in version order. */
export function versionRange(model: string): { gt: string; lt: string } {
  // ':' + 1 = ';' bounds exactly the keys `${model}:...`.
  return { gt: `${model}:`, lt: `${model};` };
}

/** Key of chunk `index` of a weights blob. */
export function blobChunkKey(blob: string, index: number): string {
  return `${blob}:${pad(index, 6)}`;
}

/** Range covering every chunk of one blob, in order. */
export function blobRange(blob: string): { gt: string; lt: string } {
  return { gt: `${blob}:`, lt: `${blob};` };
}

/** Key of the marker of upload `upload` into blob `blob`. */
export function uploadMarkerKey(blob: string, upload: string): string {
  return `${blob}:${upload}`;
}

/** Range of every upload marker of one blob (format-3 markers, the bare blob id, are not in it). */
export function uploadMarkerRange(blob: string): { gt: string; lt: string } {
  return { gt: `${blob}:`, lt: `${blob};` };
}

/** Key of the reference of version key `vKey` to blob `blob`. */
export function weightRefKey(blob: string, vKey: string): string {
  return `${blob}:${vKey}`;
}

/** Range of every reference to one blob. */
export function weightRefRange(blob: string): { gt: string; lt: string } {
  return { gt: `${blob}:`, lt: `${blob};` };
}

/** Key of a job record: the id itself (32 lowercase hex characters). */
export function jobKey(id: string): string {
  return id;
}

/** True for a well-formed job id. */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{32}$/.test(id);
}

/** Key in the queue index: creation order first, so the worker takes the oldest job. */
export function jobQueueKey(createdAt: number, id: string): string {
  return `${pad(createdAt, 15)}:${id}`;
}
