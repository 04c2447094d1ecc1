import { describe, expect, it, vi } from 'vitest';
import { memoryRegistry } from '../helpers/store.js';

const weights = new Uint8Array([1, 2, 3]);

describe('group commit', () => {
  it('combines statements issued together into fewer batches, each still atomic', async () => {
    const { level, registry } = await memoryRegistry();
    const batch = vi.spyOn(level.root, 'batch');
    const results = await Promise.all(Array.from({ length: 50 }, () => registry.registerVersion('m', { weights })));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(batch.mock.calls.length).toBeLessThan(50);
    expect((await registry.summary('m')).latestVersion).toBe(50);
  });

  it('rejects a failed batch and everything queued behind it, and forgets their effects', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights });
    const batch = vi.spyOn(level.root, 'batch').mockRejectedValueOnce(new Error('disk full'));
    const outcomes = await Promise.allSettled([registry.registerVersion('m', { weights }), registry.registerVersion('m', { weights })]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    batch.mockRestore();
    // Nothing of the failed statements is visible, and the next version is 2 again: no skip.
    expect((await registry.summary('m')).latestVersion).toBe(1);
    expect((await registry.registerVersion('m', { weights })).version).toBe(2);
  });

  it('refuses a unit computed from reads made before a batch failed', async () => {
    const { level, queue } = await memoryRegistry();
    vi.spyOn(level.root, 'batch').mockRejectedValueOnce(new Error('io error'));
    const before = queue.epoch;
    await expect(queue.submit([{ type: 'put', sublevel: level.models, key: 'a', value: '1' }], before)).rejects.toThrow('io error');
    // A writer that read state at `before` may depend on the lost write.
    await expect(queue.submit([{ type: 'put', sublevel: level.models, key: 'b', value: '2' }], before)).rejects.toThrow('io error');
    await queue.submit([{ type: 'put', sublevel: level.models, key: 'c', value: '3' }], queue.epoch);
    expect([await level.models.get('a'), await level.models.get('b'), await level.models.get('c')]).toEqual([undefined, undefined, '3']);
  });
});
