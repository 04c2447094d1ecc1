import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../src/store/blobs.js';
import { memoryRegistry } from '../helpers/store.js';

async function* pieces(data: Buffer, size: number, failAfter = Infinity): AsyncGenerator<Uint8Array> {
  for (let offset = 0, n = 0; offset < data.length; offset += size, n++) {
    if (n >= failAfter) throw new Error('disk read failed');
    yield data.subarray(offset, offset + size);
  }
}

describe('streamed weights (blobs)', () => {
  it('re-chunks a stream of odd-sized pieces into 1 MiB chunks and registers it byte for byte', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(3 * CHUNK_BYTES + 12345);
    const blob = await registry.uploadWeights(pieces(data, 700 * 1024));
    expect(blob).toMatchObject({ chunks: 4, sizeBytes: data.length });
    const sizes = (await level.weights.values().all()).map((chunk) => chunk.length);
    expect(sizes).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 12345]);
    // Until a version references it, the blob is marked as an upload in progress.
    expect(await level.uploads.keys().all()).toEqual([blob.blob]);
    await registry.registerVersion('m', {}, { weights: blob });
    expect(await level.uploads.keys().all()).toEqual([]);
    expect(Buffer.from(await registry.readWeights('m', 1)).equals(data)).toBe(true);
  });

  it('leaves nothing behind when the source fails mid-stream', async () => {
    const { level, registry } = await memoryRegistry();
    await expect(registry.uploadWeights(pieces(randomBytes(6 * CHUNK_BYTES), CHUNK_BYTES, 5))).rejects.toThrow('disk read failed');
    expect(await level.weights.keys().all()).toEqual([]);
    expect(await level.uploads.keys().all()).toEqual([]);
  });
});
