/**
 * Listings: the dashboard (one summary per visible model, from the heads alone) and
 * scans of versions, of one model or of every model the session sees. Each reads one
 * {@link ReadView}, so heads and versions always come from the same snapshot.
 */

import { ModelSqlError, corruption } from '../../errors.js';
import type { ReadView } from '../commit-queue.js';
import { parseModelKey, parseVersionKey, scopeRange, versionRange } from '../keys.js';
import { NS, decodeHead, decodeVersion, type HeadRecord } from '../records.js';
import type { ModelAlias, ModelSummary, ModelVersion } from '../types.js';
import { aliasRows, aliasTargets } from './aliases.js';
import { malformedKey, type RegistryContext } from './context.js';

/** Options of listings: retired models and versions are left out unless asked for. */
export interface ListOptions {
  readonly includeRetired?: boolean;
}

/** A head as a listing meets it: key, head and the model's name. */
interface VisibleHead {
  readonly key: string;
  readonly head: HeadRecord;
  readonly name: string;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every version of `model` (retired ones included: the model is named), oldest first. O(versions of this model). */
export async function listVersions(ctx: RegistryContext, model: string): Promise<ModelVersion[]> {
  return ctx.queue.read(async (view) => {
    const { key, head } = ctx.resolve(model, view);
    const out: ModelVersion[] = [];
    for await (const version of modelVersions(ctx, key, model, head, { includeRetired: true }, view)) out.push(version);
    return out;
  });
}

/** One summary per visible model, ordered by name; retired models only when asked. Cost is O(models). */
export async function summaries(ctx: RegistryContext, options: ListOptions): Promise<ModelSummary[]> {
  return ctx.queue.read(async (view) => {
    const out: ModelSummary[] = [];
    for (const { key, head, name } of await visibleHeads(ctx, view)) {
      if (head.retired && !options.includeRetired) continue;
      out.push(toSummary(name, parseModelKey(key)!.tenant, head));
    }
    return out.sort(byName);
  });
}

/** The aliases of one model (by name) or of every visible model, by model name then alias. O(models). */
export async function listAliases(ctx: RegistryContext, model?: string): Promise<ModelAlias[]> {
  return ctx.queue.read(async (view) => {
    if (model !== undefined) {
      const found = ctx.tryResolve(model, view);
      return found ? aliasRows(ctx, model, found.key, found.head) : [];
    }
    const heads = (await visibleHeads(ctx, view)).sort(byName);
    return heads.flatMap(({ key, head, name }) => aliasRows(ctx, name, key, head));
  });
}

/** Summary of one model (retired models resolve too). */
export async function summary(ctx: RegistryContext, model: string): Promise<ModelSummary> {
  return ctx.queue.read((view) => {
    const { key, head } = ctx.resolve(model, view);
    return toSummary(model, parseModelKey(key)!.tenant, head);
  });
}

/**
 * Versions of one model (or of every visible model when `model` is undefined), in
 * model-key then version order; retired ones only when asked. Unknown model yields nothing.
 */
export async function* scanVersions(ctx: RegistryContext, model: string | undefined, options: ListOptions): AsyncGenerator<ModelVersion> {
  const view = ctx.queue.view();
  try {
    yield* scanIn(ctx, view, model, options);
  } finally {
    view.release();
  }
}

async function* scanIn(ctx: RegistryContext, view: ReadView, model: string | undefined, options: ListOptions): AsyncGenerator<ModelVersion> {
  if (model !== undefined) {
    const found = ctx.tryResolve(model, view);
    if (found && (!found.head.retired || options.includeRetired)) yield* modelVersions(ctx, found.key, model, found.head, options, view);
    return;
  }
  const visible = await visibleHeads(ctx, view);
  const heads = new Map(visible.map((v) => [v.key, v]));
  const ownNames = new Set(ctx.tenant === null ? [] : visible.filter((v) => !v.key.startsWith(':')).map((v) => v.name));
  for (const scope of ctx.scopes()) {
    // One pass over the scope's versions; rows of one model are contiguous.
    let lastKey: string | undefined;
    let skip = false;
    for await (const [vKey, raw] of ctx.entries(ctx.level.versions, scopeRange(scope), view)) {
      const parsed = parseVersionKey(vKey);
      if (!parsed) throw malformedKey(NS.versions, vKey);
      if (parsed.model !== lastKey) {
        lastKey = parsed.model;
        const target = heads.get(parsed.model);
        if (target === undefined) checkUnlisted(ctx, parsed.model, vKey, ownNames, view);
        skip = target === undefined || (target.head.retired && !options.includeRetired);
      }
      if (skip) continue;
      const { head, name } = heads.get(parsed.model)!;
      // The head and the scan read one snapshot, which holds a version only with its head.
      if (parsed.version > head.latest) throw corruption(NS.versions, vKey, `version ${parsed.version} is beyond the model head's latest (${head.latest})`);
      const record = decodeVersion(raw, vKey);
      if (record.retired && !options.includeRetired) continue;
      yield ctx.toModelVersion(parsed.model, name, parsed.version, record, head);
    }
  }
}

async function* modelVersions(ctx: RegistryContext, key: string, name: string, head: HeadRecord, options: ListOptions, view: ReadView): AsyncGenerator<ModelVersion> {
  for await (const [vKey, raw] of ctx.entries(ctx.level.versions, versionRange(key), view)) {
    const parsed = parseVersionKey(vKey);
    if (!parsed || parsed.model !== key) throw malformedKey(NS.versions, vKey);
    // The head and the scan read one snapshot, which holds a version only with its head.
    if (parsed.version > head.latest) throw corruption(NS.versions, vKey, `version ${parsed.version} is beyond the model head's latest (${head.latest})`);
    const record = decodeVersion(raw, vKey);
    if (record.retired && !options.includeRetired) continue;
    yield ctx.toModelVersion(key, name, parsed.version, record, head);
  }
}

/**
 * Versions met in a scan whose model was not among the heads read first are skipped:
 * a global model the session's own shadows. A version with no head at all is damage,
 * and is reported (heads and versions are read from one snapshot).
 */
function checkUnlisted(ctx: RegistryContext, model: string, vKey: string, ownNames: ReadonlySet<string>, view: ReadView): void {
  const id = parseModelKey(model);
  if (!id) throw malformedKey(NS.versions, vKey);
  if (id.tenant === null && ownNames.has(id.name)) return;
  if (ctx.readHead(model, view) === undefined) {
    throw new ModelSqlError('CORRUPTION', `version record '${vKey}' in namespace '${NS.versions}' has no model head in '${NS.models}'`, { namespace: NS.versions, key: vKey });
  }
}

/** Heads of every model this session sees: its own, and global ones it does not shadow. O(visible models). */
async function visibleHeads(ctx: RegistryContext, view: ReadView): Promise<VisibleHead[]> {
  const out: VisibleHead[] = [];
  const own = new Set<string>();
  for (const [i, scope] of ctx.scopes().entries()) {
    const shadowing = i > 0;
    for await (const [key, raw] of ctx.entries(ctx.level.models, scopeRange(scope), view)) {
      const id = parseModelKey(key);
      if (!id) throw malformedKey(NS.models, key);
      if (shadowing && own.has(id.name)) continue;
      if (!shadowing) own.add(id.name);
      out.push({ key, head: decodeHead(raw, key), name: id.name });
    }
  }
  return out;
}

function toSummary(name: string, tenant: string | null, head: HeadRecord): ModelSummary {
  return {
    name,
    tenant,
    activeVersion: head.active,
    // Versions are never deleted, so 1..latest all exist.
    totalVersions: head.latest,
    archivedVersions: head.archived,
    latestVersion: head.latest,
    productionVersion: head.production,
    retired: head.retired,
    createdAt: new Date(head.createdAt),
    updatedAt: new Date(head.updatedAt),
    aliases: aliasTargets(head),
    tags: head.tags,
  };
}
