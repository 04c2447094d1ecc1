/**
 * Versions and their stages in the store: moving one version a stage up or down (the
 * rules are in ../stages.ts), keeping the stage index and the head's `production` in
 * step, and reading versions by stage through that index.
 */

import { corruption, retired, versionArchived } from '../../errors.js';
import type { ReadView, WriteOp } from '../commit-queue.js';
import { parseModelKey, parseVersionKey, stageKey, stageRange, versionKey, versionRange } from '../keys.js';
import { NS, decodeVersion, encodeRecord, type HeadRecord, type Stage } from '../records.js';
import { checkTransition, type StageDirection } from '../stages.js';
import type { ModelVersion, VersionRef } from '../types.js';
import { checkVersionRef, resolveVersionRef } from './aliases.js';
import { malformedKey, touched, type RegistryContext } from './context.js';

/** What a stage move answers. */
export interface StageMove {
  readonly version: number;
  readonly from: Stage;
  readonly to: Stage;
  readonly promotedAt: Date;
}

/**
 * Moves one version exactly one stage up (`promote`) or down (`demote`); anything
 * else is INVALID_TRANSITION. Records the time of the move. Stages never touch the
 * active pointer.
 */
export async function changeStage(ctx: RegistryContext, model: string, ref: VersionRef, direction: StageDirection, to: Stage): Promise<StageMove> {
  checkVersionRef(ref);
  return ctx.mutate(model, async (key, head) => {
    const version = resolveVersionRef(model, head, ref);
    const record = ctx.readRecord(model, key, head, version, 'latest');
    if (direction === 'promote') {
      if (head.retired) throw retired(model);
      if (record.retired) throw retired(model, version);
      if (record.archived) throw versionArchived(model, version);
    }
    const refused = checkTransition(model, version, record.stage, direction, to);
    if (refused) throw refused;
    const now = touched(head);
    const { level } = ctx;
    const ops: WriteOp[] = [{ type: 'put', sublevel: level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, stage: to, promotedAt: now }) }];
    // The stage index holds non-retired versions at staging and production only.
    if (record.stage !== 'dev') ops.push({ type: 'del', sublevel: level.stages, key: stageKey(key, record.stage, version) });
    if (to !== 'dev' && !record.retired) ops.push({ type: 'put', sublevel: level.stages, key: stageKey(key, to, version), value: '' });
    const production = await productionAfter(ctx, key, head, version, to);
    ops.push(ctx.headOp(key, { ...head, production, updatedAt: now }));
    const events = [{ kind: 'stage_moved', model: key, version, oldValue: record.stage, newValue: to } as const];
    return { result: { version, from: record.stage, to, promotedAt: new Date(now) }, ops, events };
  });
}

/**
 * The head's `production` after `version` moves to `to`: the newest non-retired
 * version at production. Only a move away from the current one needs the index
 * (after pending writes are flushed, so it is up to date).
 */
export async function productionAfter(ctx: RegistryContext, key: string, head: HeadRecord, version: number, to: Stage): Promise<number | null> {
  if (to === 'production') return Math.max(head.production ?? 0, version);
  if (head.production !== version) return head.production;
  await ctx.queue.idle();
  for await (const [sKey] of ctx.entries(ctx.level.stages, { ...stageRange(key, 'production'), lt: stageKey(key, 'production', version), reverse: true, limit: 1 }, 'latest')) {
    return Number(sKey.slice(sKey.lastIndexOf(':') + 1));
  }
  return null;
}

/**
 * Versions of one model at `stage` (staging or production), in version order (or newest first), from the
 * stage index: O(versions at that stage), not O(versions). Retired versions are never
 * in the index, and a retired model yields nothing. `dev` is not indexed (every version starts there); it yields nothing.
 */
export async function* versionsAtStage(ctx: RegistryContext, model: string, stage: Stage, options: { newestFirst?: boolean }): AsyncGenerator<ModelVersion> {
  const view = ctx.queue.view();
  try {
    yield* stageVersions(ctx, view, model, stage, options.newestFirst === true);
  } finally {
    view.release();
  }
}

async function* stageVersions(ctx: RegistryContext, view: ReadView, model: string, stage: Stage, newestFirst: boolean): AsyncGenerator<ModelVersion> {
  const found = ctx.tryResolve(model, view);
  // A retired model keeps its index entries (retiring is O(1)); it is hidden here instead.
  if (!found || found.head.retired || stage === 'dev') return;
  const { key, head } = found;
  for await (const [sKey] of ctx.entries(ctx.level.stages, { ...stageRange(key, stage), reverse: newestFirst }, view)) {
    const version = Number(sKey.slice(sKey.lastIndexOf(':') + 1));
    if (!Number.isInteger(version) || version < 1) throw malformedKey(NS.stages, sKey);
    if (version > head.latest) throw corruption(NS.stages, sKey, `the index names version ${version}, beyond the model head's latest (${head.latest})`);
    const record = ctx.readRecord(model, key, head, version, view);
    // The index and the records are read from one snapshot, where they always agree.
    if (record.stage !== stage || record.retired) {
      throw corruption(NS.stages, sKey, `the index puts version ${version} at ${stage} but its record says ${record.retired ? 'retired' : record.stage}`);
    }
    yield ctx.toModelVersion(key, model, version, record, head);
  }
}

/**
 * The most recently registered non-retired version at `stage`, or null. Staging and
 * production come from the stage index; dev (not indexed: every version starts
 * there) is a newest-first walk that stops at the first dev version.
 */
export async function latestAtStage(ctx: RegistryContext, model: string, stage: Stage): Promise<ModelVersion | null> {
  return ctx.queue.read(async (view) => {
    const { key, head } = ctx.resolve(model, view);
    if (head.retired) return null;
    if (stage !== 'dev') {
      let found: ModelVersion | null = null;
      for await (const version of stageVersions(ctx, view, model, stage, true)) {
        found = version;
        break;
      }
      if (stage === 'production' && (found?.version ?? null) !== head.production) reportProductionIndex(ctx, key, head, found, view);
      return found;
    }
    for await (const [vKey, raw] of ctx.entries(ctx.level.versions, { ...versionRange(key), reverse: true }, view)) {
      const parsed = parseVersionKey(vKey);
      if (!parsed || parsed.model !== key) throw malformedKey(NS.versions, vKey);
      const record = decodeVersion(raw, vKey);
      if (record.stage === 'dev' && !record.retired) return ctx.toModelVersion(key, model, parsed.version, record, head);
    }
    return null;
  });
}

/**
 * The stage index and the head's `production` disagree. They are read from one
 * snapshot, where they always agree, so one of them is damaged: CORRUPTION rather
 * than a wrong answer (index keys carry no checksum; a damaged key would otherwise
 * hide the production version).
 */
function reportProductionIndex(ctx: RegistryContext, key: string, head: HeadRecord, found: ModelVersion | null, view: ReadView): never {
  const expected = head.production;
  if (expected !== null && ctx.readValue(ctx.level.stages, stageKey(key, 'production', expected), view) === undefined) {
    throw corruption(NS.stages, stageKey(key, 'production', expected), `the head of model '${parseModelKey(key)?.name ?? key}' says version ${expected} is at production, but the stage index has no entry for it`);
  }
  throw corruption(NS.models, key, `the head says the production version is ${expected ?? 'none'}, but the stage index says ${found?.version ?? 'none'}`);
}
