/**
 * Weights storage, once per content. A version's weights are a blob: 1 MiB chunks in
 * the `weights` namespace under the blob's id, which is the SHA-256 of its bytes, so
 * identical weights are one blob however many versions reference them. A blob is
 * written once (a version whose bytes are already stored writes no chunk: the `blobs`
 * entry written with a blob's last chunk says it is stored whole, and is read
 * synchronously, queued writes included) and is verified against its hash on every
 * read (weights.ts, export).
 *
 * Every version that references a blob has an entry `<blob>:<version key>` in
 * `weight_refs`, written in the version's own unit, so "is this blob referenced" is a
 * prefix probe, never a scan of the versions.
 *
 * Small weights are written in the same atomic unit as their version. Large ones are
 * streamed in ahead of it, a few chunks per unit, so neither JavaScript nor LevelDB's
 * batch holds the whole file; their hash is known only at the end, so they are
 * streamed under a random staging id and then moved to the content id (unless that
 * blob exists already, when the staging copy is just dropped). Until the version's
 * unit commits, an upload marker `<blob>:<upload id>` names the blob; the version's
 * unit deletes it. A blob whose marker survives (a crash, a statement that failed
 * after the upload) is deleted by {@link Blobs.recover} or {@link Blobs.discard},
 * but only when no version references it and no other upload claims it.
 *
 * Every change to one blob's chunks, markers or references runs under that blob's lock
 * (shared for versions that reference it, exclusive for cleanup; see
 * {@link Blobs.hold}) and is durable before the lock is released, so the
 * "referenced?" probe of a cleanup cannot race a version that starts referencing it.
 *
 * Format-3 folders stored each version's bytes under a random 32-hex id with a bare
 * `<blob>` marker; those blobs still read through the version's `blob` field, and
 * their markers are cleaned up the same way.
 */

import { createHash, randomBytes } from 'node:crypto';
import { ModelSqlError } from '../errors.js';
import type { CommitQueue, WriteOp } from './commit-queue.js';
import { KeyedSharedLock } from './keyed-rwlock.js';
import { blobChunkKey, blobRange, uploadMarkerKey, uploadMarkerRange, weightRefKey, weightRefRange } from './keys.js';
import type { Level } from './level.js';
import { NS } from './records.js';

/** Size of the chunks weights are stored in. */
export const CHUNK_BYTES = 1 << 20;
/** How much an upload writes per unit: large enough to be efficient, small enough to stay off the heap. */
const UPLOAD_UNIT_BYTES = 4 * CHUNK_BYTES;

/** A blob as a version record references it. */
export interface StoredBlob {
  readonly blob: string;
  readonly chunks: number;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Set for streamed uploads: the id of the upload marker that keeps the blob until a version references it. */
  readonly upload?: string;
}

/** In-memory weights ready to store: their blob, and their chunks (copied, so the caller may reuse its buffer). */
export interface PreparedBlob {
  readonly blob: StoredBlob;
  readonly chunks: readonly Uint8Array[];
}

/** Blobs over one opened store. */
export class Blobs {
  /** One lock per blob id (its own locks: blob ids and model keys must never share one). */
  private readonly locks = new KeyedSharedLock();

  constructor(
    private readonly level: Level,
    private readonly queue: CommitQueue,
  ) {}

  /**
   * Hashes and chunks in-memory bytes for a version of tenant `tenant` (null: global);
   * synchronous, so it copies them before the caller's first await.
   */
  prepare(bytes: Uint8Array, tenant: string | null): PreparedBlob {
    const chunks: Uint8Array[] = [];
    // Copies (a Buffer's slice() is a view), so an app reusing its buffer cannot change a version.
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) chunks.push(new Uint8Array(bytes.subarray(offset, offset + CHUNK_BYTES)));
    const sha256 = sha256Hex(bytes);
    return { blob: { blob: blobIdFor(sha256, tenant), chunks: chunks.length, sha256, sizeBytes: bytes.length }, chunks };
  }

  /**
   * Holds blob `blob` against cleanup until the returned function is called: what a
   * unit that adds a reference takes under its model's lock and keeps until the unit is
   * durable. Locks are always taken model first, blob second, so a transaction (which
   * keeps its models locked to the end) can take its blobs' at commit without deadlock.
   */
  hold(blob: string): Promise<() => void> {
    return this.locks.acquireShared(blob);
  }

  /** Runs `fn` holding blob `blob` alone: cleanup, and moving an upload into place. */
  private locked<T>(blob: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.exclusive(blob, fn);
  }

  /**
   * The writes that store prepared bytes inside the caller's unit (holding the blob, see {@link hold}):
   * none when the blob is already stored whole (committed or queued: a synchronous
   * read of the latest state), its chunks and its `blobs` entry otherwise.
   */
  writeOps(prepared: PreparedBlob): WriteOp[] {
    if (this.isComplete(prepared.blob.blob)) return [];
    const ops: WriteOp[] = prepared.chunks.map((value, index) => ({ type: 'put', sublevel: this.level.weights, key: blobChunkKey(prepared.blob.blob, index), value }));
    ops.push(this.wholeOp(prepared.blob));
    return ops;
  }

  /** The write recording that version key `vKey` references `blob`; part of the version's unit. */
  refOp(blob: string, vKey: string): WriteOp {
    return { type: 'put', sublevel: this.level.weightRefs, key: weightRefKey(blob, vKey), value: '' };
  }

  /** Whether any version references `blob` (a prefix probe of `weight_refs`). */
  async isReferenced(blob: string): Promise<boolean> {
    return (await this.level.weightRefs.keys({ ...weightRefRange(blob), limit: 1 }).all()).length > 0;
  }

  /**
   * Streams `source` into the store, hashing as it goes, ahead of the unit that will
   * reference it (which must include {@link commitOps}). Identical bytes already stored
   * are not stored again. On failure nothing is left.
   */
  async upload(source: AsyncIterable<Uint8Array>, tenant: string | null): Promise<StoredBlob> {
    const upload = newUploadId();
    // The staging blob is named by the upload id itself, and its marker by both.
    const staging = upload;
    await this.queue.submit([this.markerOp(staging, upload)], this.queue.epoch);
    let streamed: { chunks: number; sha256: string; sizeBytes: number };
    try {
      streamed = await this.stream(staging, source);
    } catch (error) {
      await this.discard(staging, upload).catch(() => undefined);
      throw error;
    }
    const stored: StoredBlob = { blob: blobIdFor(streamed.sha256, tenant), ...streamed, upload };
    try {
      await this.locked(stored.blob, async () => {
        if (this.isComplete(stored.blob)) {
          await this.queue.submit([this.markerOp(stored.blob, upload)], this.queue.epoch);
        } else {
          await this.move(staging, stored, upload);
        }
      });
    } catch (error) {
      await this.discard(stored.blob, upload).catch(() => undefined);
      throw error;
    } finally {
      await this.discard(staging, upload).catch(() => undefined);
    }
    return stored;
  }

  /** The writes that make an uploaded blob permanent; part of the referencing unit. */
  commitOps(blob: StoredBlob): WriteOp[] {
    return blob.upload === undefined ? [] : [{ type: 'del', sublevel: this.level.uploads, key: uploadMarkerKey(blob.blob, blob.upload) }];
  }

  /**
   * Ends upload `upload` into `blob` (its version was never registered), or a format-3
   * upload (`upload` undefined: the bare `<blob>` marker): deletes its marker, and the
   * chunks too unless a version references the blob or another upload still claims it.
   */
  async discard(blob: string, upload?: string): Promise<void> {
    await this.locked(blob, async () => {
      const marker = upload === undefined ? blob : uploadMarkerKey(blob, upload);
      const ops: WriteOp[] = [{ type: 'del', sublevel: this.level.uploads, key: marker }];
      if (!(await this.isReferenced(blob)) && !(await this.otherMarker(blob, marker))) {
        for await (const key of this.level.weights.keys(blobRange(blob))) ops.push({ type: 'del', sublevel: this.level.weights, key });
        ops.push({ type: 'del', sublevel: this.level.blobs, key: blob });
      }
      await this.queue.submit(ops, this.queue.epoch);
    });
  }

  /** Ends every upload a crash left behind (see {@link discard}); returns how many. Run at open. */
  async recover(): Promise<number> {
    const markers: string[] = [];
    for await (const key of this.level.uploads.keys()) markers.push(key);
    for (const key of markers) {
      const colon = key.indexOf(':');
      if (colon < 0) await this.discard(key);
      else await this.discard(key.slice(0, colon), key.slice(colon + 1));
    }
    return markers.length;
  }

  /** The chunks of a blob, in order. */
  chunks(blob: string): AsyncIterable<Uint8Array> {
    return this.level.weights.values(blobRange(blob));
  }

  private markerOp(blob: string, upload: string): WriteOp {
    return { type: 'put', sublevel: this.level.uploads, key: uploadMarkerKey(blob, upload), value: String(Date.now()) };
  }

  /**
   * Whether the blob is stored whole: its `blobs` entry, written in the unit of its last
   * chunk, is there (a crash midway leaves chunks without it; they are then rewritten).
   */
  isComplete(blob: string): boolean {
    return this.queue.readLatest(this.level.blobs, blob) !== undefined;
  }

  private wholeOp(blob: StoredBlob): WriteOp {
    return { type: 'put', sublevel: this.level.blobs, key: blob.blob, value: String(blob.chunks) };
  }

  /** Whether a marker other than `except` claims `blob` (a concurrent upload of the same bytes, or a format-3 marker). */
  private async otherMarker(blob: string, except: string): Promise<boolean> {
    if (blob !== except && (await this.level.uploads.get(blob)) !== undefined) return true;
    for await (const key of this.level.uploads.keys(uploadMarkerRange(blob))) if (key !== except) return true;
    return false;
  }

  /** Streams `source` into blob `staging`, re-chunked to exactly CHUNK_BYTES, a few chunks per unit. */
  private async stream(staging: string, source: AsyncIterable<Uint8Array>): Promise<{ chunks: number; sha256: string; sizeBytes: number }> {
    const hash = createHash('sha256');
    let sizeBytes = 0;
    let index = 0;
    let pending: WriteOp[] = [];
    let pendingBytes = 0;
    let carry = new Uint8Array(0);
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const ops = pending;
      pending = [];
      pendingBytes = 0;
      await this.queue.submit(ops, this.queue.epoch);
    };
    const addChunk = (chunk: Uint8Array): void => {
      pending.push({ type: 'put', sublevel: this.level.weights, key: blobChunkKey(staging, index++), value: chunk });
      pendingBytes += chunk.length;
    };
    for await (const piece of source) {
      hash.update(piece);
      sizeBytes += piece.length;
      let data: Uint8Array = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
      while (data.length >= CHUNK_BYTES) {
        addChunk(new Uint8Array(data.subarray(0, CHUNK_BYTES)));
        data = data.subarray(CHUNK_BYTES);
      }
      carry = new Uint8Array(data);
      if (pendingBytes >= UPLOAD_UNIT_BYTES) await flush();
    }
    if (carry.length > 0) addChunk(carry);
    await flush();
    return { chunks: index, sha256: hash.digest('hex'), sizeBytes };
  }

  /**
   * Copies the staging chunks to the content id, a few per unit, under a marker of the
   * content id written first (a crash midway leaves a marked, unreferenced part, which
   * recovery deletes).
   */
  private async move(staging: string, stored: StoredBlob, upload: string): Promise<void> {
    let ops: WriteOp[] = [this.markerOp(stored.blob, upload)];
    let bytes = 0;
    let index = 0;
    for await (const chunk of this.chunks(staging)) {
      ops.push({ type: 'put', sublevel: this.level.weights, key: blobChunkKey(stored.blob, index++), value: chunk });
      bytes += chunk.length;
      if (bytes >= UPLOAD_UNIT_BYTES) {
        await this.queue.submit(ops, this.queue.epoch);
        ops = [];
        bytes = 0;
      }
    }
    ops.push(this.wholeOp(stored));
    await this.queue.submit(ops, this.queue.epoch);
  }
}

/**
 * The CORRUPTION of weights that do not hash to their version's SHA-256 (or size),
 * naming the blob; `path`: the file an export was writing, which it did not.
 */
export function weightsMismatch(model: string, version: number, blob: string, path?: string): ModelSqlError {
  const unwritten = path === undefined ? '' : `; nothing was written to '${path}'`;
  return new ModelSqlError(
    'CORRUPTION',
    `weights of model '${model}' version ${version} do not match their stored SHA-256 (namespace '${NS.weights}', blob '${blob}')${unwritten}`,
    { namespace: NS.weights, key: blob, model, version, ...(path === undefined ? {} : { path }) },
  );
}

/** Hex SHA-256 of `bytes`. */
/**
 * The id identical bytes are stored under: their SHA-256 for the global session; for a
 * tenant, a SHA-256 of the tenant and that hash. Bytes are stored once per tenant, so
 * whether a write stores new bytes (and how long it takes) never tells a tenant what
 * another tenant stored.
 */
export function blobIdFor(sha256: string, tenant: string | null): string {
  return tenant === null ? sha256 : createHash('sha256').update(`tenant\0${tenant}\0${sha256}`).digest('hex');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function newUploadId(): string {
  return randomBytes(16).toString('hex');
}
