/**
 * Checks what an app hands to `registerVersion` and turns it into the fields of a
 * version record. Everything here is synchronous and runs before any lock is taken,
 * so bad input fails fast and changes nothing.
 */

import { describeValue, invalidArgument } from '../errors.js';
import type { StoredBlob } from './blobs.js';
import { checkTask } from './catalog.js';
import { encodeFingerprint, normalizeSchema, type Fingerprint } from './fingerprint.js';
import { MAX_VERSION } from './keys.js';
import { toJsonText } from './json.js';
import { NO_TAGS, type VersionRecord } from './records.js';
import type { RegisterVersionInput } from './types.js';

/** What only the registry knows about a new version: its weights, lineage key and time. */
type RegistryFields = Pick<VersionRecord, 'createdAt' | 'baseModel' | 'baseVersion' | 'sha256' | 'sizeBytes' | 'blob' | 'chunks' | 'copiedFromModel' | 'copiedFromVersion'>;

/** A version record before the registry fills in {@link RegistryFields}. */
export type PreparedVersion = Omit<VersionRecord, keyof RegistryFields>;

/**
 * The full record. Written out key by key, in the stored order, rather than spread:
 * spreading 22 fields and adding 7 more pushed V8 into slow property adds on the
 * registration hot path (about a quarter of 64-in-flight CREATE throughput).
 */
export function versionRecord(f: PreparedVersion, r: RegistryFields): VersionRecord {
  return {
    archived: f.archived,
    sha256: r.sha256,
    sizeBytes: r.sizeBytes,
    blob: r.blob,
    chunks: r.chunks,
    artifact: f.artifact,
    hyperparams: f.hyperparams,
    metrics: f.metrics,
    trainingSql: f.trainingSql,
    trainingDataHash: f.trainingDataHash,
    parentVersion: f.parentVersion,
    createdAt: r.createdAt,
    createdBy: f.createdBy,
    description: f.description,
    jobId: f.jobId,
    stage: f.stage,
    promotedAt: f.promotedAt,
    retired: f.retired,
    modelType: f.modelType,
    task: f.task,
    backend: f.backend,
    baseModel: r.baseModel,
    baseVersion: r.baseVersion,
    config: f.config,
    schema: f.schema,
    schemaHash: f.schemaHash,
    copiedFromModel: r.copiedFromModel,
    copiedFromVersion: r.copiedFromVersion,
    tags: f.tags,
  };
}

/** Text or absent; anything else is INVALID_ARGUMENT naming the field. */
export function optionalString(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidArgument(`${what} must be text`);
  return value;
}

/** A version number from 1 to {@link MAX_VERSION}. */
export function checkVersionNumber(version: unknown, what = 'version'): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw invalidArgument(`${what} must be a whole number from 1 to ${MAX_VERSION}, got ${describeValue(version)}`);
  }
  return version;
}

function optionalJson(value: unknown, what: string): string | null {
  return value === undefined || value === null ? null : toJsonText(value, what);
}

/**
 * Validates a registration and builds its record fields. `uploaded` is weights already
 * streamed in; without it, `input.weights` (or an artifact) must be there.
 */
export function prepareVersion(
  input: RegisterVersionInput,
  options: { jobId: string | null; uploaded: StoredBlob | undefined; defaultActor: string | null },
): { fields: PreparedVersion; fingerprint: Fingerprint | null } {
  if (typeof input !== 'object' || input === null) throw invalidArgument('registration input must be an object');
  const weights = input.weights ?? null;
  if (weights !== null && !(weights instanceof Uint8Array)) throw invalidArgument('weights must be a Uint8Array or Buffer');
  const artifact = optionalString(input.artifact, 'artifact');
  if (weights === null && artifact === null && !options.uploaded) {
    throw invalidArgument('a model version needs weights or an artifact');
  }
  if (input.active !== undefined && typeof input.active !== 'boolean') throw invalidArgument('active must be TRUE or FALSE');
  if (input.baseVersion !== undefined && input.baseVersion !== null) {
    checkVersionNumber(input.baseVersion, 'base_version');
    if (input.baseModel === undefined || input.baseModel === null) throw invalidArgument('base_version needs base_model');
  }
  const fingerprint = input.schema === undefined || input.schema === null ? null : normalizeSchema(input.schema);
  const fields: PreparedVersion = {
    archived: false,
    tags: NO_TAGS,
    artifact,
    hyperparams: optionalJson(input.hyperparams, 'hyperparams'),
    metrics: optionalJson(input.metrics, 'metrics'),
    trainingSql: optionalString(input.trainingSql, 'training_sql'),
    trainingDataHash: optionalString(input.trainingDataHash, 'training_data_hash'),
    parentVersion: input.parentVersion === undefined || input.parentVersion === null ? null : checkVersionNumber(input.parentVersion, 'FROM VERSION'),
    createdBy: optionalString(input.createdBy, 'created_by') ?? options.defaultActor,
    description: optionalString(input.description, 'description'),
    jobId: options.jobId,
    stage: 'dev',
    promotedAt: null,
    retired: false,
    modelType: optionalString(input.modelType, 'model_type'),
    task: checkTask(input.task),
    backend: optionalString(input.backend, 'backend'),
    config: optionalJson(input.config, 'config'),
    schema: fingerprint === null ? null : encodeFingerprint(fingerprint),
    schemaHash: fingerprint?.hash ?? null,
  };
  return { fields, fingerprint };
}
