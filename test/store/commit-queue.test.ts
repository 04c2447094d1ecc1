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

describe('read views', () => {
  it('a view sees exactly the batches committed before it was taken, even after later commits', async () => {
    const { level, queue } = await memoryRegistry();
    await queue.submit([{ type: 'put', sublevel: level.models, key: 'a', value: '1' }], queue.epoch);
    const before = queue.view();
    const pending = queue.submit([{ type: 'put', sublevel: level.models, key: 'a', value: '2' }, { type: 'put', sublevel: level.jobs, key: 'j', value: 'x' }], queue.epoch);
    // Queued, not committed: no view sees it; a writer reading the latest does.
    expect(queue.view().get(level.models, 'a')).toBe('1');
    expect(queue.readLatest(level.models, 'a')).toBe('2');
    await pending;
    const after = queue.view();
    expect([before.get(level.models, 'a'), before.get(level.jobs, 'j')]).toEqual(['1', undefined]);
    expect([after.get(level.models, 'a'), after.get(level.jobs, 'j')]).toEqual(['2', 'x']);
    // Scans read the view's snapshot too.
    const keys = async (view: typeof before): Promise<string[]> => {
      const out: string[] = [];
      for await (const key of level.jobs.keys({ snapshot: view.snapshot })) out.push(key);
      return out;
    };
    expect(await keys(before)).toEqual([]);
    expect(await keys(after)).toEqual(['j']);
    before.release();
    after.release();
    before.release(); // idempotent
  });

  it('a superseded snapshot stays readable while a view holds it', async () => {
    const { level, queue } = await memoryRegistry();
    const held = queue.view();
    for (let i = 0; i < 5; i++) await queue.submit([{ type: 'put', sublevel: level.models, key: 'k', value: String(i) }], queue.epoch);
    expect(held.get(level.models, 'k')).toBeUndefined();
    expect(queue.view().get(level.models, 'k')).toBe('4');
    held.release();
  });
});
