import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { CHUNK_BYTES } from '../../src/store/blobs.js';
import { blobChunkKey, modelKey, versionKey } from '../../src/store/keys.js';
import { memoryRegistry, registryOver } from '../helpers/store.js';

async function* pieces(data: Buffer, size: number, failAfter = Infinity): AsyncGenerator<Uint8Array> {
  for (let offset = 0, n = 0; offset < data.length; offset += size, n++) {
    if (n >= failAfter) throw new Error('disk read failed');
    yield data.subarray(offset, offset + size);
  }
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('streamed weights (blobs)', () => {
  it('re-chunks a stream of odd-sized pieces into 1 MiB chunks under its SHA-256 and registers it byte for byte', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(3 * CHUNK_BYTES + 12345);
    const blob = await registry.uploadWeights(pieces(data, 700 * 1024));
    expect(blob).toMatchObject({ blob: sha(data), sha256: sha(data), chunks: 4, sizeBytes: data.length });
    const sizes = (await level.weights.values().all()).map((chunk) => chunk.length);
    expect(sizes).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 12345]); // the staging copy is gone
    // Until a version references it, the blob is marked as an upload in progress.
    expect(await level.uploads.keys().all()).toEqual([`${blob.blob}:${blob.upload}`]);
    await registry.registerVersion('m', {}, { weights: blob });
    expect(await level.uploads.keys().all()).toEqual([]);
    expect(await level.weightRefs.keys().all()).toEqual([`${blob.blob}:${versionKey(modelKey('m'), 1)}`]);
    expect(Buffer.from(await registry.readWeights('m', 1)).equals(data)).toBe(true);
  });

  it('leaves nothing behind when the source fails mid-stream', async () => {
    const { level, registry } = await memoryRegistry();
    await expect(registry.uploadWeights(pieces(randomBytes(6 * CHUNK_BYTES), CHUNK_BYTES, 5))).rejects.toThrow('disk read failed');
    expect(await level.weights.keys().all()).toEqual([]);
    expect(await level.uploads.keys().all()).toEqual([]);
  });
});

describe('weights stored once per content', () => {
  it('versions with identical bytes share one blob, written once, with one reference each', async () => {
    const { level, queue, registry } = await memoryRegistry();
    const data = randomBytes(CHUNK_BYTES + 10);
    await registry.registerVersion('a', { weights: data });
    const submit = vi.spyOn(queue, 'submit');
    await registry.registerVersion('b', { weights: Buffer.from(data) });
    // The second version writes its record, head, reference and events, but no chunk.
    expect(submit.mock.calls.flatMap(([ops]) => ops).filter((op) => op.sublevel === level.weights)).toEqual([]);
    submit.mockRestore();
    const uploaded = await registry.uploadWeights(pieces(data, 4096));
    await registry.registerVersion('a', {}, { weights: uploaded });
    expect(await level.weights.keys().all()).toEqual([blobChunkKey(sha(data), 0), blobChunkKey(sha(data), 1)]);
    expect(await level.weightRefs.keys().all()).toEqual(
      [versionKey(modelKey('a'), 1), versionKey(modelKey('a'), 2), versionKey(modelKey('b'), 1)].map((vKey) => `${sha(data)}:${vKey}`),
    );
    for (const [model, version] of [['a', 1], ['a', 2], ['b', 1]] as const) {
      expect(Buffer.from(await registry.readWeights(model, version)).equals(data)).toBe(true);
    }
  });

  it('a failed third upload of shared bytes is cleaned up without harming the two versions that share them', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(2 * CHUNK_BYTES + 1);
    await registry.registerVersion('a', { weights: data });
    await registry.registerVersion('b', { weights: data });
    await registry.registerVersion('gone', { artifact: 's3://x' });
    await registry.retire('gone');
    const uploaded = await registry.uploadWeights(pieces(data, CHUNK_BYTES));
    // Registering on a retired model fails after the upload: the registration discards its upload.
    await expect(registry.registerVersion('gone', {}, { weights: uploaded })).rejects.toMatchObject({ code: 'MODEL_RETIRED' });
    expect(await level.uploads.keys().all()).toEqual([]);
    expect((await level.weights.keys().all()).length).toBe(3);
    expect(Buffer.from(await registry.readWeights('a', 1)).equals(data)).toBe(true);
    expect(Buffer.from(await registry.readWeights('b', 1)).equals(data)).toBe(true);
  });

  it('recovery after a crash deletes an unreferenced upload but never a referenced blob it names', async () => {
    const { level, registry } = await memoryRegistry();
    const shared = randomBytes(100);
    const lonely = randomBytes(200);
    await registry.registerVersion('a', { weights: shared });
    await registry.registerVersion('b', { weights: shared });
    // Two uploads whose versions never came (the process died): one of the shared bytes, one of new bytes.
    const third = await registry.uploadWeights(pieces(shared, 50));
    const fourth = await registry.uploadWeights(pieces(lonely, 50));
    expect((await level.uploads.keys().all()).sort()).toEqual([`${third.blob}:${third.upload}`, `${fourth.blob}:${fourth.upload}`].sort());
    const { registry: reopened } = registryOver(level);
    expect(await reopened.recoverUploads()).toBe(2);
    expect(await level.uploads.keys().all()).toEqual([]);
    expect(await level.weights.keys().all()).toEqual([blobChunkKey(sha(shared), 0)]);
    expect(Buffer.from(await reopened.readWeights('a', 1)).equals(shared)).toBe(true);
    expect(Buffer.from(await reopened.readWeights('b', 1)).equals(shared)).toBe(true);
  });

  it('a discarded upload keeps the bytes while another upload of them is still waiting for its version', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(300);
    const first = await registry.uploadWeights(pieces(data, 100));
    const second = await registry.uploadWeights(pieces(data, 100));
    await registry.registerVersion('gone', { artifact: 's3://x' });
    await registry.retire('gone');
    await expect(registry.registerVersion('gone', {}, { weights: first })).rejects.toMatchObject({ code: 'MODEL_RETIRED' });
    await registry.registerVersion('m', {}, { weights: second });
    expect(Buffer.from(await registry.readWeights('m', 1)).equals(data)).toBe(true);
    expect(await level.uploads.keys().all()).toEqual([]);
  });

  it('a shared blob is still verified on every read: damaged bytes are CORRUPTION naming namespace and blob for each version', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(64);
    await registry.registerVersion('a', { weights: data });
    await registry.registerVersion('b', { weights: data });
    await level.weights.put(blobChunkKey(sha(data), 0), randomBytes(64));
    const { registry: reopened } = registryOver(level);
    for (const model of ['a', 'b']) {
      await expect(reopened.readWeights(model, 1)).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'weights', key: sha(data), model });
    }
  });
});

describe('a blob a crash left half-written', () => {
  it('is rewritten whole by the next version with those bytes, and recovery then keeps it', async () => {
    const { level } = await memoryRegistry();
    const data = randomBytes(2 * CHUNK_BYTES + 7);
    // What a crash in the middle of moving an upload to its content id leaves: a marker and the first chunk, no "stored whole" entry.
    await level.uploads.put(`${sha(data)}:${'a'.repeat(32)}`, '1');
    await level.weights.put(blobChunkKey(sha(data), 0), new Uint8Array(data.subarray(0, CHUNK_BYTES)));
    const { registry: reopened } = registryOver(level);
    await reopened.registerVersion('m', { weights: data });
    expect(await level.blobs.get(sha(data))).toBe('3');
    expect(await reopened.recoverUploads()).toBe(1);
    expect(await level.uploads.keys().all()).toEqual([]);
    expect(Buffer.from(await reopened.readWeights('m', 1)).equals(data)).toBe(true);
  });
});

describe('weights stored once per tenant', () => {
  it('identical bytes are one blob within a tenant (or the global session), a blob per tenant across them; copies of a global version share its blob', async () => {
    const { level, registry } = await memoryRegistry();
    const data = randomBytes(2048);
    const acme = registry.withTenant('acme');
    const other = registry.withTenant('other');
    await registry.registerVersion('g', { weights: data });
    await registry.registerVersion('g2', { weights: data });
    await acme.registerVersion('a', { weights: data });
    await acme.registerVersion('a2', { weights: data });
    await other.registerVersion('o', { weights: data });
    const blobs = new Set((await level.weights.keys().all()).map((key) => key.slice(0, key.indexOf(':'))));
    expect(blobs.size).toBe(3); // global, acme, other: no tenant learns what another stored
    expect(blobs.has(sha(data))).toBe(true);
    const ids = await Promise.all([acme.getVersion('a', 1), acme.getVersion('a2', 1), other.getVersion('o', 1)].map(async (v) => (await v).sha256));
    expect(new Set(ids)).toEqual(new Set([sha(data)])); // the SHA-256 users see is the content's
    await acme.copyVersion('from_global', { model: 'g', version: 1 });
    expect((await level.weights.keys().all()).length).toBe(3);
    for (const [model, reader] of [['a', acme], ['o', other], ['from_global', acme], ['g2', registry]] as const) {
      expect(Buffer.from(await reader.readWeights(model, 1)).equals(data)).toBe(true);
    }
    const problems = [];
    for await (const found of registry.checkIntegrity()) problems.push(found);
    expect(problems).toEqual([]);
  });
});
