/**
 * Online backup (`BACKUP TO 'dest'`, `modelsql backup`): copies one LevelDB snapshot of
 * a live store into a new folder while writes go on. Weights are copied through the
 * versions that reference them, each blob once however many versions share it, and
 * hashed on the way, so a damaged blob fails the backup instead of being copied; uploads still in progress (no version yet) are left
 * out. The copy is written to a temporary folder beside `dest`, checked with the
 * integrity check, and only then renamed to `dest`: a failed backup leaves nothing.
 * A folder whose schema index is still in layout 1 (the CLI does not run the move) is
 * copied with its layout-1 keys, so the copy is the same old-layout folder, which the
 * next open() moves like the original.
 */

import { createHash, randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { AbstractSnapshot } from 'abstract-level';
import { ModelSqlError, invalidArgument } from '../errors.js';
import { blobRange, weightRefKey, weightRefRange } from './keys.js';
import { checkIntegrity } from './integrity.js';
import { openLevel, type BytesSublevel, type Level, type TextSublevel } from './level.js';
import { NS, decodeHead, decodeJob, decodeVersion } from './records.js';
import { layout1Sublevels } from './schema-index-layout.js';

/** What a backup copied. */
export interface BackupResult {
  /** The new registry folder (absolute). */
  readonly path: string;
  readonly models: number;
  readonly versions: number;
  readonly jobs: number;
  /** Bytes of weights copied (and verified). */
  readonly weightsBytes: number;
}

/** Flush the copy every this many bytes, so neither side holds much in memory. */
const BATCH_BYTES = 4 << 20;

/** Copies `source` (an open store) into the new folder `dest`. */
export async function backupStore(source: Level, dest: string): Promise<BackupResult> {
  const target = resolve(dest);
  await refuseMissingParent(dirname(target));
  await refuseExisting(target);
  if (!source.root.supports.explicitSnapshots) throw invalidArgument('this store cannot take snapshots, so it cannot be backed up online');
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  const snapshot = source.root.snapshot();
  let copy: Level | undefined;
  try {
    copy = await openLevel({ path: temporary });
    const counts = await copyAll(source, copy, snapshot);
    await copy.root.close();
    copy = undefined;
    await verifyCopy(temporary);
    await refuseExisting(target); // appeared meanwhile?
    await rename(temporary, target).catch(async (error: NodeJS.ErrnoException) => {
      throw invalidArgument(`cannot move the backup into '${target}': ${error.message}`, { path: target });
    });
    return { path: target, ...counts };
  } catch (error) {
    await copy?.root.close().catch(() => undefined);
    await rm(temporary, { recursive: true, force: true });
    throw error;
  } finally {
    await snapshot.close();
  }
}

/**
 * The temporary folder goes beside the destination, and opening it would create any
 * missing folders above it, which a failed backup would leave behind: the parent must
 * exist already.
 */
async function refuseMissingParent(parent: string): Promise<void> {
  const info = await stat(parent).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw invalidArgument(`backup destination's parent folder '${parent}' does not exist; create it first`, { path: parent });
    if (error.code === 'ENOTDIR') throw invalidArgument(`backup destination's parent '${parent}' is not a folder`, { path: parent });
    throw invalidArgument(`cannot use backup destination's parent folder '${parent}': ${error.message}`, { path: parent });
  });
  if (!info.isDirectory()) throw invalidArgument(`backup destination's parent '${parent}' is not a folder`, { path: parent });
}

async function refuseExisting(target: string): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(target)).isDirectory()) throw invalidArgument(`backup destination '${target}' exists and is not a folder`, { path: target });
    entries = await readdir(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (error instanceof ModelSqlError) throw error;
    throw invalidArgument(`cannot use backup destination '${target}': ${(error as Error).message}`, { path: target });
  }
  if (entries.length > 0) throw invalidArgument(`backup destination '${target}' is not empty; a backup goes into a new folder`, { path: target });
}

/** A write batch into the copy that flushes itself when it grows. */
class Writer {
  private batch;
  private bytes = 0;

  constructor(private readonly copy: Level) {
    this.batch = copy.root.batch();
  }

  async put(sublevel: TextSublevel | BytesSublevel, key: string, value: string | Uint8Array): Promise<void> {
    this.batch.put(key, value as never, { sublevel: sublevel as never });
    this.bytes += key.length + value.length;
    if (this.bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(sync = false): Promise<void> {
    if (this.batch.length > 0) await this.batch.write({ sync });
    else await this.batch.close();
    this.batch = this.copy.root.batch();
    this.bytes = 0;
  }

  async close(): Promise<void> {
    await this.flush(true);
    await this.batch.close();
  }
}

async function copyAll(source: Level, copy: Level, snapshot: AbstractSnapshot): Promise<Omit<BackupResult, 'path'>> {
  const at = { snapshot };
  const writer = new Writer(copy);
  let models = 0;
  let versions = 0;
  let jobs = 0;
  let weightsBytes = 0;
  for await (const [key, value] of source.models.iterator(at)) {
    decodeHead(value, key); // a damaged record fails the backup rather than being copied
    await writer.put(copy.models, key, value);
    models++;
  }
  for await (const [key, value] of source.versions.iterator(at)) {
    const record = decodeVersion(value, key);
    await writer.put(copy.versions, key, value);
    versions++;
    if (record.blob === null || !(await copiesBlob(source, record.blob, key, at))) continue;
    const hash = createHash('sha256');
    let size = 0;
    for await (const [chunkKey, bytes] of source.weights.iterator({ ...blobRange(record.blob), ...at })) {
      hash.update(bytes);
      size += bytes.length;
      await writer.put(copy.weights, chunkKey, bytes);
    }
    if (size !== record.sizeBytes || hash.digest('hex') !== record.sha256) {
      throw new ModelSqlError('CORRUPTION', `weights of version record '${key}' do not match their SHA-256 (namespace '${NS.weights}', blob '${record.blob}'); no backup was written`, { namespace: NS.weights, key: record.blob });
    }
    weightsBytes += size;
    const whole = await source.blobs.get(record.blob, at);
    if (whole !== undefined) await writer.put(copy.blobs, record.blob, whole);
  }
  for await (const [key, value] of source.jobs.iterator(at)) {
    decodeJob(value, key);
    await writer.put(copy.jobs, key, value);
    jobs++;
  }
  const copies: [TextSublevel, TextSublevel][] = (['jobQueue', 'stages', 'schemaTokens', 'fingerprints', 'meta', 'weightRefs', 'events', 'modelEvents', 'scopeEvents'] as const).map((name) => [source[name], copy[name]]);
  const [oldFrom, oldTo] = [layout1Sublevels(source), layout1Sublevels(copy)];
  copies.push([oldFrom[0], oldTo[0]], [oldFrom[1], oldTo[1]]);
  for (const [from, to] of copies) {
    for await (const [key, value] of from.iterator(at)) await writer.put(to, key, value);
  }
  await writer.close();
  return { models, versions, jobs, weightsBytes };
}

/**
 * Whether version key `vKey` is the one whose walk copies `blob`: the first reference
 * of the blob in `weight_refs` (so a blob shared by many versions is copied once, with
 * one probe per version), or any version of a blob without references (a format-3
 * folder, whose blobs are never shared).
 */
async function copiesBlob(source: Level, blob: string, vKey: string, at: { snapshot: AbstractSnapshot }): Promise<boolean> {
  const [first] = await source.weightRefs.keys({ ...weightRefRange(blob), ...at, limit: 1 }).all();
  return first === undefined || first === weightRefKey(blob, vKey);
}

/** The copy must pass the integrity check before it may appear under its name. */
async function verifyCopy(path: string): Promise<void> {
  const level = await openLevel({ path });
  try {
    for await (const found of checkIntegrity(level)) {
      throw new ModelSqlError('CORRUPTION', `the backup failed its integrity check, so none was written: ${found.problem} (namespace '${found.namespace}', key '${found.key}')`, {
        namespace: found.namespace,
        key: found.key,
      });
    }
  } finally {
    await level.root.close();
  }
}
