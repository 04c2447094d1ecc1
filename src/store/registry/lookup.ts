/**
 * Schema lookup (LOOKUP): which stored version a pipeline should start from on data
 * with a given schema, and the upkeep that keeps the schema index holding exactly the
 * versions a lookup may offer.
 */

import { corruption } from '../../errors.js';
import type { ReadView, WriteOp } from '../commit-queue.js';
import { decodeFingerprint, normalizeSchema, type SchemaInput } from '../fingerprint.js';
import { modelKey, parseModelKey, versionKey } from '../keys.js';
import { NS, type HeadRecord, type VersionRecord } from '../records.js';
import { schemaEntryKey } from '../schema-index.js';
import type { SchemaLookup } from '../types.js';
import { malformedKey, type RegistryContext } from './context.js';

/**
 * How a pipeline should start on data with this schema: `warm_load` on an exact
 * fingerprint match, `warm_start` when the nearest is within 0.25, else `cold_start`.
 * Archived and retired versions, retired models and models this session cannot see
 * are never candidates; an own model shadows a global one of the same name.
 */
export async function lookupSchema(ctx: RegistryContext, schema: SchemaInput): Promise<SchemaLookup> {
  const fingerprint = normalizeSchema(schema);
  return ctx.queue.read((view) => lookupIn(ctx, view, fingerprint));
}

async function lookupIn(ctx: RegistryContext, view: ReadView, fingerprint: ReturnType<typeof normalizeSchema>): Promise<SchemaLookup> {
  // Model-level answers repeat for every entry of a much-retrained model: ask once.
  const models = new Map<string, HeadRecord | undefined>();
  const eligibleModel = (key: string): HeadRecord | undefined => {
    const head = ctx.readHead(key, view);
    if (!head || head.retired) return undefined;
    const id = parseModelKey(key);
    if (!id) throw malformedKey(NS.fingerprints, key);
    const shadowed = id.tenant === null && ctx.tenant !== null && ctx.readHead(modelKey(id.name, ctx.tenant), view) !== undefined;
    return shadowed ? undefined : head;
  };
  const outcome = await ctx.index.lookup(fingerprint, ctx.scopes(), async (key: string, version: number) => {
    if (!models.has(key)) models.set(key, eligibleModel(key));
    const current = models.get(key);
    if (!current) return false;
    const name = parseModelKey(key)!.name;
    const record = ctx.readRecord(name, key, current, version, view);
    if (!record.archived && !record.retired && record.schemaHash !== null) return true;
    // The index and the records are read from one snapshot, where the index holds
    // exactly the eligible versions: an entry of any other is damage.
    const entry = { modelKey: key, version, createdAt: record.createdAt };
    throw corruption(NS.fingerprints, record.schemaHash === null ? `…:${key}:${version}` : schemaEntryKey(entry, record.schemaHash), `the schema index offers model '${name}' version ${version}, which is ${record.retired ? 'retired' : record.archived ? 'archived' : 'without a schema'}`);
  }, ctx.indexRead(view));
  if (outcome.mode === 'cold_start') return { mode: 'cold_start', model: null, version: null, distance: null };
  const name = parseModelKey(outcome.modelKey)!.name;
  return outcome.mode === 'warm_load'
    ? { mode: 'warm_load', model: name, version: outcome.version, distance: 0 }
    : { mode: 'warm_start', model: name, version: outcome.version, distance: outcome.distance };
}

/**
 * Schema index upkeep: the index holds exactly the versions with a schema that are
 * neither archived nor retired, of models that are not retired, so lookups never
 * wade through ineligible entries. Returns the writes that add or remove `version`
 * (none when it is not, or no longer, in the index).
 */
export function schemaIndexOps(ctx: RegistryContext, key: string, head: HeadRecord, version: number, record: VersionRecord, change: 'add' | 'remove'): WriteOp[] {
  if (record.schema === null || record.retired || head.retired || (change === 'remove' && record.archived)) return [];
  const fingerprint = decodeFingerprint(record.schema, NS.versions, versionKey(key, version));
  const entry = { modelKey: key, version, createdAt: record.createdAt };
  return change === 'add' ? ctx.index.addOps(entry, fingerprint) : ctx.index.removeOps(entry, fingerprint);
}
