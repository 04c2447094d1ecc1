/**
 * The schema index's on-disk layout, and the one-time move from the earlier one.
 *
 * Layout 1 (modelsql up to issue 8) kept one posting list per field for every tenant
 * (`schema_tokens <field>:<kind>:<size>:<hash>`, entries in `schema_fingerprints
 * <hash>:<scope>:...`), so one tenant's lookup read, and was slowed by, another's
 * postings. Layout 2 partitions both by tenant scope in new sublevels (see
 * schema-index.ts) and is recorded as `meta` key `schema_index_layout` = '2'.
 *
 * A folder with layout-1 keys is rebuilt at open, before the registry serves anything:
 * the new index is cleared, rebuilt from the version records (the index holds exactly
 * the versions with a schema that are neither archived nor retired, of models that are
 * not retired), then the old keys are deleted; each step commits in bounded batches,
 * and the batch that deletes the last old keys also records the layout. A crash at any
 * point leaves old keys behind, so the next open starts over from the records. The same
 * happens if an older modelsql wrote layout-1 keys into a folder after its move.
 */

import { corruption, ModelSqlError } from '../errors.js';
import type { CommitQueue, WriteOp } from './commit-queue.js';
import { decodeFingerprint } from './fingerprint.js';
import { parseModelKey, parseVersionKey, versionKey, versionRange } from './keys.js';
import type { Level, TextSublevel } from './level.js';
import { NS, decodeHead, decodeVersion } from './records.js';
import { SchemaIndex } from './schema-index.js';

/** `meta` key recording the schema index layout. */
export const SCHEMA_INDEX_LAYOUT_KEY = 'schema_index_layout';
/** The layout this code reads and writes. */
export const SCHEMA_INDEX_LAYOUT = 2;
/** Sublevels of layout 1, read only to be emptied. */
export const LAYOUT_1_NAMESPACES = { postings: 'schema_tokens', entries: 'schema_fingerprints' } as const;
/** Ops per batch: bounds the memory and the size of one LevelDB write. */
const DEFAULT_CHUNK_OPS = 5000;

/** The layout-1 sublevels of `level`, postings first. */
export function layout1Sublevels(level: Level): [postings: TextSublevel, entries: TextSublevel] {
  const text = (name: string): TextSublevel => level.root.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  return [text(LAYOUT_1_NAMESPACES.postings), text(LAYOUT_1_NAMESPACES.entries)];
}

/**
 * Whether layout-1 keys are stored, so that the next open rebuilds the index from the
 * version records (what {@link upgradeSchemaIndex} decides on). Two seeks.
 */
export async function hasLayout1Keys(level: Level, options: { readonly snapshot?: unknown } = {}): Promise<boolean> {
  const read = options as { snapshot?: never };
  const found = await Promise.all(layout1Sublevels(level).map(async (sublevel) => (await sublevel.keys({ ...read, limit: 1 }).all()).length > 0));
  return found.some(Boolean);
}

/** What {@link upgradeSchemaIndex} did. */
export type LayoutUpgrade =
  | { readonly kind: 'current' }
  | { readonly kind: 'recorded' }
  | { readonly kind: 'rebuilt'; readonly entries: number; readonly batches: number };

/**
 * Brings the schema index to the current layout; run once at open, before any
 * statement. `current`: nothing to do; `recorded`: no layout-1 keys, the layout was
 * only written down (a new or schema-less folder); `rebuilt`: the index was rebuilt
 * from the version records in `batches` batches. O(versions) when it rebuilds, two
 * seeks otherwise.
 *
 * @param options.chunkOps ops per batch (tests lower it to cover many batches)
 */
export async function upgradeSchemaIndex(level: Level, queue: CommitQueue, options: { readonly chunkOps?: number } = {}): Promise<LayoutUpgrade> {
  const chunkOps = options.chunkOps ?? DEFAULT_CHUNK_OPS;
  const recorded = await level.meta.get(SCHEMA_INDEX_LAYOUT_KEY);
  const layout = recorded === undefined ? 1 : Number(recorded);
  if (!Number.isInteger(layout) || layout < 1 || (recorded !== undefined && layout < SCHEMA_INDEX_LAYOUT)) {
    throw corruption(NS.meta, SCHEMA_INDEX_LAYOUT_KEY, 'not a schema index layout number');
  }
  if (layout > SCHEMA_INDEX_LAYOUT) {
    throw new ModelSqlError(
      'UNSUPPORTED_FORMAT',
      `this registry folder uses schema index layout ${layout}, written by a newer modelsql; this version reads layout ${SCHEMA_INDEX_LAYOUT}`,
      { path: level.path ?? undefined },
    );
  }
  const old = layout1Sublevels(level);
  const hasOld = await hasLayout1Keys(level);
  const mark: WriteOp = { type: 'put', sublevel: level.meta, key: SCHEMA_INDEX_LAYOUT_KEY, value: String(SCHEMA_INDEX_LAYOUT) };
  if (!hasOld) {
    if (layout === SCHEMA_INDEX_LAYOUT) return { kind: 'current' };
    await queue.submit([mark], queue.epoch);
    return { kind: 'recorded' };
  }

  const batches = { count: 0 };
  const commit = async (ops: WriteOp[]): Promise<void> => {
    batches.count++;
    await queue.submit(ops, queue.epoch);
  };
  // Left over from a move that did not finish: the records are the truth, start over.
  for (const sublevel of [level.schemaTokens, level.fingerprints]) await clear(sublevel, chunkOps, commit);
  const entries = await rebuild(level, chunkOps, commit);
  // Postings last: they are never deleted, so that sublevel is not empty and the batch
  // deleting its last key, the move's last, can carry the layout.
  await clear(old[1], chunkOps, commit);
  await clear(old[0], chunkOps, commit, mark);
  return { kind: 'rebuilt', entries, batches: batches.count };
}

/** Deletes every key of `sublevel` in batches of `chunkOps`; `last`, if given, joins the batch that deletes the last key. */
async function clear(sublevel: TextSublevel, chunkOps: number, commit: (ops: WriteOp[]) => Promise<void>, last?: WriteOp): Promise<void> {
  for (;;) {
    // Deleted keys are gone once their batch is committed, so each round reads from the
    // start; one key more than a batch takes tells whether this batch is the last.
    const keys = await sublevel.keys({ limit: chunkOps + 1 }).all();
    const done = keys.length <= chunkOps;
    const ops: WriteOp[] = keys.slice(0, chunkOps).map((key) => ({ type: 'del', sublevel, key }));
    if (done && last) ops.push(last);
    if (ops.length > 0) await commit(ops);
    if (done) return;
  }
}

/** Writes the index of every version that belongs in it; returns how many entries. */
async function rebuild(level: Level, chunkOps: number, commit: (ops: WriteOp[]) => Promise<void>): Promise<number> {
  const index = new SchemaIndex(level);
  // Postings are per scope and schema, so each is written once, not once per version.
  const posted = new Set<string>();
  let ops: WriteOp[] = [];
  let entries = 0;
  for await (const [key, rawHead] of level.models.iterator()) {
    const head = decodeHead(rawHead, key);
    if (head.retired) continue;
    if (!parseModelKey(key)) throw corruption(NS.models, key, 'malformed model key');
    const scope = key.slice(0, key.indexOf(':'));
    // Versions 1..latest exist; anything past `latest` is not a version of this model.
    for await (const [vKey, raw] of level.versions.iterator({ gt: versionRange(key).gt, lte: versionKey(key, head.latest) })) {
      const version = parseVersionKey(vKey)?.version;
      if (version === undefined) throw corruption(NS.versions, vKey, 'malformed version key');
      const record = decodeVersion(raw, vKey);
      if (record.schema === null || record.archived || record.retired) continue;
      const fp = decodeFingerprint(record.schema, NS.versions, vKey);
      if (!posted.has(`${scope}:${fp.hash}`)) {
        posted.add(`${scope}:${fp.hash}`);
        ops.push(...index.postingOps(scope, fp));
      }
      ops.push(index.entryOp({ modelKey: key, version, createdAt: record.createdAt }, fp));
      entries++;
      if (ops.length >= chunkOps) {
        await commit(ops);
        ops = [];
      }
    }
  }
  if (ops.length > 0) await commit(ops);
  return entries;
}
