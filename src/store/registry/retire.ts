/**
 * Soft retire of a whole model or of one version: what it takes out of the schema
 * index, the stage index, the active pointer and the head's `production`.
 */

import type { WriteOp } from '../commit-queue.js';
import { activeMoved, type EventInput } from '../events.js';
import { stageKey, versionKey, versionRange } from '../keys.js';
import { decodeVersion, encodeRecord } from '../records.js';
import type { VersionRef } from '../types.js';
import { checkVersionRef, dropAliasesWhere, resolveVersionRef } from './aliases.js';
import { touched, versionOf, type RegistryContext } from './context.js';
import { schemaIndexOps } from './lookup.js';
import { productionAfter } from './stage-moves.js';

/**
 * Soft-retires a whole model (`version` undefined) or one version. Retired things
 * vanish from the dashboard and default listings but still resolve by name and
 * version, so lineage keeps working; a retired model cannot be served, changed
 * (beyond archiving) or given new versions. Retiring twice changes nothing.
 * Retiring the active version clears the pointer; retiring drops the aliases of what
 * it retires.
 */
export async function retire(ctx: RegistryContext, model: string, ref: VersionRef | undefined): Promise<{ changed: boolean; active: number | null; version: number | null }> {
  if (ref !== undefined) checkVersionRef(ref);
  return ctx.mutate<{ changed: boolean; active: number | null; version: number | null }>(model, async (key, head) => {
    const now = touched(head);
    if (ref === undefined) {
      if (head.retired) return { result: { changed: false, active: head.active, version: null }, ops: [] };
      // Its versions leave the schema index (LOOKUP never offers them again). O(versions
      // of this model), like ARCHIVE MODEL; versions queued earlier must be on disk first.
      await ctx.queue.idle();
      const ops: WriteOp[] = [];
      for await (const [vKey, raw] of ctx.entries(ctx.level.versions, versionRange(key), 'latest')) {
        ops.push(...schemaIndexOps(ctx, key, head, versionOf(vKey), decodeVersion(raw, vKey), 'remove'));
      }
      const { aliases, events } = dropAliasesWhere(key, head, () => true, 'retired');
      ops.push(ctx.headOp(key, { ...head, aliases, retired: true, updatedAt: now }));
      return { result: { changed: true, active: head.active, version: null }, ops, events: [{ kind: 'retired', model: key, version: null }, ...events] };
    }
    const version = resolveVersionRef(model, head, ref);
    const record = ctx.readRecord(model, key, head, version, 'latest');
    if (record.retired) return { result: { changed: false, active: head.active, version }, ops: [] };
    const { level } = ctx;
    const ops: WriteOp[] = [
      { type: 'put', sublevel: level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, retired: true }) },
      ...schemaIndexOps(ctx, key, head, version, record, 'remove'),
    ];
    if (record.stage !== 'dev') ops.push({ type: 'del', sublevel: level.stages, key: stageKey(key, record.stage, version) });
    const production = head.production === version ? await productionAfter(ctx, key, head, version, 'dev') : head.production;
    const active = head.active === version ? null : head.active;
    const dropped = dropAliasesWhere(key, head, (v) => v === version, 'retired');
    ops.push(ctx.headOp(key, { ...head, active, production, aliases: dropped.aliases, updatedAt: now }));
    const events: EventInput[] = [{ kind: 'retired', model: key, version }, ...dropped.events];
    if (active !== head.active) events.push(activeMoved(key, head.active, active));
    return { result: { changed: true, active, version }, ops, events };
  });
}
