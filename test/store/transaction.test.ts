/**
 * Transactions at the store level, where a test can arrange what SQL cannot: a cleanup
 * deleting stored bytes between a statement of a transaction and its COMMIT.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/store/blobs.js';
import { memoryRegistry } from '../helpers/store.js';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe('weights inside a transaction', () => {
  it('a version registered with in-memory bytes found stored reads back inside the transaction even after a cleanup deleted them, and after COMMIT', async () => {
    const { registry } = await memoryRegistry();
    const bytes = new Uint8Array(3000).map((_, i) => i % 251);
    // Stored whole but referenced by no version: an upload whose registration never came.
    const upload = await registry.uploadWeights(once(bytes));
    expect(upload.sha256).toBe(sha256Hex(bytes));
    const tx = registry.beginTransaction();
    const inTx = registry.inTransaction(null, tx);
    await inTx.registerVersion('m', { weights: bytes }); // found stored: adds no chunks of its own
    // The cleanup at open ends the unreferenced upload and deletes its bytes.
    expect(await registry.recoverUploads()).toBe(1);
    expect(Buffer.from(await inTx.readWeights('m', 1))).toEqual(Buffer.from(bytes));
    await tx.commit();
    expect(Buffer.from(await registry.readWeights('m', 1))).toEqual(Buffer.from(bytes));
  });
});
