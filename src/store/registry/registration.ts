/**
 * New versions: registering the next version of a model (the model is created by its
 * first), checking ahead what a train job will register, and resolving lineage
 * (`base_model`) at the time of the statement.
 */

import { invalidArgument, retired, unknownModel, unknownVersion } from '../../errors.js';
import type { StoredBlob } from '../blobs.js';
import type { WriteOp } from '../commit-queue.js';
import { activeMoved, type EventInput } from '../events.js';
import { MAX_VERSION, modelKey, validateModelName, versionKey } from '../keys.js';
import { NO_ALIASES, NO_TAGS, encodeRecord, type HeadRecord } from '../records.js';
import type { RegisterVersionInput, RegisteredVersion } from '../types.js';
import { prepareVersion, versionRecord } from '../version-input.js';
import type { RegistryContext } from './context.js';

/** Extra work a caller (the job worker) commits in the same unit as a new version. */
export interface RegistrationHooks {
  /** Weights already streamed in with {@link Registry.uploadWeights}; used instead of `input.weights`. */
  readonly weights?: StoredBlob;
  /** The train job the version comes from. */
  readonly jobId?: string;
  /** More writes for the same atomic unit, e.g. marking the job completed. */
  readonly extraOps?: (version: number) => readonly WriteOp[];
  /** Lineage resolved earlier (when a train statement ran), used instead of resolving `input.baseModel` again. */
  readonly base?: ResolvedBase | null;
}

/** A base model as resolved for lineage: its head key (tenant-qualified) and version. */
export interface ResolvedBase {
  readonly key: string;
  readonly version: number;
}

/**
 * Registers the next version of `model` (highest so far + 1; the model is created by
 * its first version). It becomes active unless `input.active === false`. A tenant
 * session always writes its own model, which then shadows a global one of that name.
 */
export async function registerVersion(ctx: RegistryContext, model: string, input: RegisterVersionInput, hooks: RegistrationHooks): Promise<RegisteredVersion> {
  try {
    return await register(ctx, model, input, hooks);
  } catch (error) {
    // An uploaded blob this registration would have referenced is now garbage.
    if (hooks.weights) await ctx.blobs.discard(hooks.weights.blob, hooks.weights.upload).catch(() => undefined);
    throw error;
  }
}

async function register(ctx: RegistryContext, model: string, input: RegisterVersionInput, hooks: RegistrationHooks): Promise<RegisteredVersion> {
  validateModelName(model);
  const { fields, fingerprint } = prepareVersion(input, { jobId: hooks.jobId ?? null, uploaded: hooks.weights, defaultActor: ctx.defaultActor });
  const { level, blobs } = ctx;
  // Hashed and copied before the first await: the caller may reuse its buffer once query() returns.
  const prepared = !hooks.weights && input.weights ? blobs.prepare(input.weights, ctx.tenant) : null;
  const blob: StoredBlob | null = hooks.weights ?? prepared?.blob ?? null;
  const base = hooks.base !== undefined ? hooks.base : await resolveBase(ctx, input);
  const key = modelKey(model, ctx.tenant);
  const { version, active } = await ctx.writeUnit(key, async (head) => {
    await checkNewVersion(ctx, model, head, fields.parentVersion);
    const { version, now, head: newHead } = nextVersion(head, input.active !== false);
    const record = versionRecord(fields, {
      sha256: blob?.sha256 ?? null,
      sizeBytes: blob?.sizeBytes ?? null,
      blob: blob?.blob ?? null,
      chunks: blob?.chunks ?? 0,
      baseModel: base?.key ?? null,
      baseVersion: base?.version ?? null,
      createdAt: now,
      copiedFromModel: null,
      copiedFromVersion: null,
    });
    const vKey = versionKey(key, version);
    const ops: WriteOp[] = [{ type: 'put', sublevel: level.versions, key: vKey, value: encodeRecord(record) }, ctx.headOp(key, newHead)];
    if (blob) {
      ops.push(...(hooks.weights ? blobs.commitOps(hooks.weights) : blobs.writeOps(prepared!)));
      ops.push(blobs.refOp(blob.blob, vKey));
    }
    if (fingerprint) ops.push(...ctx.index.addOps({ modelKey: key, version, createdAt: now }, fingerprint));
    if (hooks.extraOps) ops.push(...hooks.extraOps(version));
    const events: EventInput[] = [{ kind: 'version_created', model: key, version, newValue: version, detail: hooks.jobId ? { job_id: hooks.jobId } : null }];
    if (newHead.active !== (head?.active ?? null)) events.push(activeMoved(key, head?.active ?? null, newHead.active));
    const uploaded = hooks.weights;
    return {
      result: { version, active: newHead.active === version },
      ops,
      events,
      actor: fields.createdBy,
      prepared: prepared ?? undefined,
      undo: uploaded && (() => blobs.discard(uploaded.blob, uploaded.upload)),
    };
  }, { blob: blob?.blob });
  return { model, version, active, sha256: blob?.sha256 ?? null };
}

/**
 * Checks now what a train job will register later (catalog fields, schema, lineage,
 * and that the model may take a new version), so a bad statement fails before a job
 * is queued. The weights come from the trainer, so they are not required here.
 * Returns the base the lineage resolves to now, for the job to pin.
 */
export async function checkRegistration(ctx: RegistryContext, model: string, input: RegisterVersionInput): Promise<{ base: ResolvedBase | null }> {
  validateModelName(model);
  const { fields } = prepareVersion({ ...input, artifact: input.artifact ?? 'checked-later' }, { jobId: null, uploaded: undefined, defaultActor: null });
  const base = await resolveBase(ctx, input);
  await checkNewVersion(ctx, model, ctx.readHead(modelKey(model, ctx.tenant), 'latest'), fields.parentVersion);
  return { base };
}

/** Whether `model` (this session's own; `head` undefined when it has none yet) may take a new version. */
export async function checkNewVersion(ctx: RegistryContext, model: string, head: HeadRecord | undefined, parentVersion: number | null): Promise<void> {
  if (head?.retired) throw retired(model);
  const latest = head?.latest ?? 0;
  if (latest >= MAX_VERSION) throw invalidArgument(`model '${model}' has reached the last version number`);
  if (parentVersion === null || parentVersion <= latest) return;
  if (head) throw unknownVersion(model, parentVersion);
  if (ctx.tenant !== null && ctx.readHead(modelKey(model, null), 'latest')) {
    throw invalidArgument(`FROM VERSION refers to tenant '${ctx.tenant}''s own model '${model}', which has no versions yet; to derive from the global '${model}', use base_model = '${model}'`, { model });
  }
  throw unknownModel(model);
}

/** The lineage target of a registration: resolved now, so a bad base fails the statement. */
async function resolveBase(ctx: RegistryContext, input: RegisterVersionInput): Promise<ResolvedBase | null> {
  if (input.baseModel === undefined || input.baseModel === null) return null;
  if (typeof input.baseModel !== 'string') throw invalidArgument('base_model must be text');
  const { key, head } = await ctx.queue.read((view) => ctx.resolve(input.baseModel as string, view));
  const version = input.baseVersion ?? head.active ?? head.latest;
  if (version > head.latest) throw unknownVersion(input.baseModel, version);
  return { key, version };
}

/**
 * The next version of a model whose head is `head` (undefined: its first): its number,
 * its creation time, and the head after it (active when `makeActive`). The time is
 * strictly increasing per model and stored (head.updatedAt never goes back), so the
 * newest version by created_at is always the highest number, across restarts and
 * clock steps: the latest-at-stage query relies on it. Registrations and copies use it.
 */
export function nextVersion(head: HeadRecord | undefined, makeActive: boolean): { version: number; now: number; head: HeadRecord } {
  const version = (head?.latest ?? 0) + 1;
  const now = Math.max(Date.now(), (head?.updatedAt ?? 0) + 1);
  return {
    version,
    now,
    head: {
      active: makeActive ? version : (head?.active ?? null),
      latest: version,
      archived: head?.archived ?? 0,
      createdAt: head?.createdAt ?? now,
      updatedAt: now,
      retired: false,
      production: head?.production ?? null,
      aliases: head?.aliases ?? NO_ALIASES,
      tags: head?.tags ?? NO_TAGS,
    },
  };
}
