/**
 * Group commit. Statements hand their writes to the queue as one unit; units that
 * arrive while a LevelDB batch is in flight are combined into the next batch. Each
 * unit is therefore atomic (it lives in exactly one batch), and many concurrent
 * statements cost one write instead of many.
 *
 * Writes not yet durable sit in an overlay that writers (holding a model's lock)
 * read through, so a statement sees the effects of the one queued just before it.
 * Readers see only committed state. If a batch fails, it and every unit queued
 * behind it (which may depend on it) are rejected, and the overlay and cache are
 * dropped so the next read goes back to disk.
 */

import type { BytesSublevel, RootLevel, TextSublevel } from './level.js';

type Sublevel = TextSublevel | BytesSublevel;

/** One write of a statement's unit. */
export type WriteOp =
  | { readonly type: 'put'; readonly sublevel: TextSublevel; readonly key: string; readonly value: string }
  | { readonly type: 'put'; readonly sublevel: BytesSublevel; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly sublevel: Sublevel; readonly key: string };

interface Group {
  readonly ops: WriteOp[];
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

interface PendingValue {
  readonly group: Group;
  /** `undefined` for a pending delete. */
  readonly value: string | Uint8Array | undefined;
}

const CACHE_LIMIT = 50_000;

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be awaiting a group yet when it fails; the rejection is delivered through submit().
  done.catch(() => undefined);
  return { ops: [], done, resolve, reject };
}

/** Batches writes, keeps the unflushed overlay and a cache of committed small records. */
export class CommitQueue {
  private readonly overlay = new Map<Sublevel, Map<string, PendingValue>>();
  private readonly cache = new Map<Sublevel, Map<string, string | undefined>>();
  private current: Group | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private lastFailure: unknown = null;

  /**
   * @param root the database the batches go to
   * @param cached sublevels whose committed records are kept in memory (small, hot records such as model heads)
   * @param sync fsync each batch (survives power loss, not just a process crash)
   */
  constructor(
    private readonly root: RootLevel,
    cached: readonly TextSublevel[],
    private readonly sync: boolean,
  ) {
    for (const sublevel of cached) this.cache.set(sublevel, new Map());
  }

  /**
   * Take this before the first read of a unit and pass it to {@link submit}: a unit
   * computed from reads made before a batch failed may depend on the lost writes.
   */
  get epoch(): number {
    return this.failures;
  }

  /** Queues one atomic unit; resolves when it is durable, rejects if its batch failed. */
  submit(ops: readonly WriteOp[], epoch: number): Promise<void> {
    if (epoch !== this.failures) return Promise.reject(this.lastFailure);
    const group = (this.current ??= newGroup());
    for (const op of ops) {
      group.ops.push(op);
      let pending = this.overlay.get(op.sublevel);
      if (!pending) this.overlay.set(op.sublevel, (pending = new Map()));
      pending.set(op.key, { group, value: op.type === 'put' ? op.value : undefined });
    }
    this.flushing ??= this.flushLoop();
    return group.done;
  }

  /**
   * Latest value including unflushed writes; for writers holding the record's lock.
   * Answers from memory without a promise when it can (this is on every write's path).
   */
  readLatest(sublevel: TextSublevel, key: string): string | undefined | Promise<string | undefined> {
    const pending = this.overlay.get(sublevel)?.get(key);
    if (pending) return pending.value as string | undefined;
    return this.readCommitted(sublevel, key);
  }

  /** Committed value only. */
  readCommitted(sublevel: TextSublevel, key: string): string | undefined | Promise<string | undefined> {
    const cache = this.cache.get(sublevel);
    if (cache?.has(key)) return cache.get(key);
    return sublevel.get(key).then((value) => {
      // A write may have committed while we were reading; never let the older read win.
      if (cache && !this.overlay.get(sublevel)?.has(key) && !cache.has(key)) this.remember(cache, key, value);
      return value;
    });
  }

  /** Resolves once everything queued so far is durable (or failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private remember(cache: Map<string, string | undefined>, key: string, value: string | undefined): void {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }

  private async flushLoop(): Promise<void> {
    // One macrotask turn lets every statement already queued on a lock (a chain of
    // microtasks) join this batch; it costs microseconds on a lone statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.current) {
      const group = this.current;
      this.current = null;
      try {
        // `sync` is a classic-level option; memory-level ignores it.
        await this.root.batch(group.ops.map(toRootOp) as never, { sync: this.sync } as object);
      } catch (error) {
        const followers = this.current as Group | null;
        this.current = null;
        this.failures++;
        this.lastFailure = error;
        this.overlay.clear();
        for (const cache of this.cache.values()) cache.clear();
        group.reject(error);
        followers?.reject(error);
        break;
      }
      this.settle(group);
      group.resolve();
    }
    this.flushing = null;
  }

  /** Moves a durable group's writes from the overlay into the cache. */
  private settle(group: Group): void {
    for (const op of group.ops) {
      const pending = this.overlay.get(op.sublevel);
      const entry = pending?.get(op.key);
      if (entry?.group === group) pending!.delete(op.key);
      const cache = this.cache.get(op.sublevel);
      if (cache) this.remember(cache, op.key, op.type === 'put' ? (op.value as string) : undefined);
    }
  }
}

/**
 * The same write addressed to the root with the sublevel prefix already applied.
 * abstract-level encodes `sublevel` batch operations one by one, which cost more
 * than the LevelDB write itself; our keys are utf8 text, so prefixing is a concat.
 */
function toRootOp(op: WriteOp): object {
  const key = op.sublevel.prefixKey(op.key, 'utf8');
  if (op.type === 'del') return { type: 'del', key };
  return { type: 'put', key, value: op.value, valueEncoding: typeof op.value === 'string' ? 'utf8' : 'view' };
}
