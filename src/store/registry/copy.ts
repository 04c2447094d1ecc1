/**
 * Copying a version to another model (`CREATE MODEL target FROM MODEL source VERSION n`,
 * MLflow's copy_model_version: how a version is promoted between per-environment
 * models). The target gets its next version with the source's blob (no bytes are
 * copied: weights are stored once per content), metrics, hyperparams, training and
 * catalog fields, lineage and schema; the copy records where it came from. Events on
 * both models, all in the one unit of the new version.
 *
 * Rules: the source must be visible to the session (its own or a global model; other
 * tenants' models are UNKNOWN_MODEL like missing ones); the target is always the
 * session's own model, created if missing. An archived source version may be copied
 * (re-publishing an old version is what copying into the same model is for); a
 * retired one is VERSION_RETIRED, and a version of a retired model MODEL_RETIRED.
 */

import { invalidArgument, retired } from '../../errors.js';
import { decodeFingerprint } from '../fingerprint.js';
import type { WriteOp } from '../commit-queue.js';
import { activeMoved, type EventInput } from '../events.js';
import { modelKey, parseModelKey, validateModelName, versionKey } from '../keys.js';
import { NO_TAGS, NS, encodeRecord, type VersionRecord } from '../records.js';
import type { VersionRef } from '../types.js';
import { optionalString } from '../version-input.js';
import { checkVersionRef, resolveVersionRef } from './aliases.js';
import type { RegistryContext } from './context.js';
import { checkNewVersion, nextVersion } from './registration.js';

/** The version a copy is taken from. */
export interface CopySource {
  readonly model: string;
  /** A version number or `'@alias'` of the source model. */
  readonly version: VersionRef;
}

/** What a copy may set instead of taking it from the source. */
export interface CopyOptions {
  /** Default: the source's description. */
  readonly description?: string | null;
  /** Default: the handle's actor (`open({ createdBy })`). */
  readonly createdBy?: string | null;
  /** Whether the copy becomes the target's active version (default true, as CREATE MODEL). */
  readonly active?: boolean;
}

/** The new version a copy made. */
export interface CopiedVersion {
  readonly model: string;
  readonly version: number;
  readonly active: boolean;
  readonly sha256: string | null;
  readonly copiedFrom: { readonly model: string; readonly version: number; readonly tenant: string | null };
}

/** Copies `source` to the next version of the session's own model `target` (see the module comment). */
export async function copyVersion(ctx: RegistryContext, target: string, source: CopySource, options: CopyOptions = {}): Promise<CopiedVersion> {
  validateModelName(target);
  if (typeof source !== 'object' || source === null) throw invalidArgument('copyVersion() needs a source { model, version }');
  validateModelName(source.model);
  checkVersionRef(source.version);
  if (typeof options !== 'object' || options === null) throw invalidArgument('copy options must be an object');
  const description = options.description === undefined ? undefined : optionalString(options.description, 'description');
  const createdBy = optionalString(options.createdBy, 'created_by') ?? ctx.defaultActor;
  if (options.active !== undefined && typeof options.active !== 'boolean') throw invalidArgument('active must be TRUE or FALSE');

  const { sourceKey, record, sourceVersion } = await ctx.queue.read((view) => {
    const { key, head } = ctx.resolve(source.model, view);
    const version = resolveVersionRef(source.model, head, source.version);
    const found = ctx.readRecord(source.model, key, head, version, view);
    if (head.retired) throw retired(source.model);
    if (found.retired) throw retired(source.model, version);
    return { sourceKey: key, record: found, sourceVersion: version };
  });
  const from = { model: source.model, version: sourceVersion, tenant: parseModelKey(sourceKey)?.tenant ?? null };
  const fingerprint = record.schema === null ? null : decodeFingerprint(record.schema, NS.versions, versionKey(sourceKey, sourceVersion));
  const key = modelKey(target, ctx.tenant);

  // As a registration: the blob may not be cleaned up while the copy starts referencing it.
  const { version, active } = await ctx.writeUnit(
    key,
    async (head) => {
      await checkNewVersion(ctx, target, head, null);
      const { version, now, head: newHead } = nextVersion(head, options.active !== false);
      const copy = copiedRecord(record, { sourceKey, sourceVersion, createdAt: now, createdBy, description });
      const vKey = versionKey(key, version);
      const ops: WriteOp[] = [{ type: 'put', sublevel: ctx.level.versions, key: vKey, value: encodeRecord(copy) }, ctx.headOp(key, newHead)];
      if (copy.blob !== null) ops.push(ctx.blobs.refOp(copy.blob, vKey));
      if (fingerprint) ops.push(...ctx.index.addOps({ modelKey: key, version, createdAt: now }, fingerprint));
      const to = { model: target, version, tenant: ctx.tenant };
      const events: EventInput[] = [{ kind: 'version_copied', model: key, version, oldValue: null, newValue: version, detail: { from } }];
      if (newHead.active !== (head?.active ?? null)) events.push(activeMoved(key, head?.active ?? null, newHead.active));
      events.push({ kind: 'version_copied', model: sourceKey, version: sourceVersion, oldValue: null, newValue: null, detail: { to } });
      return { result: { version, active: newHead.active === version }, ops, events, actor: createdBy };
    },
    { blob: record.blob },
  );
  return { model: target, version, active, sha256: record.sha256, copiedFrom: from };
}

/**
 * The copy's record: the source's weights, training, catalog, lineage and schema
 * fields; a fresh life (dev, not archived or retired, no job, no parent in the target,
 * no tags: those annotate the source version, and no aliases point at it yet).
 */
function copiedRecord(
  source: VersionRecord,
  copy: { sourceKey: string; sourceVersion: number; createdAt: number; createdBy: string | null; description: string | null | undefined },
): VersionRecord {
  return {
    archived: false,
    tags: NO_TAGS,
    sha256: source.sha256,
    sizeBytes: source.sizeBytes,
    blob: source.blob,
    chunks: source.chunks,
    artifact: source.artifact,
    hyperparams: source.hyperparams,
    metrics: source.metrics,
    trainingSql: source.trainingSql,
    trainingDataHash: source.trainingDataHash,
    // FROM VERSION numbers versions of the source's model, which mean nothing in the target.
    parentVersion: null,
    createdAt: copy.createdAt,
    createdBy: copy.createdBy,
    description: copy.description === undefined ? source.description : copy.description,
    jobId: null,
    stage: 'dev',
    promotedAt: null,
    retired: false,
    modelType: source.modelType,
    task: source.task,
    backend: source.backend,
    baseModel: source.baseModel,
    baseVersion: source.baseVersion,
    config: source.config,
    schema: source.schema,
    schemaHash: source.schemaHash,
    copiedFromModel: copy.sourceKey,
    copiedFromVersion: copy.sourceVersion,
  };
}
