import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RootLevel } from '../../src/store/level.js';
import { faultLoop, referenceRun, WORKLOAD, type FaultRunResult, type StateDump } from './fault.js';
import { FAULT_KINDS, FaultInjector, InjectedFault, faultyRootFactory, type FaultKind, type FaultMode } from './faulty-level.js';

const memory = async () => ({ memory: true as const });

describe('fault injection: the injector reaches every kind of store step', () => {
  it('fails the planned get, batch, put, iterator step and snapshot, passing options through', async () => {
    const fired: string[] = [];
    for (const [kind, run] of [
      ['read', (root) => root.get('a')],
      ['write', (root) => root.batch([{ type: 'put', key: 'b', value: '2' }])],
      ['write', (root) => root.put('b', '2')],
      ['iterator', (root) => root.iterator().all()],
      ['iterator', async (root) => { for await (const key of root.sublevel('s').keys()) void key; }],
      ['iterator', (root) => root.values().next()],
      ['snapshot', async (root) => root.snapshot()],
    ] as const satisfies readonly (readonly [FaultKind, (root: RootLevel) => Promise<unknown>])[]) {
      const injector = new FaultInjector({ kind, nth: 1, mode: 'before' });
      const root = faultyRootFactory(injector)({ memory: true });
      await root.open();
      await injector.unobserved(() => root.sublevel('s').put('k', 'v'));
      const error = await (async () => run(root))().then(() => null, (e: unknown) => e);
      expect(error, kind).toBeInstanceOf(InjectedFault);
      expect((error as InjectedFault).code).toBe('LEVEL_IO_ERROR');
      fired.push(kind);
      await root.close();
    }
    expect(fired).toEqual(['read', 'write', 'write', 'iterator', 'iterator', 'iterator', 'snapshot']);
  });

  it('reads through an explicit snapshot see the snapshot, and a write applied in `after` mode is kept', async () => {
    const injector = new FaultInjector(null);
    const root = faultyRootFactory(injector)({ memory: true });
    await root.open();
    await root.put('k', 'old');
    const snapshot = root.snapshot();
    await root.put('k', 'new');
    expect(await root.get('k', { snapshot })).toBe('old');
    expect(await root.iterator({ snapshot }).all()).toEqual([['k', 'old']]);
    await snapshot.close();
    injector.plan = { kind: 'write', nth: injector.counts.write + 1, mode: 'after' };
    await expect(root.put('k', 'applied')).rejects.toBeInstanceOf(InjectedFault);
    expect(await root.get('k')).toBe('applied');
    await root.close();
  });
});

describe('fault injection: the Nth store step of a workload fails (SQLite I/O-error loop)', () => {
  let reference: { dumps: StateDump[]; counts: Record<FaultKind, number> };

  const loop = async (kind: FaultKind, mode: FaultMode, location = memory, maxN?: number) => {
    reference ??= await referenceRun({ memory: true });
    const results = await faultLoop(location, kind, mode, reference.dumps, { maxN });
    return results;
  };

  const fired = (results: readonly FaultRunResult[]) => results.filter((r) => r.fired);

  it('the workload exercises reads, writes and iterators', async () => {
    reference ??= await referenceRun({ memory: true });
    expect(reference.dumps).toHaveLength(WORKLOAD.length + 1);
    expect(reference.counts.read).toBeGreaterThan(5);
    expect(reference.counts.write).toBeGreaterThan(WORKLOAD.length / 2);
    expect(reference.counts.iterator).toBeGreaterThan(10);
  });

  for (const kind of FAULT_KINDS) {
    it(`every ${kind} fault leaves the old or the new state, typed, and reopens`, async () => {
      const results = await loop(kind, 'before');
      // The loop ran until N passed the workload's last step of this kind.
      expect(results.at(-1)!.fired).toBe(false);
      // Every N up to the reference's count fired and was checked (the counts do not
      // depend on timing: see fault.ts).
      expect(fired(results)).toHaveLength(reference.counts[kind]);
      expect(fired(results).length).toBeGreaterThan(0);
    });
  }

  it('a write applied but reported failed (lost acknowledgement) leaves the new state', async () => {
    const results = await loop('write', 'after');
    expect(fired(results)).toHaveLength(reference.counts.write);
    expect(fired(results).some((r) => r.side === 'new')).toBe(true);
  });

  describe('on disk (classic-level)', () => {
    const dirs: string[] = [];
    const freshFolder = async () => {
      const dir = await mkdtemp(join(tmpdir(), 'modelsql-fault-'));
      dirs.push(dir);
      return { path: dir };
    };
    afterAll(async () => {
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 })));
    });

    for (const mode of ['before', 'after'] as const) {
      it(`every write fault (${mode}) leaves the old or the new state and the folder reopens`, async () => {
        const diskReference = await referenceRun(await freshFolder());
        const results = await faultLoop(freshFolder, 'write', mode, diskReference.dumps);
        expect(fired(results)).toHaveLength(diskReference.counts.write);
      });
    }
  });
});
