import { describe, expect, it, vi } from 'vitest';
import { openLevel, setRootFactoryForTests } from '../../src/store/level.js';
import { FaultInjector, faultyRootFactory } from '../harness/faulty-level.js';
import { memoryRegistry, registryOver } from '../helpers/store.js';

const weights = new Uint8Array([1, 2, 3]);

describe('group commit', () => {
  it('combines statements issued together into fewer batches, each still atomic', async () => {
    const { level, registry } = await memoryRegistry();
    const batch = vi.spyOn(level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> }, '_batch');
    const results = await Promise.all(Array.from({ length: 50 }, () => registry.registerVersion('m', { weights })));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(batch.mock.calls.length).toBeLessThan(50);
    expect((await registry.summary('m')).latestVersion).toBe(50);
  });

  it('rejects a failed batch and everything queued behind it, and forgets their effects', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights });
    const batch = vi.spyOn(level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> }, '_batch').mockRejectedValueOnce(new Error('disk full'));
    const outcomes = await Promise.allSettled([registry.registerVersion('m', { weights }), registry.registerVersion('m', { weights })]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    batch.mockRestore();
    // Nothing of the failed statements is visible, and the next version is 2 again: no skip.
    expect((await registry.summary('m')).latestVersion).toBe(1);
    expect((await registry.registerVersion('m', { weights })).version).toBe(2);
  });

  it('refuses a unit computed from reads made before a batch failed', async () => {
    const { level, queue } = await memoryRegistry();
    vi.spyOn(level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> }, '_batch').mockRejectedValueOnce(new Error('io error'));
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

describe('a snapshot LevelDB refuses', () => {
  it('makes reads fail with its error until the queue retakes it, and never serves a wrong state', async () => {
    const injector = new FaultInjector(null);
    setRootFactoryForTests(faultyRootFactory(injector));
    try {
      const { level, queue } = registryOver(await openLevel({ memory: true }));
      const put = (value: string) => queue.submit([{ type: 'put', sublevel: level.models, key: 'k', value }], queue.epoch);
      await put('1');
      const held = queue.view(); // taken before the fault: keeps reading its own state
      injector.arm({ kind: 'snapshot', nth: 1, mode: 'before' });
      await put('2'); // committed; the snapshot publishing it is refused
      expect(injector.fired).toHaveLength(1);
      // While a batch is in flight the queue cannot retake it (a snapshot now could hold
      // a half-known batch): every read fails with LevelDB's error instead of serving
      // the state before '2'.
      const third = put('3');
      const failing = queue.view();
      expect(() => failing.get(level.models, 'k')).toThrow(injector.fired[0]);
      expect(() => failing.snapshot).toThrow(injector.fired[0]);
      expect(() => queue.readLatest(level.models, 'other')).toThrow(injector.fired[0]);
      expect(queue.readLatest(level.models, 'k')).toBe('3'); // a writer still sees its queued write
      failing.release();
      expect(held.get(level.models, 'k')).toBe('1');
      held.release();
      // The next publication heals it: the batch that commits next publishes afresh.
      await third;
      expect(queue.view().get(level.models, 'k')).toBe('3');
      // And with no batch in flight the first read retakes a refused snapshot itself.
      injector.arm({ kind: 'snapshot', nth: 1, mode: 'before' });
      await put('4');
      expect(injector.fired).toHaveLength(2);
      const healed = queue.view();
      expect(healed.get(level.models, 'k')).toBe('4');
      expect(await level.models.keys({ snapshot: healed.snapshot }).all()).toEqual(['k']);
      healed.release();
      // So does a writer reading the latest (the job worker reads nothing else).
      injector.arm({ kind: 'snapshot', nth: 1, mode: 'before' });
      await put('5');
      expect(injector.fired).toHaveLength(3);
      expect(queue.readLatest(level.models, 'k')).toBe('5');
      expect(queue.view().get(level.models, 'k')).toBe('5');
      await level.root.close();
    } finally {
      setRootFactoryForTests(null);
    }
  });
});
