/**
 * Weights to and from files, streamed: a file is hashed and stored while it is read,
 * and exported while it is verified, so a file of hundreds of megabytes is never held
 * in memory whole.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { ModelSqlError, invalidArgument } from '../errors.js';

const CHUNK_BYTES = 1 << 20;

/** Refusal of FILE / export when the session was not opened with `allowFileAccess`. */
export function fileAccessDenied(path: string): ModelSqlError {
  return new ModelSqlError(
    'FILE_ACCESS_DENIED',
    `file access is not allowed in this session (FILE '${path}'); open the registry with { allowFileAccess: true }`,
    { path },
  );
}

function fileError(action: string, path: string, error: unknown): ModelSqlError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  return invalidArgument(`cannot ${action} '${path}': ${reason}`, { path });
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
 * its name (it is written beside it and renamed), so a reader never sees a bad file.
 */
export async function writeWeightsFile(
  chunks: AsyncIterable<Uint8Array>,
  path: string,
  expected: { readonly sha256: string; readonly sizeBytes: number; readonly describe: string },
  onProgress?: (percent: number) => void,
): Promise<{ sha256: string; sizeBytes: number }> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.partial`;
  const hash = createHash('sha256');
  let written = 0;
  try {
    const out = createWriteStream(temporary, { flags: 'wx' });
    try {
      for await (const chunk of chunks) {
        hash.update(chunk);
        written += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
        if (expected.sizeBytes > 0) onProgress?.(Math.min(100, (written / expected.sizeBytes) * 100));
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    if (error instanceof ModelSqlError) throw error;
    throw fileError('write weights to', path, error);
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== expected.sha256 || written !== expected.sizeBytes) {
    await unlink(temporary).catch(() => undefined);
    throw new ModelSqlError('CORRUPTION', `weights of ${expected.describe} do not match their stored SHA-256; nothing was written to '${path}'`, { path });
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw fileError('write weights to', path, error);
  }
  onProgress?.(100);
  return { sha256, sizeBytes: written };
}
