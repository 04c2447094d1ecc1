/**
 * One model's versions and its active pointer: point reads of a version and of the
 * active one, moving the pointer (rollback), and archiving versions or a whole model.
 */

import { retired } from '../../errors.js';
import type { WriteOp } from '../commit-queue.js';
import { activeMoved, type EventInput } from '../events.js';
import { versionKey, versionRange } from '../keys.js';
import { decodeVersion, encodeRecord } from '../records.js';
import type { ModelVersion } from '../types.js';
import type { VersionRef } from '../types.js';
import { checkVersionRef, dropAliasesWhere, resolveVersionRef, servableVersion } from './aliases.js';
import { touched, versionOf, type RegistryContext } from './context.js';
import { schemaIndexOps } from './lookup.js';

/** What archiving answers: whether anything changed, the version, and the active pointer after it. */
export interface ArchiveOutcome {
  readonly changed: boolean;
  readonly active: number | null;
  readonly version: number;
}

/** One version (without weights); retired ones resolve too. */
export async function getVersion(ctx: RegistryContext, model: string, ref: VersionRef): Promise<ModelVersion> {
  checkVersionRef(ref);
  return ctx.queue.read((view) => {
    const { key, head } = ctx.resolve(model, view);
    const version = resolveVersionRef(model, head, ref);
    return ctx.toModelVersion(key, model, version, ctx.readRecord(model, key, head, version, view), head);
  });
}

/** The active version, or `null` when none is active. A retired model is MODEL_RETIRED. */
export async function getActive(ctx: RegistryContext, model: string): Promise<ModelVersion | null> {
  return ctx.queue.read((view) => {
    const { key, head } = ctx.resolve(model, view);
    if (head.retired) throw retired(model);
    if (head.active === null) return null;
    return ctx.toModelVersion(key, model, head.active, ctx.readRecord(model, key, head, head.active, view), head);
  });
}

/**
 * Points `model`'s active pointer at version `ref` (a number or `'@alias'`); `detail`
 * goes into the `active_moved` event (e.g. `{ rollback: 1 }`). Returns the previous
 * pointer and the version now active.
 */
export async function setActiveVersion(
  ctx: RegistryContext,
  model: string,
  ref: VersionRef,
  detail: Readonly<Record<string, unknown>> | null = null,
): Promise<{ previous: number | null; version: number }> {
  checkVersionRef(ref);
  return ctx.mutate(model, async (key, head) => {
    const version = servableVersion(ctx, model, key, head, ref);
    if (head.active === version) return { result: { previous: head.active, version }, ops: [] };
    const ops = [ctx.headOp(key, { ...head, active: version, updatedAt: touched(head) })];
    return { result: { previous: head.active, version }, ops, events: [activeMoved(key, head.active, version, detail)] };
  });
}

/**
 * Archives one version (`archived` true) or makes an archived one eligible again. An
 * archived version stays readable but cannot become active; archiving the active
 * version clears the pointer, unarchiving does not set it; archiving drops the
 * version's aliases. A version already in the wanted state changes nothing.
 */
export async function setArchived(ctx: RegistryContext, model: string, ref: VersionRef, archived: boolean): Promise<ArchiveOutcome> {
  checkVersionRef(ref);
  return ctx.mutate<ArchiveOutcome>(model, async (key, head) => {
    const version = resolveVersionRef(model, head, ref);
    const record = ctx.readRecord(model, key, head, version, 'latest');
    if (record.archived === archived) return { result: { changed: false, active: head.active, version }, ops: [] };
    const active = archived && head.active === version ? null : head.active;
    const dropped = archived ? dropAliasesWhere(key, head, (v) => v === version, 'archived') : { aliases: head.aliases, events: [] };
    const ops: WriteOp[] = [
      { type: 'put', sublevel: ctx.level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, archived }) },
      ...schemaIndexOps(ctx, key, head, version, record, archived ? 'remove' : 'add'),
      ctx.headOp(key, { ...head, active, aliases: dropped.aliases, archived: head.archived + (archived ? 1 : -1), updatedAt: touched(head) }),
    ];
    const events: EventInput[] = [{ kind: archived ? 'archived' : 'unarchived', model: key, version }, ...dropped.events];
    if (active !== head.active) events.push(activeMoved(key, head.active, active));
    return { result: { changed: true, active, version }, ops, events };
  });
}

/** Archives every version of `model` in one unit; returns how many were newly archived. */
export async function archiveModel(ctx: RegistryContext, model: string): Promise<{ archived: number; active: number | null }> {
  return ctx.mutate(model, async (key, head) => {
    const { level, queue } = ctx;
    // Versions queued by earlier statements must be on disk before we iterate them.
    await queue.idle();
    const ops: WriteOp[] = [];
    const events: EventInput[] = [];
    for await (const [vKey, raw] of ctx.entries(level.versions, versionRange(key), 'latest')) {
      const record = decodeVersion(raw, vKey);
      if (record.archived) continue;
      const version = versionOf(vKey);
      ops.push({ type: 'put', sublevel: level.versions, key: vKey, value: encodeRecord({ ...record, archived: true }) });
      ops.push(...schemaIndexOps(ctx, key, head, version, record, 'remove'));
      events.push({ kind: 'archived', model: key, version });
    }
    const archived = events.length;
    if (archived === 0) return { result: { archived: 0, active: null }, ops: [] };
    const dropped = dropAliasesWhere(key, head, () => true, 'archived');
    events.push(...dropped.events);
    ops.push(ctx.headOp(key, { ...head, active: null, aliases: dropped.aliases, archived: head.archived + archived, updatedAt: touched(head) }));
    if (head.active !== null) events.push(activeMoved(key, head.active, null));
    return { result: { archived, active: null }, ops, events };
  });
}
