/**
 * Weights storage. A version's weights are a blob: 1 MiB chunks in the `weights`
 * namespace under a random blob id, referenced by the version record.
 *
 * Small weights are written in the same atomic unit as their version. Large ones
 * (a file of hundreds of megabytes) are streamed in ahead of it, a few chunks per
 * unit, so neither JavaScript nor LevelDB's batch ever holds the whole file. Until
 * the version's unit commits, an upload marker names the blob; the version's unit
 * deletes the marker. A blob whose marker survives (a crash, a statement that failed
 * after the upload) is unreferenced and is deleted by {@link Blobs.recover} or
 * {@link Blobs.discard}.
 */

import { createHash, randomBytes } from 'node:crypto';
import { ModelSqlError } from '../errors.js';
import type { CommitQueue, WriteOp } from './commit-queue.js';
import { blobChunkKey, blobRange } from './keys.js';
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
}

/** Blobs over one opened store. */
export class Blobs {
  constructor(
    private readonly level: Level,
    private readonly queue: CommitQueue,
  ) {}

  /** Writes for storing in-memory bytes as a new blob inside the caller's unit. */
  inline(bytes: Uint8Array): { blob: StoredBlob; ops: WriteOp[] } {
    const blob = newBlobId();
    const ops: WriteOp[] = [];
    for (let offset = 0, index = 0; offset < bytes.length; offset += CHUNK_BYTES, index++) {
      // A copy (a Buffer's slice() is a view), so an app reusing its buffer cannot change a version.
      ops.push({ type: 'put', sublevel: this.level.weights, key: blobChunkKey(blob, index), value: new Uint8Array(bytes.subarray(offset, offset + CHUNK_BYTES)) });
    }
    return { blob: { blob, chunks: ops.length, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length }, ops };
  }

  /**
   * Streams `source` into a new blob, hashing as it goes, ahead of the unit that will
   * reference it (which must include {@link commitOps}). On failure nothing is left.
   */
  async upload(source: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    const blob = newBlobId();
    await this.queue.submit([{ type: 'put', sublevel: this.level.uploads, key: blob, value: String(Date.now()) }], this.queue.epoch);
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
      pending.push({ type: 'put', sublevel: this.level.weights, key: blobChunkKey(blob, index++), value: chunk });
      pendingBytes += chunk.length;
    };
    try {
      for await (const piece of source) {
        hash.update(piece);
        sizeBytes += piece.length;
        // Re-chunk to exactly CHUNK_BYTES whatever sizes the source yields.
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
    } catch (error) {
      await this.discard(blob).catch(() => undefined);
      throw error;
    }
    return { blob, chunks: index, sha256: hash.digest('hex'), sizeBytes };
  }

  /** The writes that make an uploaded blob permanent; part of the referencing unit. */
  commitOps(blob: string): WriteOp[] {
    return [{ type: 'del', sublevel: this.level.uploads, key: blob }];
  }

  /** Deletes an uploaded blob nobody references (its version was never registered). */
  async discard(blob: string): Promise<void> {
    const ops: WriteOp[] = [];
    for await (const key of this.level.weights.keys(blobRange(blob))) ops.push({ type: 'del', sublevel: this.level.weights, key });
    ops.push({ type: 'del', sublevel: this.level.uploads, key: blob });
    await this.queue.submit(ops, this.queue.epoch);
  }

  /** Deletes every upload a crash left unreferenced; returns how many. Run at open. */
  async recover(): Promise<number> {
    const orphans: string[] = [];
    for await (const blob of this.level.uploads.keys()) orphans.push(blob);
    for (const blob of orphans) await this.discard(blob);
    return orphans.length;
  }

  /** The chunks of a blob, in order. */
  chunks(blob: string): AsyncIterable<Uint8Array> {
    return this.level.weights.values(blobRange(blob));
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

function newBlobId(): string {
  return randomBytes(16).toString('hex');
}
