/**
 * Weights to and from files, streamed: a file is hashed and stored while it is read,
 * and exported while it is verified, so a file of hundreds of megabytes is never held
 * in memory whole.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ModelSqlError, fileError } from '../errors.js';
import { weightsMismatch } from '../store/blobs.js';

const CHUNK_BYTES = 1 << 20;

/** Refusal of FILE / export when the session was not opened with `allowFileAccess`. */
export function fileAccessDenied(path: string): ModelSqlError {
  return new ModelSqlError(
    'FILE_ACCESS_DENIED',
    `file access is not allowed in this session (FILE '${path}'); open the registry with { allowFileAccess: true }`,
    { path },
  );
}

/**
 * The contents of a weights file as a stream of 1 MiB chunks (the registry hashes
 * and stores them as they come), reporting progress by bytes read.
 */
export async function* fileChunks(path: string, onProgress?: (percent: number) => void): AsyncGenerator<Uint8Array> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = info.size;
  } catch (error) {
    throw fileError('read weights file', path, error);
  }
  let read = 0;
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (size > 0) onProgress?.(Math.min(100, (read / size) * 100));
      yield chunk;
    }
  } catch (error) {
    throw fileError('read weights file', path, error);
  } finally {
    stream.destroy();
  }
  onProgress?.(100);
}

/**
 * Writes weights to `path`, verifying size and SHA-256 before the file appears under
 * its name: they are streamed into a temporary file beside it (same folder, so the
 * rename cannot cross devices) which is renamed into place only once both check out.
 * On any failure the temporary file is removed and nothing appears at `path`. A bad
 * target is INVALID_ARGUMENT, a failing disk IO_ERROR, a hash mismatch CORRUPTION
 * naming namespace `weights` and the blob id (as `readWeights` does); an error reading
 * the weights from the store is rethrown as it is.
 */
export async function writeWeightsFile(
  chunks: AsyncIterable<Uint8Array>,
  path: string,
  expected: {
    readonly sha256: string;
    readonly sizeBytes: number;
    /** The blob the chunks come from: the key a CORRUPTION names. */
    readonly blob: string;
    readonly model: string;
    readonly version: number;
  },
  onProgress?: (percent: number) => void,
): Promise<{ sha256: string; sizeBytes: number }> {
  // A directory cannot be replaced by a file: say so before streaming gigabytes for nothing.
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw fileError('write weights to', path, Object.assign(new Error('directory'), { code: 'EISDIR' }));

  const temporary = join(dirname(path), `${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const hash = createHash('sha256');
  let written = 0;
  let sourceFailed = false;
  async function* verified(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of chunks) {
        hash.update(chunk);
        written += chunk.length;
        yield chunk;
        if (expected.sizeBytes > 0) onProgress?.(Math.min(100, (written / expected.sizeBytes) * 100));
      }
    } catch (error) {
      sourceFailed = true;
      throw error;
    }
  }
  try {
    await pipeline(verified, createWriteStream(temporary, { flags: 'wx' }));
    const sha256 = hash.digest('hex');
    if (sha256 !== expected.sha256 || written !== expected.sizeBytes) {
      throw weightsMismatch(expected.model, expected.version, expected.blob, path);
    }
    await rename(temporary, path);
    onProgress?.(100);
    return { sha256, sizeBytes: written };
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    // The store's own failures (and an app's progress callback) are not file errors.
    if (error instanceof ModelSqlError || sourceFailed) throw error;
    throw fileError('write weights to', path, error);
  }
}
