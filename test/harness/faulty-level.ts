/**
 * A root database whose Nth read, write, iterator step or snapshot fails, like a disk
 * that returns EIO (SQLite's I/O-error test loop, for LevelDB).
 *
 * It subclasses the real backend (memory-level, or classic-level on disk) and overrides
 * the private methods abstract-level calls on the root. Sublevels forward `get`,
 * `getMany`, `put`, `del`, `batch` to their parent's public methods and open their
 * iterators and snapshots on the root, so every call of every namespace passes through
 * here. Options (a `snapshot`, `sync`, ranges) are passed on untouched.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { LevelLocation, RootLevel } from '../../src/store/level.js';

/** What a step of the store is. */
export type FaultKind = 'read' | 'write' | 'iterator' | 'snapshot';
export const FAULT_KINDS: readonly FaultKind[] = ['read', 'write', 'iterator', 'snapshot'];

/**
 * `before`: the step fails and does nothing (the usual I/O error). `after`: a write is
 * applied and then reported as failed (the data reached the log, the acknowledgement
 * did not); for other kinds it is the same as `before`.
 */
export type FaultMode = 'before' | 'after';

/** One transient fault: the `nth` step (1-based) of `kind` fails, every other succeeds. */
export interface FaultPlan {
  readonly kind: FaultKind;
  readonly nth: number;
  readonly mode: FaultMode;
}

/** The error the fault throws: shaped like classic-level's, which maps leveldb::Status::IOError to this code. */
export class InjectedFault extends Error {
  readonly code = 'LEVEL_IO_ERROR';
  constructor(readonly kind: FaultKind, readonly step: string, readonly nth: number) {
    super(`injected I/O error: ${kind} #${nth} (${step})`);
  }
}

/** Counts steps per kind and fires the planned fault. Shared by every root it is given to. */
export class FaultInjector {
  readonly counts: Record<FaultKind, number> = { read: 0, write: 0, iterator: 0, snapshot: 0 };
  /** Faults that fired, in order. */
  readonly fired: InjectedFault[] = [];
  /**
   * Marks the async context of {@link unobserved} work: only its own steps go uncounted,
   * so background work of the store running meanwhile is still counted (and failed).
   */
  private readonly unobservedContext = new AsyncLocalStorage<true>();

  constructor(public plan: FaultPlan | null = null) {}

  /** Plans a fault counted from now: the `nth` step of its kind from here on fails. */
  arm(plan: FaultPlan): void {
    for (const kind of Object.keys(this.counts) as FaultKind[]) this.counts[kind] = 0;
    this.plan = plan;
  }

  /** Counts one step; returns the fault to throw (before or after doing it), if this is the planned one. */
  step(kind: FaultKind, step: string): { fault: InjectedFault; mode: FaultMode } | null {
    if (this.unobservedContext.getStore()) return null;
    const n = ++this.counts[kind];
    const plan = this.plan;
    if (plan === null || plan.kind !== kind || plan.nth !== n) return null;
    const fault = new InjectedFault(kind, step, n);
    this.fired.push(fault);
    return { fault, mode: kind === 'write' ? plan.mode : 'before' };
  }

  /**
   * Runs `work` with counting and faults off for the steps it makes itself (its async
   * context), not for steps of other work that happen to run meanwhile.
   */
  unobserved<T>(work: () => Promise<T>): Promise<T> {
    return this.unobservedContext.run(true, work);
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- abstract-level's private methods are untyped */
type AnyFn = (...args: any[]) => any;
type Ctor = new (...args: any[]) => any;

/** Iterator methods abstract-level's public next/nextv/all call. */
const ITERATOR_STEPS = ['_next', '_nextv', '_all'] as const;

function faultyClass<B extends Ctor>(Base: B, injector: FaultInjector): B {
  const guard = async (kind: FaultKind, step: string, run: () => Promise<unknown>): Promise<any> => {
    const hit = injector.step(kind, step);
    if (hit?.mode === 'before') throw hit.fault;
    const result = await run();
    if (hit) throw hit.fault;
    return result;
  };
  const wrapIterator = (iterator: any, step: string): any => {
    for (const name of ITERATOR_STEPS) {
      const original = iterator[name] as AnyFn;
      iterator[name] = (...args: unknown[]) => guard('iterator', `${step}.${name}`, () => original.apply(iterator, args));
    }
    return iterator;
  };
  const Faulty = class extends Base {
    async _get(...args: unknown[]) { return guard('read', 'get', () => super._get(...args)); }
    async _getMany(...args: unknown[]) { return guard('read', 'getMany', () => super._getMany(...args)); }
    async _has(...args: unknown[]) { return guard('read', 'has', () => super._has(...args)); }
    async _hasMany(...args: unknown[]) { return guard('read', 'hasMany', () => super._hasMany(...args)); }
    _getSync(...args: unknown[]) {
      const hit = injector.step('read', 'getSync');
      if (hit) throw hit.fault;
      return super._getSync(...args);
    }
    async _put(...args: unknown[]) { return guard('write', 'put', () => super._put(...args)); }
    async _del(...args: unknown[]) { return guard('write', 'del', () => super._del(...args)); }
    async _batch(...args: unknown[]) { return guard('write', 'batch', () => super._batch(...args)); }
    _iterator(...args: unknown[]) { return wrapIterator(super._iterator(...args), 'iterator'); }
    _keys(...args: unknown[]) { return wrapIterator(super._keys(...args), 'keys'); }
    _values(...args: unknown[]) { return wrapIterator(super._values(...args), 'values'); }
    _snapshot(...args: unknown[]) {
      const hit = injector.step('snapshot', 'snapshot');
      if (hit) throw hit.fault;
      return super._snapshot(...args);
    }
  };
  // classic-level has no _keys/_values of its own: abstract-level's defaults open an
  // iterator through _iterator (already counted), so wrapping them too would count twice.
  for (const name of ['_keys', '_values'] as const) {
    if (!Object.prototype.hasOwnProperty.call(Base.prototype, name)) delete (Faulty.prototype as any)[name];
  }
  return Faulty;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * A root factory for `setRootFactoryForTests`: memory-level or classic-level, with
 * `injector` on every step. In memory, every open of the factory returns the same root
 * (closed and reopened), so "close and open again" keeps the data, as a folder would.
 */
export function faultyRootFactory(injector: FaultInjector): (location: LevelLocation) => RootLevel {
  const FaultyMemory = faultyClass(MemoryLevel, injector);
  const FaultyClassic = faultyClass(ClassicLevel, injector);
  let memory: RootLevel | null = null;
  return (location) => {
    const options = { keyEncoding: 'utf8', valueEncoding: 'utf8' };
    if ('path' in location) return new FaultyClassic(location.path, options) as RootLevel;
    return (memory ??= new FaultyMemory(options) as RootLevel);
  };
}
